//! The example server as an MCP client sees it, over real HTTP: the handshake, the tool list
//! with its schema, a call, a call the tool refuses, and `wait`'s answer and bounds.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

#[tokio::test]
async fn a_client_lists_and_calls_the_time_tool() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(mcp_time::serve(listener));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = StreamableHttpClientTransportConfig::with_uri(format!("http://127.0.0.1:{port}/mcp"));
    let transport = StreamableHttpClientTransport::with_client(reqwest13::Client::new(), config);
    let client = ().serve(transport).await.expect("the MCP handshake succeeds");

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(names, ["get_current_time", "wait", "whoami"]);
    let time = tools.iter().find(|t| t.name == "get_current_time").unwrap();
    let schema = serde_json::Value::Object((*time.input_schema).clone());
    assert_eq!(schema["required"], json!(["timezone"]), "{schema}");

    let call = |zone: &str| {
        let arguments = json!({ "timezone": zone }).as_object().cloned();
        let mut params = CallToolRequestParams::new("get_current_time");
        params.arguments = arguments;
        client.call_tool(params)
    };
    let tokyo = call("Asia/Tokyo").await.unwrap();
    assert_eq!(tokyo.is_error, Some(false));
    let text = &tokyo.content[0].as_text().unwrap().text;
    assert!(text.contains("+09:00[Asia/Tokyo]"), "{text}");

    let nowhere = call("Atlantis/Capital").await.unwrap();
    assert_eq!(nowhere.is_error, Some(true), "a tool error the model can read, not a protocol error");
    assert!(nowhere.content[0].as_text().unwrap().text.contains("unknown timezone"));

    let wait = |seconds: f64| {
        let mut params = CallToolRequestParams::new("wait");
        params.arguments = json!({ "seconds": seconds }).as_object().cloned();
        client.call_tool(params)
    };
    let waited = wait(0.05).await.unwrap();
    assert_eq!(waited.content[0].as_text().unwrap().text, "waited 0.05 seconds");
    let refused = wait(61.0).await.unwrap();
    assert_eq!(refused.is_error, Some(true));
    assert!(refused.content[0].as_text().unwrap().text.contains("from 0 to 60"));

    // Started without an auth server, it does not know who calls, and says so.
    let whoami = client.call_tool(CallToolRequestParams::new("whoami")).await.unwrap();
    assert_eq!(whoami.is_error, Some(true));
    assert!(whoami.content[0].as_text().unwrap().text.contains("without --issuer"));
    client.cancel().await.unwrap();
}
