//! OpenAI's Chat Completions streaming API, which OpenAI, Ollama, vLLM, the llama.cpp server,
//! LM Studio and OpenRouter all speak.

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};

use crate::http::{HttpSettings, async_stream, limit_deltas, list_ids, send, sse_events};
use crate::tools::Assembler;
use crate::{ChatRequest, EventStream, FinishReason, LlmError, Provider, StreamEvent, Usage};

pub struct OpenAiProvider {
    name: String,
    base_url: String,
    api_key: Option<String>,
    settings: HttpSettings,
    client: reqwest::Client,
}

impl OpenAiProvider {
    pub fn new(name: &str, base_url: &str, api_key: Option<String>, settings: HttpSettings) -> Self {
        Self {
            name: name.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.filter(|k| !k.is_empty()),
            client: settings.client(),
            settings,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.post(format!("{}{path}", self.base_url));
        match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    async fn list_models(&self) -> Result<Vec<String>, LlmError> {
        let mut request = self.client.get(format!("{}/models", self.base_url));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        list_ids(send(request, &self.settings).await?).await
    }

    async fn start(&self, request: ChatRequest) -> Result<EventStream, LlmError> {
        let mut body = json!({
            "model": request.model,
            "messages": messages(&request),
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if !request.tools.is_empty() {
            let tools: Vec<Value> = request
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
                .collect();
            body["tools"] = json!(tools);
            if request.final_answer {
                body["tool_choice"] = json!("none");
            }
        }
        let max_tokens = request.max_tokens.or(self.settings.max_tokens);
        if let Some(max) = max_tokens {
            // OpenAI's own API wants `max_completion_tokens` (its reasoning models refuse
            // `max_tokens`); every compatible server knows `max_tokens`.
            let field = if self.is_openai() { "max_completion_tokens" } else { "max_tokens" };
            body[field] = json!(max);
        }
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        let response = send(self.post("/chat/completions").json(&body), &self.settings).await?;
        let mut events = Box::pin(sse_events(response, &self.settings));
        let stream = async_stream(move |tx| async move {
            let mut calls = Assembler::default();
            while let Some(event) = events.next().await {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                if event.data.trim() == "[DONE]" {
                    if !calls.is_empty() {
                        let _ = tx.send(calls.take().map(StreamEvent::ToolCalls)).await;
                    }
                    return;
                }
                let Ok(chunk) = serde_json::from_str::<Value>(&event.data) else {
                    let _ = tx.send(Err(LlmError::Stream("a chunk was not JSON".into()))).await;
                    return;
                };
                for item in parse_chunk(&chunk, &mut calls) {
                    let failed = item.is_err();
                    if tx.send(item).await.is_err() || failed {
                        return;
                    }
                }
            }
        });
        Ok(limit_deltas(stream.boxed(), max_tokens))
    }

    fn is_openai(&self) -> bool {
        self.base_url.starts_with("https://api.openai.com/")
    }
}

/// The conversation, then this reply's tool rounds: the model's calls and their results.
fn messages(request: &ChatRequest) -> Vec<Value> {
    let mut messages: Vec<Value> = request.messages.iter().map(|m| json!(m)).collect();
    for round in &request.rounds {
        let calls: Vec<Value> = round
            .calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        let text = (!round.text.is_empty()).then_some(round.text.as_str());
        messages.push(json!({"role": "assistant", "content": text, "tool_calls": calls}));
        for result in &round.results {
            messages.push(json!({"role": "tool", "tool_call_id": result.call_id, "content": result.content}));
        }
    }
    messages
}

/// One streamed chunk → events. Usage may come on its own final chunk (OpenAI with
/// `include_usage`), on the last content chunk (vLLM, llama.cpp), or under `x_groq`. Tool
/// calls come in pieces, gathered in `calls` and sent whole when the choice finishes.
fn parse_chunk(chunk: &Value, calls: &mut Assembler) -> Vec<Result<StreamEvent, LlmError>> {
    let mut out = Vec::new();
    if let Some(error) = chunk.get("error") {
        let message = crate::error::upstream_message(&json!({"error": error}).to_string());
        out.push(Err(LlmError::Stream(message)));
        return out;
    }
    if let Some(text) = chunk.pointer("/choices/0/delta/content").and_then(Value::as_str)
        && !text.is_empty()
    {
        out.push(Ok(StreamEvent::Delta(text.to_owned())));
    }
    for piece in chunk.pointer("/choices/0/delta/tool_calls").and_then(Value::as_array).into_iter().flatten()
    {
        let index = piece["index"].as_u64().unwrap_or(0);
        let added = calls
            .start(index, piece["id"].as_str(), piece.pointer("/function/name").and_then(Value::as_str))
            .and_then(|()| match piece.pointer("/function/arguments").and_then(Value::as_str) {
                Some(arguments) => calls.arguments(index, arguments),
                None => Ok(()),
            });
        if let Err(e) = added {
            out.push(Err(e));
            return out;
        }
    }
    match chunk.pointer("/choices/0/finish_reason").and_then(Value::as_str) {
        Some("length") => out.push(Ok(StreamEvent::Finish(FinishReason::Length))),
        Some("content_filter") => out.push(Ok(StreamEvent::Finish(FinishReason::ContentFilter))),
        // Some servers say `stop` after calling tools: the calls decide.
        Some(_) if !calls.is_empty() => out.push(calls.take().map(StreamEvent::ToolCalls)),
        _ => {}
    }
    let usage = chunk.get("usage").filter(|u| u.is_object()).or_else(|| chunk.pointer("/x_groq/usage"));
    if let Some(usage) = usage {
        let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0) as u32;
        out.push(Ok(StreamEvent::Usage(Usage {
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
        })));
    }
    out
}

impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        self.list_models().boxed()
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<EventStream, LlmError>> {
        self.start(request).boxed()
    }

    fn supports_tools(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_and_every_usage_shape() {
        let delta = json!({"choices": [{"delta": {"content": "Hi"}}]});
        assert_eq!(parse_chunk(&delta, &mut Assembler::default()), vec![Ok(StreamEvent::Delta("Hi".into()))]);
        let openai_final = json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}});
        let usage = Usage { prompt_tokens: 3, completion_tokens: 5 };
        assert_eq!(
            parse_chunk(&openai_final, &mut Assembler::default()),
            vec![Ok(StreamEvent::Usage(usage))]
        );
        let vllm = json!({"choices": [{"delta": {"content": "!"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 5}});
        assert_eq!(
            parse_chunk(&vllm, &mut Assembler::default()),
            vec![Ok(StreamEvent::Delta("!".into())), Ok(StreamEvent::Usage(usage))]
        );
        let groq = json!({"choices": [{"delta": {}}], "x_groq": {"usage": {"prompt_tokens": 3, "completion_tokens": 5}}});
        assert_eq!(parse_chunk(&groq, &mut Assembler::default()), vec![Ok(StreamEvent::Usage(usage))]);
        let null_usage = json!({"choices": [{"delta": {"content": "a"}}], "usage": null});
        assert_eq!(
            parse_chunk(&null_usage, &mut Assembler::default()),
            vec![Ok(StreamEvent::Delta("a".into()))]
        );
        let cut = json!({"choices": [{"delta": {"content": "b"}, "finish_reason": "length"}]});
        assert_eq!(
            parse_chunk(&cut, &mut Assembler::default()),
            vec![Ok(StreamEvent::Delta("b".into())), Ok(StreamEvent::Finish(FinishReason::Length))]
        );
        let filtered = json!({"choices": [{"delta": {}, "finish_reason": "content_filter"}]});
        assert_eq!(
            parse_chunk(&filtered, &mut Assembler::default()),
            vec![Ok(StreamEvent::Finish(FinishReason::ContentFilter))]
        );
        let error = json!({"error": {"message": "overloaded"}});
        let mut calls = Assembler::default();
        let first = json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "time", "arguments": "{\"tz\":"}}]}}]});
        assert_eq!(parse_chunk(&first, &mut calls), vec![]);
        let rest = json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"UTC\"}"}}]}, "finish_reason": "tool_calls"}]});
        let call =
            crate::ToolCall { id: "c1".into(), name: "time".into(), arguments: "{\"tz\":\"UTC\"}".into() };
        assert_eq!(parse_chunk(&rest, &mut calls), vec![Ok(StreamEvent::ToolCalls(vec![call]))]);
        assert_eq!(
            parse_chunk(&error, &mut Assembler::default()),
            vec![Err(LlmError::Stream("overloaded".into()))]
        );
    }
}
