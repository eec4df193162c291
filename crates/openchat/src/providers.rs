//! The model providers of the chat service: the configured HTTP providers, then the embedded
//! local model (unless `chat.local.model` is `off`), so with no provider configured the local
//! model is the default.

use std::path::Path;
use std::sync::Arc;

use common::config::{ChatConfig, LocalModelConfig};
use llm::{ModelFilter, ProviderEntry, Registry};
use local_llm::{LocalProvider, LocalSettings, ModelChoice};

/// Starts the registry: model lists are read in the background from here on.
pub async fn registry(config: &ChatConfig, data_dir: &Path) -> Registry {
    let mut entries = chat::providers::configured(config);
    if let Some(local) = local_provider(&config.local, data_dir).await {
        entries.push(ProviderEntry {
            provider: Arc::new(local),
            filter: ModelFilter::default(),
            last_resort: true,
        });
    }
    Registry::start(entries, chat::providers::registry_options(config))
}

/// Starts the local model (loading it takes a moment, so off the async threads). A model that
/// cannot be loaded is still offered: its replies fail with the reason, and start-up says it.
async fn local_provider(config: &LocalModelConfig, data_dir: &Path) -> Option<LocalProvider> {
    let ModelChoice::File { id, path } = local_llm::resolve(&config.model, data_dir) else {
        tracing::info!("the local model is off (OPENCHAT_LOCAL_MODEL=off)");
        return None;
    };
    let mut settings = LocalSettings::new(id, path);
    settings.context_length = config.context_length;
    if config.threads > 0 {
        settings.threads = config.threads;
    }
    settings.temperature = config.temperature as f32;
    settings.top_p = config.top_p as f32;
    settings.seed = config.seed;
    settings.max_new_tokens = config.max_tokens;
    settings.max_queue = config.max_queue as usize;
    let provider = tokio::task::spawn_blocking(move || LocalProvider::start(settings)).await.ok()?;
    if let Some(error) = provider.load_error() {
        tracing::error!("{error}; replies from the local model will fail until then");
    }
    Some(provider)
}
