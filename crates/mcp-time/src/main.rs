//! `mcp-time [--listen ADDR]`: serves the example MCP server at `http://ADDR/mcp`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "An example MCP server: the current time in a timezone")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: std::net::SocketAddr,
    /// Wait this many milliseconds before each answer (to try timeouts and stop).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("MCP server at http://{}/mcp (tool: get_current_time)", listener.local_addr()?);
    mcp_time::serve_with_delay(listener, std::time::Duration::from_millis(args.delay_ms)).await
}
