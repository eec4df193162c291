//! The model lists the fake provider serves: a fixed pair by default, a realistic catalogue on
//! demand, and whatever a test sets (`FakeLlm::set_models` or `PUT /fake/models`).

/// What OpenAI's `GET /models` lists (a snapshot of its public catalogue): the chat models
/// among embeddings, speech, transcription, image, moderation, realtime and legacy ones.
pub const OPENAI_CATALOGUE: &[&str] = &[
    "babbage-002",
    "chatgpt-4o-latest",
    "codex-mini-latest",
    "computer-use-preview",
    "computer-use-preview-2025-03-11",
    "dall-e-2",
    "dall-e-3",
    "davinci-002",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-16k",
    "gpt-3.5-turbo-instruct",
    "gpt-3.5-turbo-instruct-0914",
    "gpt-4",
    "gpt-4-0125-preview",
    "gpt-4-0613",
    "gpt-4-1106-preview",
    "gpt-4-turbo",
    "gpt-4-turbo-2024-04-09",
    "gpt-4-turbo-preview",
    "gpt-4.1",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano",
    "gpt-4.1-nano-2025-04-14",
    "gpt-4o",
    "gpt-4o-2024-05-13",
    "gpt-4o-2024-08-06",
    "gpt-4o-2024-11-20",
    "gpt-4o-audio-preview",
    "gpt-4o-audio-preview-2024-12-17",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4o-mini-audio-preview",
    "gpt-4o-mini-realtime-preview",
    "gpt-4o-mini-search-preview",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-tts",
    "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-12-17",
    "gpt-4o-search-preview",
    "gpt-4o-transcribe",
    "gpt-5",
    "gpt-5-2025-08-07",
    "gpt-5-chat-latest",
    "gpt-5-mini",
    "gpt-5-mini-2025-08-07",
    "gpt-5-nano",
    "gpt-5-nano-2025-08-07",
    "gpt-5-pro",
    "gpt-image-1",
    "gpt-realtime",
    "o1",
    "o1-2024-12-17",
    "o1-mini",
    "o1-pro",
    "o3",
    "o3-2025-04-16",
    "o3-deep-research",
    "o3-mini",
    "o3-pro",
    "o4-mini",
    "o4-mini-deep-research",
    "omni-moderation-2024-09-26",
    "omni-moderation-latest",
    "sora-2",
    "text-embedding-3-large",
    "text-embedding-3-small",
    "text-embedding-ada-002",
    "tts-1",
    "tts-1-1106",
    "tts-1-hd",
    "tts-1-hd-1106",
    "whisper-1",
];

/// The catalogue's non-chat families, for made-up entries.
const EXTRA_FAMILIES: &[&str] = &[
    "gpt-4o-mini",
    "text-embedding-3-small",
    "whisper",
    "tts-1",
    "gpt-image-1",
    "omni-moderation",
    "gpt-4.1-nano",
    "o4-mini",
    "gpt-4o-realtime-preview",
    "davinci",
];

/// `n` ids: OpenAI's catalogue, then fine-tunes of its families (`ft:…`) up to `n`, shuffled
/// by `seed` (the same seed, the same order).
pub fn catalogue(n: usize, seed: u64) -> Vec<String> {
    let mut ids: Vec<String> = OPENAI_CATALOGUE.iter().take(n).map(|s| (*s).to_owned()).collect();
    let mut i = 0;
    while ids.len() < n {
        let family = EXTRA_FAMILIES[i % EXTRA_FAMILIES.len()];
        ids.push(format!("ft:{family}:acme:run-{i:04}"));
        i += 1;
    }
    // Fisher–Yates with xorshift64*: reproducible without a random-number crate.
    let mut state = seed | 1;
    for k in (1..ids.len()).rev() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ids.swap(k, (r % (k as u64 + 1)) as usize);
    }
    ids
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_catalogue_has_the_asked_size_and_a_seeded_order() {
        let a = super::catalogue(300, 7);
        assert_eq!(a.len(), 300);
        assert_eq!(a, super::catalogue(300, 7));
        assert_ne!(a, super::catalogue(300, 8));
        let mut unique = a.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 300);
        assert!(a.contains(&"gpt-4.1-mini".to_owned()) && a.contains(&"whisper-1".to_owned()));
    }
}
