//! Function calling over real HTTP against the fake provider, in both dialects: the calls
//! arrive whole however they were split, and their results go back in each provider's shape.

use futures_util::StreamExt;
use llm::{
    AnthropicProvider, ChatMessage, ChatRequest, HttpSettings, OpenAiProvider, Provider, Role, StreamEvent,
    ToolCall, ToolResult, ToolRound, ToolSpec,
};
use serde_json::json;

fn providers(fake: &fake_llm::FakeLlm) -> Vec<Box<dyn Provider>> {
    let settings = HttpSettings::default();
    vec![
        Box::new(OpenAiProvider::new("openai", &fake.openai_base(), Some("k".into()), settings)),
        Box::new(AnthropicProvider::new("anthropic", &fake.anthropic_base(), "k".into(), settings)),
    ]
}

fn clock() -> ToolSpec {
    ToolSpec {
        name: "get_current_time".into(),
        description: "The current time in a timezone".into(),
        parameters: json!({"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}),
    }
}

fn ask(text: &str, tools: Vec<ToolSpec>, rounds: Vec<ToolRound>) -> ChatRequest {
    ChatRequest {
        model: "fake-model".into(),
        messages: vec![ChatMessage { role: Role::User, content: text.into() }],
        tools,
        rounds,
        ..ChatRequest::default()
    }
}

/// The text and the tool calls of one turn.
async fn turn(provider: &dyn Provider, request: ChatRequest) -> (String, Vec<ToolCall>) {
    let mut stream = provider.stream(request).await.expect("the provider accepts the request");
    let (mut text, mut calls) = (String::new(), Vec::new());
    while let Some(event) = stream.next().await {
        match event.expect("no error") {
            StreamEvent::Delta(delta) => text.push_str(&delta),
            StreamEvent::ToolCalls(made) => {
                assert!(calls.is_empty(), "the calls come once, whole");
                calls = made;
            }
            _ => {}
        }
    }
    (text, calls)
}

#[tokio::test]
async fn parallel_calls_split_across_chunks_arrive_whole_and_results_go_back() {
    let fake = fake_llm::FakeLlm::start().await;
    let prompt = r#"Time? [[call=get_current_time {"timezone": "Asia/Tokyo"}]] [[call=get_current_time {"timezone": "Europe/Paris"}]]"#;
    for provider in providers(&fake) {
        let (text, calls) = turn(&*provider, ask(prompt, vec![clock()], vec![])).await;
        assert_eq!(text, "", "{}: a calling turn has no text", provider.name());
        assert_eq!(calls.len(), 2, "{}: {calls:?}", provider.name());
        assert_eq!(calls[0].name, "get_current_time");
        assert_eq!(calls[0].arguments_object()["timezone"], "Asia/Tokyo");
        assert_eq!(calls[1].arguments_object()["timezone"], "Europe/Paris");
        assert_ne!(calls[0].id, calls[1].id);

        let results = vec![
            ToolResult { call_id: calls[0].id.clone(), content: "10:00 JST".into(), is_error: false },
            ToolResult { call_id: calls[1].id.clone(), content: "unknown zone".into(), is_error: true },
        ];
        let round = ToolRound { text: String::new(), calls, results };
        let (text, calls) = turn(&*provider, ask(prompt, vec![clock()], vec![round])).await;
        assert!(calls.is_empty(), "one round by default");
        let expected = match provider.name() {
            "anthropic" => "Tool results: 10:00 JST | error: unknown zone",
            _ => "Tool results: 10:00 JST | unknown zone",
        };
        assert_eq!(text, expected, "{}", provider.name());
    }
    // What went upstream: each provider's own shape for tools, calls and results.
    let requests = fake.requests();
    let openai = &requests[1];
    assert_eq!(openai["tools"][0]["function"]["name"], "get_current_time");
    assert_eq!(
        openai["messages"][1]["tool_calls"][1]["function"]["arguments"],
        r#"{"timezone": "Europe/Paris"}"#
    );
    assert_eq!(openai["messages"][2]["role"], "tool");
    assert_eq!(openai["messages"][3]["tool_call_id"], openai["messages"][1]["tool_calls"][1]["id"]);
    let anthropic = &requests[3];
    assert_eq!(anthropic["tools"][0]["input_schema"]["required"][0], "timezone");
    assert_eq!(anthropic["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(anthropic["messages"][1]["content"][0]["input"]["timezone"], "Asia/Tokyo");
    assert_eq!(anthropic["messages"][2]["content"][1]["is_error"], true);
}

#[tokio::test]
async fn a_request_without_tools_gets_text_and_offers_none() {
    let fake = fake_llm::FakeLlm::start().await;
    for provider in providers(&fake) {
        let (text, calls) = turn(&*provider, ask("Hi [[call=get_current_time]]", vec![], vec![])).await;
        assert!(calls.is_empty());
        assert_eq!(text, "Echo: Hi");
    }
    for request in fake.requests() {
        assert!(request.get("tools").is_none(), "{request}");
    }
}

#[tokio::test]
async fn the_last_round_keeps_the_tools_described_and_forbids_calls() {
    let fake = fake_llm::FakeLlm::start().await;
    let prompt = r#"Time? [[call=get_current_time {"timezone": "UTC"}]] [[rounds=9]]"#;
    for provider in providers(&fake) {
        let (_, calls) = turn(&*provider, ask(prompt, vec![clock()], vec![])).await;
        let results =
            vec![ToolResult { call_id: calls[0].id.clone(), content: "noon".into(), is_error: false }];
        let round = ToolRound { text: String::new(), calls, results };
        let request = ChatRequest { final_answer: true, ..ask(prompt, vec![clock()], vec![round]) };
        let (text, calls) = turn(&*provider, request).await;
        assert!(calls.is_empty(), "{}: no call allowed", provider.name());
        assert_eq!(text, "Tool results: noon", "{}", provider.name());
    }
    let requests = fake.requests();
    assert_eq!(requests[1]["tool_choice"], "none");
    assert_eq!(requests[1]["tools"][0]["function"]["name"], "get_current_time");
    assert_eq!(requests[3]["tool_choice"]["type"], "none");
    assert!(requests[0].get("tool_choice").is_none());
}
