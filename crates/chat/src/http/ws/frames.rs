//! Reading a client frame into an action, with an error sentence for a bad one.

use api_types::chat::ClientAction;

/// Longest `detail` of an `invalid_frame` error (serde's message can quote the client's input).
const MAX_FRAME_ERROR_CHARS: usize = 200;

/// The action of a frame; bare `{"content": …}` frames on `/ws/{id}` (`default_conversation`)
/// are messages to it. An error is a sentence for the client, at most 200 characters.
pub(super) fn parse_action(
    value: serde_json::Value,
    default_conversation: Option<&str>,
) -> Result<ClientAction, String> {
    if value.get("action").is_none()
        && let Some(conversation_id) = default_conversation
    {
        let content = value.get("content").or_else(|| value.get("message")).and_then(|c| c.as_str());
        return content
            .map(|c| ClientAction::SendMessage {
                conversation_id: conversation_id.to_owned(),
                content: c.to_owned(),
                parent_id: None,
            })
            .ok_or_else(|| "A frame needs an \"action\" (or, here, a \"content\")".to_owned());
    }
    // `ping` carries no data; accept it with or without an empty `data`.
    if value["action"] == "ping" {
        return Ok(ClientAction::Ping);
    }
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        if message.contains("unknown variant") {
            "Unknown action".to_owned()
        } else {
            let reason = message.split(" at line").next().unwrap_or("malformed");
            let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
            let mut detail = format!("Invalid frame: {reason}");
            if detail.chars().count() > MAX_FRAME_ERROR_CHARS {
                detail = detail.chars().take(MAX_FRAME_ERROR_CHARS - 1).collect::<String>() + "…";
            }
            detail
        }
    })
}

#[cfg(test)]
mod frame_properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{MAX_FRAME_ERROR_CHARS, parse_action};

    const ACTIONS: &[&str] = &[
        "authenticate",
        "ping",
        "start_conversation",
        "send_message",
        "end_conversation",
        "subscribe",
        "stop",
        "regenerate",
        "edit_message",
        "continue",
    ];

    /// Any JSON value, a few levels deep.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,30}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map(".{0,300}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Frames that look like client actions: a known (or unknown) action with any data.
    fn frame() -> impl Strategy<Value = Value> {
        let action = prop_oneof![proptest::sample::select(ACTIONS).prop_map(str::to_owned), ".{0,20}"];
        prop_oneof![
            (action, json_value()).prop_map(|(action, data)| json!({"action": action, "data": data})),
            json_value(),
        ]
    }

    fn check(value: Value) -> Result<(), TestCaseError> {
        for default in [None, Some("c1")] {
            if let Err(detail) = parse_action(value.clone(), default) {
                prop_assert!(
                    !detail.is_empty() && detail.chars().count() <= MAX_FRAME_ERROR_CHARS,
                    "{detail:?}"
                );
                prop_assert!(!detail.chars().any(char::is_control), "{detail:?}");
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any frame is an action or a short, printable error sentence; never a panic.
        #[test]
        fn any_frame_is_an_action_or_a_short_error(value in frame()) {
            check(value)?;
        }

        /// Any text that is JSON at all, the same.
        #[test]
        fn any_json_text_is_an_action_or_a_short_error(text in ".{0,200}") {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                check(value)?;
            }
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let unknown = parse_action(json!({"action": "launch_missiles"}), None).unwrap_err();
        assert_eq!(unknown, "Unknown action");
        let missing = parse_action(json!({"action": "send_message", "data": {}}), None).unwrap_err();
        assert!(missing.starts_with("Invalid frame: missing field"), "{missing}");
        let long = "k".repeat(5_000);
        let detail = parse_action(
            json!({"action": "subscribe", "data": {"conversation_id": "c", "after_seq": long}}),
            None,
        )
        .unwrap_err();
        assert!(detail.chars().count() <= MAX_FRAME_ERROR_CHARS, "{detail}");
        let bare = parse_action(json!({"text": "hi"}), Some("c1")).unwrap_err();
        assert_eq!(bare, "A frame needs an \"action\" (or, here, a \"content\")");
    }
}
