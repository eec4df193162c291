//! Model lists against realistic catalogues: what is offered, the default, providers that are
//! down at start-up or change their lists, and the administrator's refresh.

use std::time::Duration;

use common::config::{ProviderConfig, ProviderKind};
use fake_llm::FakeLlm;
use fake_llm::models::catalogue;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat};
use common::both_backends;

both_backends!(
    a_catalogue_of_300_offers_chat_models_and_a_sensible_default,
    the_default_and_the_offer_follow_the_configuration,
    a_provider_down_at_start_up_joins_when_it_comes_up,
    a_changed_list_is_read_on_schedule_and_on_demand,
);

fn openai(name: &str, base_url: String) -> ProviderConfig {
    ProviderConfig {
        kind: ProviderKind::Openai,
        name: Some(name.into()),
        base_url: Some(base_url),
        api_key: Some("test-key".into()),
        models: Vec::new(),
        allow: Vec::new(),
        deny: Vec::new(),
        hide_non_chat: None,
        max_tokens: None,
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

fn provider<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["providers"].as_array().unwrap().iter().find(|p| p["name"] == name).expect("the provider is listed")
}

/// A port nothing listens on (yet).
/// A port that refuses connections and stays ours (bound, not listening), so no other test's
/// server can take it before `listen` brings the provider up on it.
fn dead_port() -> tokio::net::TcpSocket {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    socket
}

async fn a_catalogue_of_300_offers_chat_models_and_a_sensible_default(backend: Backend) {
    let listed = catalogue(300, 1234);
    let app = TestChat::spawn(backend).await;
    app.fake.set_models(listed.clone());
    let admin = app.admin().await;
    let (status, models) = app.post("/api/v1/models/refresh", &admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{models}");
    let offered = ids(&models);
    assert_eq!(models["default_model"], "gpt-4.1-mini", "the preferred family's alias");
    let non_chat = [
        "whisper-1",
        "tts-1-hd",
        "text-embedding-3-small",
        "dall-e-3",
        "gpt-image-1",
        "omni-moderation-latest",
        "gpt-4o-realtime-preview",
        "gpt-4o-mini-transcribe",
        "babbage-002",
        "gpt-3.5-turbo-instruct",
        "sora-2",
    ];
    for id in non_chat {
        assert!(listed.contains(&id.to_owned()));
        assert!(!offered.contains(&id.to_owned()), "{id} is not offered");
    }
    for id in ["gpt-4o-mini", "gpt-4.1", "o3-mini", "chatgpt-4o-latest", "gpt-5"] {
        assert!(offered.contains(&id.to_owned()), "{id} is offered");
    }
    let fake = provider(&models, "fake");
    assert_eq!(fake["state"], "ok");
    assert_eq!(fake["models"].as_u64().unwrap() as usize, offered.len());
    assert_eq!(fake["models"].as_u64().unwrap() + fake["hidden_models"].as_u64().unwrap(), 300);
    let mut sorted = offered.clone();
    sorted.sort();
    assert_eq!(offered, sorted, "a stable order, whatever the provider's");
    // A conversation without a model is answered by the default.
    let token = app.user("una").await;
    let id = app.conversation(&token, "Default").await;
    app.post(&format!("/api/v1/conversations/{id}/messages"), &token, json!({"content": "hi"})).await;
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages[1]["model"], "gpt-4.1-mini");
    assert_eq!(app.fake.requests().pop().unwrap()["model"], "gpt-4.1-mini");
    // Only administrators refresh.
    let (status, body) = app.post("/api/v1/models/refresh", &token, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("administrator"), "{body}");
}

async fn the_default_and_the_offer_follow_the_configuration(backend: Backend) {
    let other = FakeLlm::start().await;
    other.set_models(catalogue(120, 9));
    let base = other.openai_base();
    let app = TestChat::spawn_with(backend, move |c| {
        c.chat.default_model = "o3-mini".into();
        let mut filtered = openai("filtered", base.clone());
        filtered.allow = vec!["gpt-4o*".into(), "o3*".into()];
        filtered.deny = vec!["*-preview*".into()];
        let mut everything = openai("everything", base);
        everything.hide_non_chat = Some(false);
        c.chat.providers = vec![filtered, everything];
    })
    .await;
    let token = app.user("vic").await;
    let (_, models) = app.get("/api/v1/models", &token).await;
    assert_eq!(models["default_model"], "o3-mini", "OPENCHAT_DEFAULT_MODEL wins");
    let filtered: Vec<_> = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["provider"] == "filtered")
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(!filtered.is_empty());
    assert!(
        filtered
            .iter()
            .all(|id| (id.starts_with("gpt-4o") || id.starts_with("o3")) && !id.contains("-preview")),
        "{filtered:?}"
    );
    assert!(!filtered.iter().any(|id| id.contains("tts") || id.contains("transcribe")));
    // The second provider lists the same ids: each goes to the first provider, the rest (the
    // non-chat ones included, as configured) to the second.
    let everything = provider(&models, "everything");
    assert_eq!(everything["hidden_models"], 0);
    assert!(ids(&models).contains(&"whisper-1".to_owned()));

    // A fixed list: offered as given, its first entry the default, the provider never asked.
    let fixed = FakeLlm::start().await;
    let base = fixed.openai_base();
    let app = TestChat::spawn_with(backend, move |c| {
        let mut listed = openai("fixed", base);
        listed.models = vec!["zeta-chat".into(), "alpha-chat".into()];
        c.chat.providers = vec![listed];
    })
    .await;
    let token = app.user("wes").await;
    let (_, models) = app.get("/api/v1/models", &token).await;
    assert_eq!(ids(&models), ["zeta-chat", "alpha-chat"]);
    assert_eq!(models["default_model"], "zeta-chat");
}

