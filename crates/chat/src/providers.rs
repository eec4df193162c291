//! The configured HTTP providers (OpenAI-compatible and Anthropic) as registry entries. The
//! binary adds the embedded local model and starts the registry, so this crate knows providers
//! only through `llm::Provider`.

use std::sync::Arc;
use std::time::Duration;

use common::config::{ChatConfig, ProviderConfig, ProviderKind};
use llm::{
    AnthropicProvider, HttpSettings, ModelFilter, OpenAiProvider, Provider, ProviderEntry, RegistryOptions,
};

const OPENAI_URL: &str = "https://api.openai.com/v1";
const ANTHROPIC_URL: &str = "https://api.anthropic.com";

/// The timeouts and bounds every HTTP provider uses (see [`provider_settings`]).
pub fn http_settings(config: &ChatConfig) -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(10),
        first_token_timeout: Duration::from_secs(config.first_token_timeout_secs),
        idle_timeout: Duration::from_secs(config.idle_timeout_secs),
        max_tokens: Some(config.max_reply_tokens),
        max_line_bytes: config.max_stream_line_bytes,
    }
}

/// One provider's settings: its own `max_tokens`, if set, overrides `chat.max_reply_tokens`
/// (0 sends none).
pub fn provider_settings(config: &ChatConfig, provider: &ProviderConfig) -> HttpSettings {
    let mut settings = http_settings(config);
    if let Some(max) = provider.max_tokens {
        settings.max_tokens = Some(max).filter(|m| *m > 0);
    }
    settings
}

/// The registry's options from the configuration.
pub fn registry_options(config: &ChatConfig) -> RegistryOptions {
    RegistryOptions {
        default_model: Some(config.default_model.trim().to_owned()).filter(|m| !m.is_empty()),
        refresh_every: Duration::from_secs(config.models_refresh_secs),
    }
}

/// How a provider's models are offered.
pub fn model_filter(config: &ChatConfig, provider: &ProviderConfig) -> ModelFilter {
    ModelFilter {
        fixed: provider.models.clone(),
        allow: provider.allow.clone(),
        deny: provider.deny.clone(),
        hide_non_chat: provider.hide_non_chat.unwrap_or(config.hide_non_chat_models),
    }
}

/// Every configured HTTP provider, in configuration order.
pub fn configured(config: &ChatConfig) -> Vec<ProviderEntry> {
    let mut entries = Vec::new();
    for p in &config.providers {
        let settings = provider_settings(config, p);
        let name = p.name.clone().unwrap_or_else(|| format!("{:?}", p.kind).to_lowercase());
        let provider: Arc<dyn Provider> = match p.kind {
            ProviderKind::Openai => Arc::new(OpenAiProvider::new(
                &name,
                p.base_url.as_deref().unwrap_or(OPENAI_URL),
                p.api_key.clone(),
                settings,
            )),
            ProviderKind::Anthropic => {
                let Some(key) = p.api_key.clone() else {
                    tracing::warn!(provider = %name, "skipping an Anthropic provider without an API key");
                    continue;
                };
                Arc::new(AnthropicProvider::new(
                    &name,
                    p.base_url.as_deref().unwrap_or(ANTHROPIC_URL),
                    key,
                    settings,
                ))
            }
        };
        entries.push(ProviderEntry { provider, filter: model_filter(config, p), last_resort: false });
    }
    entries
}
