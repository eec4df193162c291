//! Builds the provider registry from configuration: the configured providers, then the
//! embedded local model (unless `chat.local.model` is `off`), so with no provider configured the
//! local model is the default.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::config::{ChatConfig, LocalModelConfig, ProviderKind};
use llm::{AnthropicProvider, HttpSettings, OpenAiProvider, Provider, Registry};
use local_llm::{LocalProvider, LocalSettings, ModelChoice};

const OPENAI_URL: &str = "https://api.openai.com/v1";
const ANTHROPIC_URL: &str = "https://api.anthropic.com";
/// Offered when Anthropic is configured without a model list.
const ANTHROPIC_DEFAULT_MODELS: &[&str] = &["claude-sonnet-4-5", "claude-haiku-4-5"];

pub async fn registry(config: &ChatConfig, data_dir: &Path) -> Registry {
    let settings = HttpSettings {
        connect_timeout: Duration::from_secs(10),
        first_token_timeout: Duration::from_secs(config.first_token_timeout_secs),
        idle_timeout: Duration::from_secs(config.idle_timeout_secs),
    };
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    for p in &config.providers {
        let name = p.name.clone().unwrap_or_else(|| format!("{:?}", p.kind).to_lowercase());
        match p.kind {
            ProviderKind::Openai => providers.push(Arc::new(OpenAiProvider::new(
                &name,
                p.base_url.as_deref().unwrap_or(OPENAI_URL),
                p.api_key.clone(),
                p.models.clone(),
                settings,
            ))),
            ProviderKind::Anthropic => {
                let Some(key) = p.api_key.clone() else {
                    tracing::warn!(provider = %name, "skipping an Anthropic provider without an API key");
                    continue;
                };
                let models = if p.models.is_empty() {
                    ANTHROPIC_DEFAULT_MODELS.iter().map(|m| m.to_string()).collect()
                } else {
                    p.models.clone()
                };
                providers.push(Arc::new(AnthropicProvider::new(
                    &name,
                    p.base_url.as_deref().unwrap_or(ANTHROPIC_URL),
                    key,
                    models,
                    settings,
                )));
            }
        }
    }
    if let Some(local) = local_provider(&config.local, data_dir).await {
        providers.push(Arc::new(local));
    }
    let registry = Registry::new(providers).await;
    if registry.is_empty() {
        tracing::warn!(
            "no model provider configured and the local model is off: replies will fail until \
             OPENCHAT_LOCAL_MODEL, OPENAI_API_KEY or ANTHROPIC_API_KEY is set"
        );
    } else {
        tracing::info!(models = ?registry.models().iter().map(|m| &m.id).collect::<Vec<_>>(), "model providers ready");
    }
    registry
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
