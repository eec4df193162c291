//! `GET /api/v1/search`: words in titles and message text, only the caller's own.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat, status_json};
use common::both_backends;

both_backends!(
    search_finds_words_in_messages_and_titles,
    search_takes_like_metacharacters_literally,
    search_follows_replies_archives_and_deletes,
    search_input_is_validated_and_bounded,
);

async fn search(app: &TestChat, token: &str, q: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut url = reqwest::Url::parse(&app.url("/api/v1/search")).unwrap();
    url.query_pairs_mut().append_pair("q", q).extend_pairs(extra);
    status_json(app.client.get(url).bearer_auth(token).send().await.unwrap()).await
}

/// The titles of the conversations found, in order.
async fn titles(app: &TestChat, token: &str, q: &str) -> Vec<String> {
    titles_with(app, token, q, &[]).await
}

async fn titles_with(app: &TestChat, token: &str, q: &str, extra: &[(&str, &str)]) -> Vec<String> {
    let (status, body) = search(app, token, q, extra).await;
    assert_eq!(status, StatusCode::OK, "{q}: {body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["conversation"]["title"].as_str().unwrap().to_owned())
        .collect()
}

/// Stores a user message without a reply; returns its id. A moment passes first, so that
/// activity times (milliseconds) tell the messages apart.
async fn store(app: &TestChat, token: &str, conversation: &str, content: &str) -> String {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/conversations/{conversation}/messages"),
            token,
            json!({"content": content, "generate": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn search_finds_words_in_messages_and_titles(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let trip = app.conversation(&alice, "Trip ideas").await;
    store(&app, &alice, &trip, "What is the capital of France?").await;
    store(&app, &alice, &trip, "Tell me about Lyon").await;
    let newest = store(&app, &alice, &trip, "And the CAPITAL of Italy?").await;
    let cooking = app.conversation(&alice, "Cooking").await;
    store(&app, &alice, &cooking, "A recipe for crème brûlée, please").await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    app.conversation(&alice, "Capital gains").await;
    let bobs = app.conversation(&bob, "Bob's trip").await;
    store(&app, &bob, &bobs, "the capital of France").await;

    let (status, found) = search(&app, &alice, "capital", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let results = found["results"].as_array().unwrap();
    // Newest activity first; only Alice's.
    assert_eq!(results.len(), 2, "{found}");
    assert_eq!(results[0]["conversation"]["title"], "Capital gains");
    assert_eq!(results[0]["message_id"], json!(null));
    assert_eq!(results[0]["snippet"], json!(null));
    assert_eq!(results[1]["conversation"]["id"], trip.as_str());
    // The newest matching message, with its text around the match.
    assert_eq!(results[1]["message_id"], newest.as_str());
    assert_eq!(results[1]["role"], "user");
    assert_eq!(results[1]["snippet"], "And the CAPITAL of Italy?");

    // Every word, in any case, in one message (or in the title).
    assert_eq!(titles(&app, &alice, "FRANCE capital").await, ["Trip ideas"]);
    assert_eq!(titles(&app, &alice, "france lyon").await, Vec::<String>::new());
    assert_eq!(titles(&app, &alice, "gains capital").await, ["Capital gains"]);
    // Anywhere, also inside a word; short words too; non-ASCII text.
    assert_eq!(titles(&app, &alice, "apita ly").await, ["Trip ideas"]);
    assert_eq!(titles(&app, &alice, "of").await, ["Trip ideas"]);
    assert_eq!(titles(&app, &alice, "brûlée").await, ["Cooking"]);
    assert_eq!(titles(&app, &alice, "crème brû").await, ["Cooking"]);
    assert_eq!(titles(&app, &bob, "capital").await, ["Bob's trip"]);
    assert_eq!(titles(&app, &alice, "Bob").await, Vec::<String>::new());

    // A long message is cut around the match.
    let long = format!("{} the needle is here {}", "filler ".repeat(100), "more ".repeat(100));
    let haystack = app.conversation(&alice, "Haystack").await;
    store(&app, &alice, &haystack, &long).await;
    let (_, found) = search(&app, &alice, "needle", &[]).await;
    let snippet = found["results"][0]["snippet"].as_str().unwrap();
    assert!(snippet.starts_with('…') && snippet.ends_with('…') && snippet.contains("the needle is here"));
    assert!(snippet.chars().count() <= 162, "{snippet}");
}

async fn search_takes_like_metacharacters_literally(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("carol").await;
    for (title, text) in [
        ("percent", "Prices are 50% off today"),
        ("no percent", "Prices are 50x off today"),
        ("underscore", "the variable snake_case here"),
        ("no underscore", "the variable snakeXcase here"),
        ("backslash", r"a path C:\temp\new"),
        ("no backslash", "a path C:/temp/new"),
        ("quotes", r#"she said "hello" twice"#),
    ] {
        let id = app.conversation(&token, title).await;
        store(&app, &token, &id, text).await;
    }
    assert_eq!(titles(&app, &token, "50%").await, ["percent"]);
    assert_eq!(titles(&app, &token, "0% o").await, ["percent"]);
    assert_eq!(titles(&app, &token, "%").await, ["percent"]);
    assert_eq!(titles(&app, &token, "e_c").await, ["underscore"]);
    assert_eq!(titles(&app, &token, "_").await, ["underscore"]);
    assert_eq!(titles(&app, &token, r"C:\temp").await, ["backslash"]);
    assert_eq!(titles(&app, &token, r"\").await, ["backslash"]);
    assert_eq!(titles(&app, &token, r#""hello""#).await, ["quotes"]);
    assert_eq!(titles(&app, &token, r#"""#).await, ["quotes"]);
    // Words that look like the index's query syntax are words.
    assert_eq!(titles(&app, &token, "OR NOT").await, Vec::<String>::new());
    assert_eq!(titles(&app, &token, "hello*").await, Vec::<String>::new());
}

async fn search_follows_replies_archives_and_deletes(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("dave").await;
    let answered = app.conversation(&token, "Answered").await;
    // The reply is stored empty and written as it streams: its final text is found.
    app.post(
        &format!("/api/v1/conversations/{answered}/messages"),
        &token,
        json!({"content": "Count for me [[words=12]]"}),
    )
    .await;
    app.settled_messages(&token, &answered).await;
    let (_, found) = search(&app, &token, "w11 w12", &[]).await;
    assert_eq!(found["results"][0]["role"], "assistant", "{found}");
    assert_eq!(found["results"][0]["snippet"], "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12");
    let (_, found) = search(&app, &token, "count", &[]).await;
    assert_eq!(found["results"][0]["role"], "user");

    let archived = app.conversation(&token, "Old").await;
    store(&app, &token, &archived, "count the sheep").await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    app.put(&format!("/api/v1/conversations/{archived}"), &token, json!({"archived": true})).await;
    assert_eq!(titles(&app, &token, "count").await, ["Old", "Answered"]);
    assert_eq!(titles_with(&app, &token, "count", &[("archived", "true")]).await, ["Old"]);
    assert_eq!(titles_with(&app, &token, "count", &[("archived", "false")]).await, ["Answered"]);

    assert_eq!(
        app.delete(&format!("/api/v1/conversations/{archived}"), &token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(titles(&app, &token, "sheep").await, Vec::<String>::new());
    assert_eq!(titles(&app, &token, "count").await, ["Answered"]);

    let (_, limited) = search(&app, &token, "w1", &[("limit", "1")]).await;
    assert_eq!(limited["results"].as_array().unwrap().len(), 1);
}

async fn search_input_is_validated_and_bounded(backend: Backend) {
    let app = TestChat::spawn(backend).await;
    let token = app.user("erin").await;
    let eleven = (1..=11).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    let cases: [(&str, &[(&str, &str)]); 8] = [
        ("", &[]),
        ("   ", &[]),
        (&"x".repeat(201), &[]),
        (&eleven, &[]),
        ("a\u{0}b", &[]),
        ("ok", &[("limit", "0")]),
        ("ok", &[("limit", "101")]),
        ("ok", &[("archived", "maybe")]),
    ];
    for (q, extra) in cases {
        let (status, body) = search(&app, &token, q, extra).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q:.20} {extra:?}: {body}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let (status, body) = app.get("/api/v1/search", &token).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["detail"].as_str().unwrap().contains('q'));
    // At the bounds it works.
    let ten = (1..=10).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    assert_eq!(search(&app, &token, &ten, &[]).await.0, StatusCode::OK);
    assert_eq!(search(&app, &token, &"x".repeat(200), &[("limit", "100")]).await.0, StatusCode::OK);
    // Every word counts towards the ten, repeated or not (as the document's pattern says).
    assert_eq!(search(&app, &token, &"same ".repeat(10), &[]).await.0, StatusCode::OK);
    assert_eq!(search(&app, &token, &"same ".repeat(11), &[]).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let response = app.client.get(app.url("/api/v1/search?q=x")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let openapi: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/v1/search"]["get"].is_object());
    assert!(openapi["paths"]["/api/v1/settings"]["put"].is_object());
}

/// An existing PostgreSQL database gets its search index on the first start that has it.
/// (SQLite has none: see docs/architecture.md.)
#[tokio::test]
async fn postgres_gets_the_search_index_on_an_existing_database() {
    let app = TestChat::spawn(Backend::Postgres).await;
    let token = app.user("frank").await;
    let id = app.conversation(&token, "Before").await;
    store(&app, &token, &id, "an ancient manuscript").await;
    let (config, fake) = app.stop().await;

    // Take the index away again, as if this database predated it.
    sqlx::any::install_default_drivers();
    let index = "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'messages_content_trgm'";
    let pool = sqlx::AnyPool::connect(&config.chat.database_url).await.unwrap();
    assert_eq!(sqlx::query_scalar::<_, i64>(index).fetch_one(&pool).await.unwrap(), 1);
    sqlx::raw_sql("DROP INDEX messages_content_trgm; DROP TABLE _sqlx_postgres_migrations;")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let app = TestChat::start(config, fake).await;
    let pool = sqlx::AnyPool::connect(&app.config.chat.database_url).await.unwrap();
    assert_eq!(sqlx::query_scalar::<_, i64>(index).fetch_one(&pool).await.unwrap(), 1);
    let token = app.login("frank").await;
    assert_eq!(titles(&app, &token, "manuscript").await, ["Before"]);
    store(&app, &token, &id, "a modern novel").await;
    assert_eq!(titles(&app, &token, "novel").await, ["Before"]);
}