async fn a_provider_down_at_start_up_joins_when_it_comes_up(backend: Backend) {
    let socket = dead_port();
    let port = socket.local_addr().unwrap().port();
    let late_base = format!("http://127.0.0.1:{port}/v1");
    let app = TestChat::spawn_with(backend, move |c| {
        c.chat.providers.push(openai("late", late_base));
    })
    .await;
    let token = app.user("xia").await;
    let (status, models) = app.get("/api/v1/models", &token).await;
    assert_eq!(status, StatusCode::OK, "the list answers while a provider is down");
    let late = provider(&models, "late");
    assert_eq!(late["state"], "unreachable", "{late}");
    assert!(late["unreachable_since"].is_string(), "{late}");
    assert!(late["error"].as_str().unwrap().contains("reach"), "{late}");
    assert_eq!(provider(&models, "fake")["state"], "ok");
    assert_eq!(models["default_model"], "fake-model", "the default comes from the provider that answers");

    // It comes up: retried with a backoff, it joins without a restart or a refresh.
    let late = FakeLlm::serve(socket.listen(64).unwrap());
    late.set_models(vec!["late-model".into()]);
    let mut joined = Value::Null;
    for _ in 0..100 {
        let (_, models) = app.get("/api/v1/models", &token).await;
        if provider(&models, "late")["state"] == "ok" {
            joined = models;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ids(&joined).contains(&"late-model".to_owned()), "{joined}");
    assert_eq!(provider(&joined, "late")["unreachable_since"], Value::Null);
}

async fn a_changed_list_is_read_on_schedule_and_on_demand(backend: Backend) {
    let app = TestChat::spawn_with(backend, |c| c.chat.models_refresh_secs = 1).await;
    let token = app.user("yan").await;
    let id = app.conversation(&token, "Moving").await;
    app.put(&format!("/api/v1/conversations/{id}"), &token, json!({"model": "fake-model-large"})).await;

    // On schedule: a new model appears, a removed one goes.
    app.fake.set_models(vec!["fake-model".into(), "brand-new".into()]);
    let mut models = Value::Null;
    for _ in 0..50 {
        models = app.get("/api/v1/models", &token).await.1;
        if ids(&models).contains(&"brand-new".to_owned()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ids(&models), ["brand-new", "fake-model"]);
    // The conversation's model is gone: its reply fails with a sentence that says so.
    app.post(&format!("/api/v1/conversations/{id}/messages"), &token, json!({"content": "hi"})).await;
    let messages = app.settled_messages(&token, &id).await;
    assert_eq!(messages[1]["status"], "failed");
    assert!(messages[1]["error"].as_str().unwrap().contains("fake-model-large"), "{}", messages[1]);

    // On demand: the administrator's refresh answers with the new list.
    app.fake.set_models(vec!["fake-model".into(), "fake-model-large".into()]);
    let admin = app.admin().await;
    let (status, refreshed) = app.post("/api/v1/models/refresh", &admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&refreshed), ["fake-model", "fake-model-large"]);
}
