//! Anthropic's Messages API with streaming.

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};

use crate::http::{HttpSettings, async_stream, limit_deltas, list_ids, send, sse_events};
use crate::tools::Assembler;
use crate::{ChatRequest, EventStream, FinishReason, LlmError, Provider, Role, StreamEvent, Usage};

const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; this is used when the request sets none.
const DEFAULT_MAX_TOKENS: u32 = 4096;

pub struct AnthropicProvider {
    name: String,
    base_url: String,
    api_key: String,
    settings: HttpSettings,
    client: reqwest::Client,
}

impl AnthropicProvider {
    pub fn new(name: &str, base_url: &str, api_key: String, settings: HttpSettings) -> Self {
        Self {
            name: name.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            client: settings.client(),
            settings,
        }
    }

    async fn start(&self, request: ChatRequest) -> Result<EventStream, LlmError> {
        // System prompts travel in their own field; the rest must alternate user/assistant.
        let system: Vec<&str> =
            request.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.as_str()).collect();
        let mut messages: Vec<Value> = request
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        // A final assistant turn is continued ("prefill"), which Anthropic refuses when it ends
        // in whitespace.
        if let Some(last) = messages.last_mut().filter(|m| m["role"] == "assistant") {
            let trimmed = last["content"].as_str().unwrap_or_default().trim_end().to_owned();
            last["content"] = json!(trimmed);
        }
        // This reply's tool rounds: the model's `tool_use` blocks, then a user turn of results.
        for round in &request.rounds {
            let mut content = Vec::new();
            if !round.text.is_empty() {
                content.push(json!({"type": "text", "text": round.text}));
            }
            content.extend(round.calls.iter().map(
                |c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments_object()}),
            ));
            messages.push(json!({"role": "assistant", "content": content}));
            let results: Vec<Value> = round
                .results
                .iter()
                .map(|r| json!({"type": "tool_result", "tool_use_id": r.call_id, "content": r.content, "is_error": r.is_error}))
                .collect();
            messages.push(json!({"role": "user", "content": results}));
        }
        let max_tokens = request.max_tokens.or(self.settings.max_tokens).unwrap_or(DEFAULT_MAX_TOKENS);
        let mut body = json!({
            "model": request.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "stream": true,
        });
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect();
            body["tools"] = json!(tools);
            if request.final_answer {
                body["tool_choice"] = json!({"type": "none"});
            }
        }
        let http = self
            .client
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(&body);
        let response = send(http, &self.settings).await?;
        let mut events = Box::pin(sse_events(response, &self.settings));
        let stream = async_stream(move |tx| async move {
            let mut usage = Usage::default();
            let mut calls = Assembler::default();
            while let Some(event) = events.next().await {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
                let kind = if event.event.is_empty() || event.event == "message" {
                    data["type"].as_str().unwrap_or_default().to_owned()
                } else {
                    event.event.clone()
                };
                let item = match kind.as_str() {
                    "message_start" => {
                        usage.prompt_tokens = count(&data, "/message/usage/input_tokens");
                        None
                    }
                    "content_block_start"
                        if data.pointer("/content_block/type") == Some(&json!("tool_use")) =>
                    {
                        let block = &data["content_block"];
                        let index = data["index"].as_u64().unwrap_or(0);
                        calls.start(index, block["id"].as_str(), block["name"].as_str()).err().map(Err)
                    }
                    "content_block_delta"
                        if data.pointer("/delta/type") == Some(&json!("input_json_delta")) =>
                    {
                        let index = data["index"].as_u64().unwrap_or(0);
                        let piece =
                            data.pointer("/delta/partial_json").and_then(Value::as_str).unwrap_or_default();
                        calls.arguments(index, piece).err().map(Err)
                    }
                    "content_block_delta" => data
                        .pointer("/delta/text")
                        .and_then(Value::as_str)
                        .filter(|t| !t.is_empty())
                        .map(|t| Ok(StreamEvent::Delta(t.to_owned()))),
                    "message_delta" => {
                        usage.completion_tokens = count(&data, "/usage/output_tokens");
                        match data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                            Some("max_tokens" | "model_context_window_exceeded") => {
                                Some(Ok(StreamEvent::Finish(FinishReason::Length)))
                            }
                            Some("refusal") => Some(Ok(StreamEvent::Finish(FinishReason::ContentFilter))),
                            _ => None,
                        }
                    }
                    "message_stop" => {
                        if !calls.is_empty() {
                            let whole = calls.take().map(StreamEvent::ToolCalls);
                            let failed = whole.is_err();
                            if tx.send(whole).await.is_err() || failed {
                                return;
                            }
                        }
                        let _ = tx.send(Ok(StreamEvent::Usage(usage))).await;
                        return;
                    }
                    "error" => Some(Err(LlmError::Stream(crate::error::upstream_message(&event.data)))),
                    _ => None, // ping, content_block_start/stop
                };
                if let Some(item) = item {
                    let failed = item.is_err();
                    if tx.send(item).await.is_err() || failed {
                        return;
                    }
                }
            }
            let _ = tx.send(Err(LlmError::Stream("the stream ended before message_stop".into()))).await;
        });
        Ok(limit_deltas(stream.boxed(), Some(max_tokens)))
    }
}

fn count(data: &Value, pointer: &str) -> u32 {
    data.pointer(pointer).and_then(Value::as_u64).unwrap_or(0) as u32
}

impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        async move {
            let request = self
                .client
                .get(format!("{}/v1/models?limit=1000", self.base_url))
                .header("x-api-key", &self.api_key)
                .header("anthropic-version", API_VERSION);
            list_ids(send(request, &self.settings).await?).await
        }
        .boxed()
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        self.start(request).boxed()
    }

    fn supports_tools(&self) -> bool {
        true
    }
}
