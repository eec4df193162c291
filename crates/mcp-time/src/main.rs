//! `mcp-time [--listen ADDR] [--issuer URL [--resource URL]]`: serves the example MCP server
//! at `http://ADDR/mcp`; with `--issuer`, only to callers that auth server vouches for.

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
    /// Take only tokens this auth server (its `iss`) signed for this server.
    #[arg(long)]
    issuer: Option<String>,
    /// Where the auth server publishes its keys (default `ISSUER/.well-known/jwks.json`).
    #[arg(long)]
    jwks_url: Option<String>,
    /// This server's URL as its clients reach it: the audience its tokens must name (default
    /// `http://ADDR/mcp`).
    #[arg(long)]
    resource: Option<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let url = format!("http://{}/mcp", listener.local_addr()?);
    let resource = args.resource.unwrap_or_else(|| url.clone());
    let identity = args.issuer.as_deref().map(|issuer| {
        let jwks = args
            .jwks_url
            .clone()
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        mcp_time::identity::Identity::new(&jwks, issuer, &resource)
    });
    println!("MCP server at {url} (tools: get_current_time, wait, whoami)");
    mcp_time::serve_with(listener, std::time::Duration::from_millis(args.delay_ms), identity).await
}
