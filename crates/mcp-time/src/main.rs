//! `mcp-time [--listen ADDR]`: serves the example MCP server at `http://ADDR/mcp`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "An example MCP server: the current time in a timezone")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: std::net::SocketAddr,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("MCP server at http://{}/mcp (tool: get_current_time)", listener.local_addr()?);
    mcp_time::serve(listener).await
}
