//! Builds the provider registry from configuration.

use std::sync::Arc;
use std::time::Duration;

use common::config::{ChatConfig, ProviderKind};
use llm::{AnthropicProvider, HttpSettings, OpenAiProvider, Provider, Registry};

const OPENAI_URL: &str = "https://api.openai.com/v1";
const ANTHROPIC_URL: &str = "https://api.anthropic.com";
/// Offered when Anthropic is configured without a model list.
const ANTHROPIC_DEFAULT_MODELS: &[&str] = &["claude-sonnet-4-5", "claude-haiku-4-5"];

pub async fn registry(config: &ChatConfig) -> Registry {
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
    let registry = Registry::new(providers).await;
    if registry.is_empty() {
        tracing::warn!(
            "no model provider configured: replies will fail until OPENAI_API_KEY or ANTHROPIC_API_KEY is set"
        );
    } else {
        tracing::info!(models = ?registry.models().iter().map(|m| &m.id).collect::<Vec<_>>(), "model providers ready");
    }
    registry
}
