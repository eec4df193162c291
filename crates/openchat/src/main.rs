//! `openchat`: one binary for every Open ChatBot service and its administration.

mod admin;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use common::config::Config;
use tokio::sync::watch;

#[derive(Parser)]
#[command(name = "openchat", version, about = "Open ChatBot: a self-hosted AI chat platform")]
struct Cli {
    /// TOML configuration file; environment variables override it.
    #[arg(long, short, global = true, env = "OPENCHAT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in one process (auth server on 8001).
    Serve,
    /// Run the auth server alone.
    Auth,
    /// Manage users and keys directly in the auth database.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// List the environment variables that configure openchat.
    Env,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    common::telemetry::init(config.log_format);
    if std::env::var_os("AUTH_SECRET_KEY").is_some() {
        tracing::info!(
            "AUTH_SECRET_KEY is set but no longer used: tokens are signed with Ed25519 keys generated on first start"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve | Command::Auth => serve(&config).await,
            Command::Admin(command) => admin::run(&config, command).await,
            Command::Env => {
                for var in common::config::ENV_VARS {
                    println!("{:40} {}", var.name, var.help);
                }
                Ok(())
            }
        }
    })
}

/// Runs the services until Ctrl-C or SIGTERM, then lets each finish its in-flight work.
async fn serve(config: &Config) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let auth = auth::build(config).await?;
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let auth_task = tokio::spawn(auth.run_until_stopped(stopped(stop_rx.clone())));
    common::shutdown::signal().await;
    let _ = stop_tx.send(true);
    auth_task.await??;
    tracing::info!("stopped");
    Ok(())
}
