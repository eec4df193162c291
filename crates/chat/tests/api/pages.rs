//! Large-response amplification: a page of messages is bounded in bytes as well as in count,
//! and stays a valid page: the `Link` header leads through every message exactly once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestChat, status_json};
use common::both_backends;

both_backends!(a_page_of_messages_is_bounded_in_bytes_and_pages_on);

/// One page: the messages and the `Link` header's next path, if any.
async fn page(app: &TestChat, token: &str, path: &str) -> (Vec<Value>, Option<String>) {
    let response = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let link = response.headers().get("link").map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = status_json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = link.map(|link| {
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        link.trim_start_matches('<').split('>').next().unwrap().to_owned()
    });
    (body.as_array().unwrap().clone(), next)
}

async fn a_page_of_messages_is_bounded_in_bytes_and_pages_on(backend: Backend) {
    let app = TestChat::spawn_with(backend, |c| c.chat.max_page_bytes = 10_000).await;
    let token = app.user("pager").await;
    let id = app.conversation(&token, "Big").await;
    let mut posted = Vec::new();
    for i in 0..9 {
        let content = format!("{i}{}", "é".repeat(1_500)); // 3 001 bytes
        let (status, body) = app
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                &token,
                json!({"content": content, "generate": false}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        posted.push(body["id"].as_str().unwrap().to_owned());
    }
    // A message larger than a whole page still comes, alone on its page.
    let (status, body) = app
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            &token,
            json!({"content": "z".repeat(20_000), "generate": false}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    posted.push(body["id"].as_str().unwrap().to_owned());

    let path = format!("/api/v1/conversations/{id}/messages");
    let (first, next) = page(&app, &token, &path).await;
    assert_eq!(first.len(), 1, "the 20 000-byte message fills the page alone");
    let mut next = next.expect("older messages remain");
    let mut pages = vec![first];
    loop {
        let (messages, more) = page(&app, &token, &next).await;
        let bytes: usize = messages.iter().map(|m| m["content"].as_str().unwrap().len()).sum();
        assert!(bytes <= 10_000, "{bytes} bytes in a page");
        assert!(!messages.is_empty());
        pages.push(messages);
        match more {
            Some(more) => next = more,
            None => break,
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [1, 3, 3, 3]);
    let seen: Vec<String> =
        pages.iter().rev().flatten().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(seen, posted, "every message once, in order");

    // The count limit still applies, with the same Link.
    let (two, more) = page(&app, &token, &format!("{path}?limit=2&before={}", posted[9])).await;
    assert_eq!(two.iter().map(|m| m["id"].as_str().unwrap()).collect::<Vec<_>>(), [&posted[7], &posted[8]]);
    assert_eq!(more.unwrap(), format!("{path}?before={}&limit=2", posted[7]));
    let (all_small, more) = page(&app, &token, &format!("{path}?limit=3&before={}", posted[3])).await;
    assert_eq!(all_small.len(), 3);
    assert_eq!(more, None, "nothing older than the first message");
}
