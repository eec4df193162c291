//! A real MCP server over HTTP (JSON-RPC 2.0, JSON answers, no session) whose tools misbehave
//! on purpose: one is slow, one answers too much, one answers what is not JSON-RPC. It counts
//! the calls it was told to cancel (`notifications/cancelled`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Default)]
pub struct Seen {
    /// Every request it got.
    pub requests: AtomicUsize,
    pub calls: AtomicUsize,
    pub cancelled: AtomicUsize,
    /// The `Authorization` header of the last request.
    pub authorization: std::sync::Mutex<Option<String>>,
    /// Its `X-Api-Key` header.
    pub api_key: std::sync::Mutex<Option<String>>,
}

/// Starts the server on a loopback port: its `/mcp` URL and what it saw.
pub async fn start() -> (String, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(move |headers: HeaderMap, body: String| answer(state.clone(), headers, body)),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{port}/mcp"), seen)
}

fn tool(name: &str, description: &str) -> Value {
    json!({"name": name, "description": description, "inputSchema": {"type": "object", "properties": {}}})
}

async fn answer(seen: Arc<Seen>, headers: HeaderMap, body: String) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    *seen.authorization.lock().unwrap() =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    *seen.api_key.lock().unwrap() = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request: Value = match serde_json::from_str(&body) {
        Ok(request) => request,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let Some(id) = request.get("id").cloned() else {
        if request["method"] == "notifications/cancelled" {
            seen.cancelled.fetch_add(1, Ordering::SeqCst);
        }
        return StatusCode::ACCEPTED.into_response();
    };
    let result = match request["method"].as_str().unwrap_or_default() {
        "initialize" => json!({
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": {"name": "misbehaving", "version": "1.0.0"},
        }),
        "tools/list" => json!({"tools": [
            tool("slow", "Answers after a minute"),
            tool("huge", "Answers 2 MiB"),
            tool("big", "Answers 100 KiB"),
            tool("garbage", "Answers what is not JSON-RPC"),
        ]}),
        "tools/call" => {
            seen.calls.fetch_add(1, Ordering::SeqCst);
            match request["params"]["name"].as_str().unwrap_or_default() {
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    json!({"content": [{"type": "text", "text": "finally"}]})
                }
                "huge" => json!({"content": [{"type": "text", "text": "x".repeat(2 * 1024 * 1024)}]}),
                "big" => json!({"content": [{"type": "text", "text": "y".repeat(100 * 1024)}]}),
                "garbage" => {
                    return ([(header::CONTENT_TYPE, "application/json")], "{\"this is\": not json-rpc")
                        .into_response();
                }
                other => {
                    json!({"content": [{"type": "text", "text": format!("no tool {other}")}], "isError": true})
                }
            }
        }
        _ => {
            return axum::Json(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no such method"}}),
            )
            .into_response();
        }
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}
