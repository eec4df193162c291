//! Function calling: the tools offered to a model, the calls it makes (streamed in pieces,
//! assembled here exactly), and their results fed back in the next request.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::LlmError;

/// Most calls one model turn may make.
pub const MAX_CALLS: usize = 16;
/// Longest arguments of one call, in bytes.
pub const MAX_ARGUMENT_BYTES: usize = 64 * 1024;

/// A tool the model may call: its name, what it does, and its parameters as a JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// One call the model made; `arguments` is the JSON text as the model wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl ToolCall {
    /// The arguments as a JSON object (an empty one when the model sent none or not an object).
    pub fn arguments_object(&self) -> serde_json::Map<String, Value> {
        match serde_json::from_str::<Value>(&self.arguments) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// What a call gave back, fed to the model in the next request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResult {
    pub call_id: String,
    pub content: String,
    pub is_error: bool,
}

/// One finished round of the tool loop within a reply: the text the model wrote before it
/// called, its calls, and their results (one per call, same order).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ToolRound {
    pub text: String,
    pub calls: Vec<ToolCall>,
    pub results: Vec<ToolResult>,
}

/// Calls arriving in pieces, each piece naming the call by its position (OpenAI's `index`,
/// Anthropic's content block `index`).
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    calls: Vec<(u64, ToolCall)>,
}

impl Assembler {
    /// A call begins (or a piece names its id or name).
    pub fn start(&mut self, index: u64, id: Option<&str>, name: Option<&str>) -> Result<(), LlmError> {
        let call = self.call(index)?;
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            call.id = id.to_owned();
        }
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            call.name.push_str(name);
        }
        Ok(())
    }

    /// More of a call's arguments.
    pub fn arguments(&mut self, index: u64, piece: &str) -> Result<(), LlmError> {
        let call = self.call(index)?;
        if call.arguments.len() + piece.len() > MAX_ARGUMENT_BYTES {
            return Err(LlmError::Stream(format!(
                "the model's arguments for a tool call are longer than {} KiB",
                MAX_ARGUMENT_BYTES / 1024
            )));
        }
        call.arguments.push_str(piece);
        Ok(())
    }

    fn call(&mut self, index: u64) -> Result<&mut ToolCall, LlmError> {
        let at = match self.calls.iter().position(|(i, _)| *i == index) {
            Some(at) => at,
            None if self.calls.len() >= MAX_CALLS => {
                return Err(LlmError::Stream(format!(
                    "the model made more than {MAX_CALLS} tool calls at once"
                )));
            }
            None => {
                let call = ToolCall { id: String::new(), name: String::new(), arguments: String::new() };
                self.calls.push((index, call));
                self.calls.len() - 1
            }
        };
        Ok(&mut self.calls[at].1)
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The whole calls, in order; a call without an id gets one from its position, and empty
    /// arguments become `{}`.
    pub fn take(&mut self) -> Result<Vec<crate::ToolCall>, LlmError> {
        let mut calls: Vec<_> = std::mem::take(&mut self.calls);
        calls.sort_by_key(|(index, _)| *index);
        calls
            .into_iter()
            .map(|(index, mut call)| {
                if call.name.is_empty() {
                    return Err(LlmError::Stream("the model called a tool without naming it".into()));
                }
                if call.id.is_empty() {
                    call.id = format!("call_{index}");
                }
                if call.arguments.trim().is_empty() {
                    call.arguments = "{}".into();
                }
                Ok(call)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_assemble_into_whole_calls_in_order() {
        let mut calls = Assembler::default();
        calls.start(1, Some("b"), Some("second")).unwrap();
        calls.start(0, Some("a"), Some("first")).unwrap();
        for piece in ["{\"x\"", ": 1", "}"] {
            calls.arguments(0, piece).unwrap();
        }
        let whole = calls.take().unwrap();
        assert_eq!(
            whole[0],
            ToolCall { id: "a".into(), name: "first".into(), arguments: "{\"x\": 1}".into() }
        );
        assert_eq!(whole[1], ToolCall { id: "b".into(), name: "second".into(), arguments: "{}".into() });
        assert!(calls.is_empty());
        assert_eq!(whole[0].arguments_object()["x"], 1);
    }

    #[test]
    fn a_model_cannot_make_calls_without_bound() {
        let mut calls = Assembler::default();
        for i in 0..MAX_CALLS as u64 {
            calls.start(i, None, Some("t")).unwrap();
        }
        assert!(calls.start(MAX_CALLS as u64, None, Some("t")).is_err());
        let long = "x".repeat(MAX_ARGUMENT_BYTES);
        calls.arguments(0, &long).unwrap();
        assert!(calls.arguments(0, "y").is_err());
        let mut unnamed = Assembler::default();
        unnamed.arguments(0, "{}").unwrap();
        assert!(unnamed.take().is_err(), "a call needs a name");
    }
}
