//! A title for a conversation started without one, asked of the model after its first reply
//! is complete — in the background, so it never delays a reply.

use api_types::chat::ServerEvent;
use futures_util::StreamExt;
use llm::{ChatMessage, ChatRequest, Role, StreamEvent};

use super::Generations;
use crate::convert::conversation_to_wire;
use crate::store::ConversationPatch;

/// The title of conversations started without one.
pub const DEFAULT_TITLE: &str = "New conversation";
const MAX_TITLE_CHARS: usize = 60;
const INSTRUCTION: &str = "Write a short title, at most six words, for a conversation that starts with the \
                           exchange below. Answer with the title only, without quotes.";

/// Names the conversation: by the model from its first exchange when `answer` is the complete
/// first reply, else (the reply was stopped or failed) from the question's first words.
pub(super) async fn name_conversation(
    generations: &Generations,
    owner_id: &str,
    conversation_id: &str,
    model: &str,
    question: &str,
    answer: Option<String>,
) {
    let asked = match answer {
        Some(answer) => ask_model(generations, model, question, &answer).await,
        None => None,
    };
    let title = asked.filter(|t| !t.is_empty()).unwrap_or_else(|| first_words(question));
    if title.is_empty() {
        return;
    }
    // Only if nobody renamed it meanwhile.
    let Ok(Some(current)) = generations.db.conversation(conversation_id, owner_id).await else { return };
    if current.title != DEFAULT_TITLE {
        return;
    }
    let patch = ConversationPatch { title: Some(title), ..Default::default() };
    match generations
        .db
        .update_conversation(conversation_id, owner_id, patch, common::clock::now_millis())
        .await
    {
        Ok(Some(updated)) => generations.bus().publish(
            owner_id,
            ServerEvent::ConversationUpdated { conversation: conversation_to_wire(&updated) },
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot store a conversation title"),
    }
}

async fn ask_model(generations: &Generations, model: &str, question: &str, answer: &str) -> Option<String> {
    let provider = generations.registry().provider_for(model).ok()?;
    let clip = |s: &str| s.chars().take(2000).collect::<String>();
    let request = ChatRequest {
        model: model.to_owned(),
        messages: vec![
            ChatMessage { role: Role::System, content: INSTRUCTION.into() },
            ChatMessage { role: Role::User, content: clip(question) },
            ChatMessage { role: Role::Assistant, content: clip(answer) },
            ChatMessage { role: Role::User, content: "Title for the conversation above:".into() },
        ],
        max_tokens: Some(24),
        temperature: Some(0.2),
        ..ChatRequest::default()
    };
    let mut stream = provider.stream(request).await.ok()?;
    let mut text = String::new();
    while let Some(Ok(event)) = stream.next().await {
        if let StreamEvent::Delta(delta) = event {
            text.push_str(&delta);
            if text.chars().count() > MAX_TITLE_CHARS * 2 {
                break;
            }
        }
    }
    Some(clean(&text))
}

/// The title in what the model said: the first line that is not a preamble ("Here's a possible
/// title for the conversation:", "Sure!"), without a "Title:" label, quotes, Markdown or
/// trailing punctuation; bounded.
fn clean(raw: &str) -> String {
    for line in raw.lines().map(trim_decoration).filter(|l| !l.is_empty()) {
        let candidate = match line.split_once(':') {
            Some((label, rest)) if is_preamble(label) => trim_decoration(rest),
            _ if is_pleasantry(line) => "",
            _ => line,
        };
        let cleaned: String = candidate.chars().filter(|c| !c.is_control()).take(MAX_TITLE_CHARS).collect();
        let cleaned = trim_decoration(&cleaned);
        if !cleaned.is_empty() {
            return cleaned.to_owned();
        }
    }
    String::new()
}

fn trim_decoration(text: &str) -> &str {
    text.trim()
        .trim_start_matches(['"', '\'', '#', '*', '_', '`', ' ', '“'])
        .trim_end_matches(['"', '\'', '.', '*', '_', '`', ' ', '”'])
}

/// "Here's a possible title for the conversation", "Title", "Sure! Here is one".
fn is_preamble(label: &str) -> bool {
    let label = label.to_lowercase();
    label.contains("title") || label.starts_with("here") || is_pleasantry(&label)
}

/// A line that only acknowledges the request.
fn is_pleasantry(line: &str) -> bool {
    let word = line.trim_end_matches(['!', '.', ',', ' ']).to_lowercase();
    ["sure", "certainly", "okay", "ok", "of course", "absolutely", "alright"]
        .iter()
        .any(|p| word == *p || word.starts_with(&format!("{p}!")) || word.starts_with(&format!("{p},")))
}

fn first_words(text: &str) -> String {
    clean(&text.split_whitespace().take(6).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::{clean, first_words};

    #[test]
    fn titles_are_cleaned() {
        assert_eq!(clean("\"Rust borrow checker tips.\"\nextra"), "Rust borrow checker tips");
        assert_eq!(clean("Title: Paris trip"), "Paris trip");
        assert_eq!(clean("**Title:** Paris trip"), "Paris trip");
        assert_eq!(first_words("how do I  cook rice well in a pot"), "how do I cook rice well");
    }

    #[test]
    fn preambles_are_not_titles() {
        let cases = [
            "Here's a possible title for the conversation:\n\n\"Capital of France\"",
            "Here's a possible title for the conversation: \"Capital of France\"",
            "Sure! Here is a title: Capital of France",
            "Sure!\nCapital of France",
            "Certainly. Title: *Capital of France*",
            "“Capital of France”",
        ];
        for raw in cases {
            assert_eq!(clean(raw), "Capital of France", "{raw:?}");
        }
        // A colon in a real title stays.
        assert_eq!(clean("Rust: the borrow checker"), "Rust: the borrow checker");
        assert_eq!(clean("Here's a title for the conversation:"), "");
    }
}
