//! `openchat`: one binary for every Open ChatBot service and its administration.

mod admin;
mod healthcheck;
mod model;
mod providers;

use std::path::PathBuf;

use anyhow::Context as _;
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
    /// Run every service in one process (web UI on 3000, auth server on 8001, chat service on 8000).
    Serve {
        /// First install the default local model if it is the configured one and missing.
        #[arg(long)]
        pull_model: bool,
    },
    /// Run the auth server alone.
    Auth,
    /// Run the chat service alone (it trusts the auth server's published keys).
    Chat,
    /// Serve the web UI alone.
    Web,
    /// Manage users and keys directly in the auth database.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage the embedded local model's files (`pull` the default model, `list` what is installed).
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// List the environment variables that configure openchat.
    Env,
    /// Exit 0 when the named services (default: all) answer `/health` on loopback; for
    /// container health checks.
    Healthcheck {
        #[arg(value_enum)]
        services: Vec<healthcheck::Checked>,
    },
}

fn main() -> anyhow::Result<()> {
    return_large_blocks_to_the_os();
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
            Command::Serve { pull_model } => {
                if pull_model {
                    model::pull_default_if_configured(&config).await;
                }
                serve(&config, &[Service::Auth, Service::Chat, Service::Web]).await
            }
            Command::Auth => serve(&config, &[Service::Auth]).await,
            Command::Chat => serve(&config, &[Service::Chat]).await,
            Command::Web => serve(&config, &[Service::Web]).await,
            Command::Admin(command) => admin::run(&config, command).await,
            Command::Model(command) => model::run(&config, command).await,
            Command::Healthcheck { services } => healthcheck::run(&config, &services).await,
            Command::Env => {
                for var in common::config::ENV_VARS {
                    println!("{:40} {}", var.name, var.help);
                }
                Ok(())
            }
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    Auth,
    Chat,
    Web,
}

/// Runs the services until Ctrl-C or SIGTERM, then lets each finish its in-flight work.
/// In one process the services still talk through their public contracts: the chat service
/// fetches the auth server's keys from its JWKS URL.
async fn serve(config: &Config, services: &[Service]) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mut tasks = Vec::new();
    // The data directory holds the databases (password hashes, the token signing key):
    // owner only. Model files inside it keep their own modes.
    common::db::private_dir(&config.data_dir)
        .with_context(|| format!("cannot secure the data directory {}", config.data_dir.display()))?;
    if services.contains(&Service::Auth) {
        let app = auth::build(config).await?;
        tasks.push(tokio::spawn(app.run_until_stopped(stopped(stop_rx.clone()))));
    }
    if services.contains(&Service::Chat) {
        let registry = providers::registry(&config.chat, &config.data_dir).await;
        let app = chat::build(config, registry).await?;
        tasks.push(tokio::spawn(app.run_until_stopped(stopped(stop_rx.clone()))));
    }
    if services.contains(&Service::Web) {
        let app = web::build(config).await?;
        tasks.push(tokio::spawn(app.run_until_stopped(stopped(stop_rx.clone()))));
    }
    common::shutdown::signal().await;
    let _ = stop_tx.send(true);
    for task in tasks {
        task.await??;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Each password hash takes a 19 MiB block (argon2id's memory cost). glibc raises its mmap
/// threshold after freeing such a block, so later ones come from the heap and stay resident
/// after use: a burst of logins would leave ~150 MiB behind. A fixed threshold keeps blocks of
/// 1 MiB and more in their own mappings, returned to the OS when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_large_blocks_to_the_os() {
    // SAFETY: mallopt only adjusts allocator parameters; it is called once, before any other
    // thread exists, with a documented parameter and a valid value.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_os() {}
