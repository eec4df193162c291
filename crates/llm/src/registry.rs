use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::{LlmError, Provider};

/// A model a conversation can pick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    pub id: String,
    pub provider: String,
}

/// Every configured provider, and which serves which model.
#[derive(Clone, Default)]
pub struct Registry {
    providers: Vec<Arc<dyn Provider>>,
    by_model: HashMap<String, usize>,
    models: Vec<ModelInfo>,
}

impl Registry {
    /// Asks each provider for its models. A model offered by two providers goes to the first.
    pub async fn new(providers: Vec<Arc<dyn Provider>>) -> Self {
        let mut registry = Self { providers, ..Self::default() };
        for (index, provider) in registry.providers.iter().enumerate() {
            for id in provider.models().await {
                if !registry.by_model.contains_key(&id) {
                    registry.by_model.insert(id.clone(), index);
                    registry.models.push(ModelInfo { id, provider: provider.name().to_owned() });
                }
            }
        }
        registry
    }

    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// The model used when a conversation names none: the first configured one.
    pub fn default_model(&self) -> Option<&str> {
        self.models.first().map(|m| m.id.as_str())
    }

    /// The provider that serves `model`.
    pub fn provider_for(&self, model: &str) -> Result<Arc<dyn Provider>, LlmError> {
        if self.providers.is_empty() {
            return Err(LlmError::NotConfigured);
        }
        self.by_model
            .get(model)
            .map(|&i| self.providers[i].clone())
            .ok_or_else(|| LlmError::UnknownModel(model.chars().take(100).collect()))
    }
}
