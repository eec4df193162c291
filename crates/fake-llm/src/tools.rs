//! Tool calls: the results a request carries back, and the frames of a turn that calls tools.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Dialect, Frame, Script};

/// The tool results in the messages after the user's last words: OpenAI's `tool` messages and
/// Anthropic's `tool_result` blocks (errors marked).
pub(crate) fn tool_results(messages: &[Value]) -> Vec<String> {
    let mut results = Vec::new();
    for message in messages {
        if message["role"] == "tool" {
            results.push(message["content"].as_str().unwrap_or_default().to_owned());
        }
        for block in message["content"].as_array().into_iter().flatten() {
            if block["type"] == "tool_result" {
                let text = block["content"].as_str().unwrap_or_default();
                let error = if block["is_error"] == true { "error: " } else { "" };
                results.push(format!("{error}{text}"));
            }
        }
    }
    results
}

/// A turn that calls tools: each call's name first, then its arguments a few bytes per chunk.
pub(crate) fn call_frames(
    script: &Script,
    dialect: Dialect,
    model: &str,
    prompt_tokens: usize,
) -> Vec<Frame> {
    const PIECE: usize = 5;
    let mut out = Vec::new();
    let data = |event: Option<&str>, data: Value| {
        let text = match event {
            Some(event) => format!("event: {event}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        };
        Frame::Data(text, script.delay)
    };
    let pieces = |arguments: &str| -> Vec<String> {
        arguments.chars().collect::<Vec<_>>().chunks(PIECE).map(|c| c.iter().collect()).collect()
    };
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    match dialect {
        Dialect::OpenAi => {
            for (i, (id, name, arguments)) in script.calls.iter().enumerate() {
                let start = json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]});
                out.push(data(None, chunk(start, Value::Null)));
                for piece in pieces(arguments) {
                    let more = json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]});
                    out.push(data(None, chunk(more, Value::Null)));
                }
            }
            out.push(data(None, chunk(json!({}), json!("tool_calls"))));
            let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": script.calls.len(), "total_tokens": prompt_tokens + script.calls.len()});
            out.push(data(None, json!({"choices": [], "usage": usage})));
            out.push(Frame::Data("data: [DONE]\n\n".into(), Duration::ZERO));
        }
        Dialect::Anthropic => {
            let start = json!({"type": "message_start", "message": {"model": model, "usage": {"input_tokens": prompt_tokens, "output_tokens": 0}}});
            out.push(data(Some("message_start"), start));
            for (i, (id, name, arguments)) in script.calls.iter().enumerate() {
                let block = json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}});
                out.push(data(Some("content_block_start"), block));
                for piece in pieces(arguments) {
                    let delta = json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}});
                    out.push(data(Some("content_block_delta"), delta));
                }
                out.push(data(Some("content_block_stop"), json!({"type": "content_block_stop", "index": i})));
            }
            let end = json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": script.calls.len()}});
            out.push(data(Some("message_delta"), end));
            out.push(data(Some("message_stop"), json!({"type": "message_stop"})));
        }
    }
    out
}
