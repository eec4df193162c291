//! `openchat healthcheck`: asks the services of this configuration for `/health` on loopback —
//! the container's `HEALTHCHECK`, with no curl or shell in the image.

use std::time::Duration;

use common::config::Config;

/// The services a healthcheck can ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Checked {
    Auth,
    Chat,
    Web,
}

/// Exits non-zero unless every named service (default: all three) answers 200 within 5 s.
pub async fn run(config: &Config, services: &[Checked]) -> anyhow::Result<()> {
    let all = [Checked::Auth, Checked::Chat, Checked::Web];
    let services = if services.is_empty() { &all[..] } else { services };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let mut failed = Vec::new();
    for service in services {
        let port = match service {
            Checked::Auth => config.auth.port,
            Checked::Chat => config.chat.port,
            Checked::Web => config.web.port,
        };
        let url = format!("http://127.0.0.1:{port}/health");
        match client.get(&url).send().await {
            Ok(response) if response.status().is_success() => println!("{service:?}: healthy"),
            Ok(response) => failed.push(format!("{service:?}: {}", response.status())),
            Err(error) => failed.push(format!("{service:?}: {}", error.without_url())),
        }
    }
    if failed.is_empty() { Ok(()) } else { anyhow::bail!("unhealthy: {}", failed.join("; ")) }
}
