//! `mcp-time [--listen ADDR] [--issuer URL [--jwks-url URL] | --oauth [--token-life-secs N]]
//! [--resource URL]`: serves the example MCP server at `http://ADDR/mcp`; with `--issuer`,
//! only to callers that auth server vouches for; with `--oauth`, only to users signed in with
//! its own authorization server (at `http://ADDR`).

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
    /// Be an OAuth 2.1 authorization server too (at `http://ADDR`), and take only its tokens:
    /// each user signs in (by typing a name) and allows the client.
    #[arg(long, conflicts_with_all = ["issuer", "jwks_url"])]
    oauth: bool,
    /// With `--oauth`: how long an access token lasts, in seconds.
    #[arg(long, default_value_t = 3600, requires = "oauth")]
    token_life_secs: u64,
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
    let delay = std::time::Duration::from_millis(args.delay_ms);
    println!("MCP server at {url} (tools: get_current_time, wait, whoami)");
    let resource = args.resource.unwrap_or_else(|| url.clone());
    if args.oauth {
        let token_life = std::time::Duration::from_secs(args.token_life_secs);
        let options = mcp_time::oauth::Options { token_life };
        return mcp_time::serve_oauth_for(listener, delay, options, &resource).await;
    }
    let identity = args.issuer.as_deref().map(|issuer| {
        let jwks = args
            .jwks_url
            .clone()
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        mcp_time::identity::Identity::new(&jwks, issuer, &resource)
    });
    mcp_time::serve_with(listener, delay, identity).await
}
