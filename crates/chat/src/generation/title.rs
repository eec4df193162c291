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

pub(super) async fn name_conversation(
    generations: &Generations,
    owner_id: &str,
    conversation_id: &str,
    model: &str,
    question: &str,
    answer: &str,
) {
    let asked = ask_model(generations, model, question, answer).await;
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
        Ok(Some(updated)) => generations.hub().publish(
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

/// One line, no quotes or trailing punctuation, bounded.
fn clean(raw: &str) -> String {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let line =
        line.trim_start_matches(['"', '\'', '#', '*', ' ']).trim_end_matches(['"', '\'', '.', '*', ' ']);
    let line = line.strip_prefix("Title:").unwrap_or(line).trim();
    let cleaned: String = line.chars().filter(|c| !c.is_control()).take(MAX_TITLE_CHARS).collect();
    cleaned.trim().to_owned()
}

fn first_words(text: &str) -> String {
    clean(&text.split_whitespace().take(6).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles_are_cleaned() {
        assert_eq!(super::clean("\"Rust borrow checker tips.\"\nextra"), "Rust borrow checker tips");
        assert_eq!(super::clean("Title: Paris trip"), "Paris trip");
        assert_eq!(super::first_words("how do I  cook rice well in a pot"), "how do I cook rice well");
    }
}
