//! Which of a provider's models can chat, and which one to use by default.
//!
//! Providers list everything they serve: OpenAI's `GET /models` holds embeddings, speech,
//! image, moderation, realtime and legacy completion models next to the chat models, in no
//! useful order. The rules here are documented in `docs/models.md`; keep the two in step.

use wildmatch::WildMatch;

/// Parts of a model id that mark a model that cannot hold a chat over Chat Completions.
const NOT_CHAT: &[&str] = &[
    // embeddings and rerankers
    "embed",
    "bge-",
    "all-minilm",
    "rerank",
    // speech and audio
    "whisper",
    "tts",
    "transcribe",
    "audio",
    "realtime",
    // images and video
    "dall-e",
    "gpt-image",
    "-image",
    "imagen",
    "sora",
    "stable-diffusion",
    // moderation and safety classifiers
    "moderation",
    "llama-guard",
    "shieldgemma",
    // legacy completions (no chat endpoint)
    "babbage",
    "davinci",
    "curie",
    "gpt-3.5-turbo-instruct",
    // served by other APIs than Chat Completions
    "computer-use",
    "deep-research",
    "codex",
    "o1-pro",
    "o3-pro",
    "gpt-5-pro",
];

/// The default model's preference, best first: general-purpose chat models that are quick
/// and inexpensive enough for everyday use.
const PREFERRED: &[&str] = &[
    "gpt-4.1-mini*",
    "gpt-4o-mini*",
    "gpt-5-mini*",
    "gpt-4.1*",
    "gpt-4o*",
    "gpt-5*",
    "claude-sonnet-*",
    "claude-*-sonnet*",
    "claude-haiku-*",
    "claude-*-haiku*",
    "gemini-*-flash*",
    "llama*",
    "qwen*",
    "mistral*",
    "gemma*",
    "phi*",
    "deepseek*",
];

/// The part of an id after a routing prefix (`openai/gpt-4o` on OpenRouter), lowercased.
fn base_name(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase()
}

/// Whether `id` names a chat model (by the rule above).
pub fn is_chat_model(id: &str) -> bool {
    let name = base_name(id);
    !NOT_CHAT.iter().any(|part| name.contains(part))
}

/// Whether `id` matches any of the glob `patterns` (`*` and `?`), case-insensitively.
pub fn matches_any(id: &str, patterns: &[String]) -> bool {
    let id = id.to_ascii_lowercase();
    patterns.iter().any(|p| WildMatch::new(&p.to_ascii_lowercase()).matches(&id))
}

/// The preferred chat model among `ids`: the first preference pattern that any of them
/// matches; among its matches the shortest id (the alias rather than a dated snapshot or a
/// variant), then the greatest (the newer version). Previews and search variants count only
/// when nothing else matches. `None` when no id matches a preference.
pub fn preferred<'a>(ids: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let ids: Vec<&str> = ids.into_iter().collect();
    let special = |id: &str| ["preview", "search"].iter().any(|part| id.to_ascii_lowercase().contains(part));
    let plain: Vec<&str> = ids.iter().copied().filter(|id| !special(id)).collect();
    best_match(&plain).or_else(|| best_match(&ids))
}

fn best_match<'a>(ids: &[&'a str]) -> Option<&'a str> {
    PREFERRED.iter().find_map(|pattern| {
        let pattern = WildMatch::new(pattern);
        ids.iter()
            .copied()
            .filter(|id| is_chat_model(id) && pattern.matches(&base_name(id)))
            .max_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_chat_models_are_recognised() {
        for id in [
            "text-embedding-3-small",
            "nomic-embed-text:latest",
            "whisper-1",
            "tts-1-hd",
            "gpt-4o-mini-tts",
            "gpt-4o-transcribe",
            "gpt-4o-realtime-preview-2024-12-17",
            "gpt-4o-audio-preview",
            "dall-e-3",
            "gpt-image-1",
            "sora-2",
            "omni-moderation-latest",
            "text-moderation-stable",
            "babbage-002",
            "davinci-002",
            "gpt-3.5-turbo-instruct-0914",
            "computer-use-preview",
            "o3-deep-research",
            "codex-mini-latest",
            "o1-pro",
            "meta-llama/Llama-Guard-3-8B",
        ] {
            assert!(!is_chat_model(id), "{id} is not a chat model");
        }
        for id in [
            "gpt-4o-mini",
            "gpt-4.1",
            "o3-mini",
            "chatgpt-4o-latest",
            "gpt-4o-search-preview",
            "claude-sonnet-4-5",
            "llama3.2:latest",
            "Qwen2.5-7B-Instruct",
            "openai/gpt-4o",
            "fake-model",
        ] {
            assert!(is_chat_model(id), "{id} is a chat model");
        }
    }

    #[test]
    fn the_preferred_model_is_the_alias_of_the_best_family() {
        let ids = ["whisper-1", "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4o-mini", "gpt-4o"];
        assert_eq!(preferred(ids), Some("gpt-4o-mini"));
        let ids = ["gpt-4o-mini-tts", "gpt-4o-mini-transcribe", "gpt-4o-mini-search-preview", "gpt-4o"];
        assert_eq!(preferred(ids), Some("gpt-4o"));
        assert_eq!(preferred(["gpt-4o-mini-search-preview", "tts-1"]), Some("gpt-4o-mini-search-preview"));
        let ids = ["claude-sonnet-4-0", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-sonnet-4-20250514"];
        assert_eq!(preferred(ids), Some("claude-sonnet-4-5"));
        assert_eq!(preferred(["llama3.2:latest", "nomic-embed-text"]), Some("llama3.2:latest"));
        assert_eq!(preferred(["text-embedding-3-large", "my-own-model"]), None);
        assert_eq!(preferred(std::iter::empty::<&str>()), None);
    }

    #[test]
    fn globs_match_whole_ids_case_insensitively() {
        let patterns = vec!["gpt-4o*".to_owned(), "*-preview".to_owned()];
        assert!(matches_any("GPT-4o-mini", &patterns));
        assert!(matches_any("o1-preview", &patterns));
        assert!(!matches_any("gpt-4.1", &patterns));
        assert!(!matches_any("x", &[]));
    }
}
