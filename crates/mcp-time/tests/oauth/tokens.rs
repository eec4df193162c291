//! Codes, tokens, refresh rotation and its reuse, expiry.

use super::*;

#[tokio::test]
async fn the_user_allows_or_denies_and_a_code_gives_tokens_once() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "Chat").await;
    let params = request(&client_id, &pkce_challenge(VERIFIER));
    let authorize = format!("{base}/authorize");

    let deny = post_form(&authorize, &with(&params, &[("decision", "deny")])).await;
    let pairs = redirected(&deny);
    assert_eq!(param(&pairs, "error"), Some("access_denied"));
    assert_eq!(param(&pairs, "state"), Some("st&te 1"));
    let nameless = post_form(&authorize, &with(&params, &[("username", " "), ("decision", "allow")])).await;
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST);
    assert!(nameless.text().await.unwrap().contains("Please enter your name."));
    let tampered =
        with(&params, &[("username", "ada"), ("decision", "allow"), ("code_challenge_method", "plain")]);
    let pairs = redirected(&post_form(&authorize, &tampered).await);
    assert_eq!(param(&pairs, "error"), Some("invalid_request"), "the form is checked again");

    let code = sign_in(&base, &client_id, "Ada Lovelace").await;
    let (status, error) =
        exchange(&base, &client_id, &code, "a-wrong-verifier-that-is-long-enough-for-pkce-000").await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");
    let (status, error) = exchange(&base, "nobody", &code, VERIFIER).await;
    assert_eq!((status, &error["error"]), (StatusCode::UNAUTHORIZED, &json!("invalid_client")), "{error}");
    let (status, tokens) = exchange(&base, &client_id, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "a refused attempt does not spend the code: {tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "mcp");
    let access_token = text(&tokens, "access_token");
    assert_ne!(access_token, text(&tokens, "refresh_token"));

    // An MCP client with the token: the server knows who it is.
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(&access_token);
    let transport = StreamableHttpClientTransport::with_client(http(), config);
    let client = ().serve(transport).await.expect("the MCP handshake succeeds");
    let whoami = client.call_tool(CallToolRequestParams::new("whoami")).await.unwrap();
    assert_eq!(whoami.is_error, Some(false));
    let answer = &whoami.content[0].as_text().unwrap().text;
    assert!(answer.starts_with("You are Ada Lovelace"), "{answer}");
    client.cancel().await.unwrap();

    let (status, challenge) = mcp(&base, Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));

    // The code again: refused, and what it gave is revoked.
    let (status, error) = exchange(&base, &client_id, &code, VERIFIER).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");
    assert_eq!(mcp(&base, Some(&access_token)).await.0, StatusCode::UNAUTHORIZED);
    let (status, error) = refresh(&base, &client_id, &text(&tokens, "refresh_token")).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");
    assert_eq!(
        stats(&base).await,
        json!({"registrations": 1, "codes_issued": 1, "tokens_issued": 1, "refreshes": 0,
               "reuses_detected": 1, "families_revoked": 1})
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_refresh_token_revokes_its_family() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "Chat").await;
    let first = tokens_for(&base, &client_id, "ada").await;
    let other_family = tokens_for(&base, &client_id, "bob").await;

    let (status, second) = refresh(&base, &client_id, &text(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(text(&second, "access_token"), text(&first, "access_token"));
    assert_ne!(text(&second, "refresh_token"), text(&first, "refresh_token"));
    assert_eq!(second["expires_in"], 3600);
    assert_eq!(mcp(&base, Some(&text(&second, "access_token"))).await.0, StatusCode::OK);
    assert_eq!(
        mcp(&base, Some(&text(&first, "access_token"))).await.0,
        StatusCode::OK,
        "valid until it expires"
    );
    let (status, error) = refresh(&base, "nobody", &text(&second, "refresh_token")).await;
    assert_eq!((status, &error["error"]), (StatusCode::UNAUTHORIZED, &json!("invalid_client")));
    let (status, error) = refresh(&base, &client_id, "never-issued").await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));

    // The rotated-away token again: someone holds a copy, so the whole family goes.
    let (status, error) = refresh(&base, &client_id, &text(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error,
        json!({"error": "invalid_grant", "error_description": "refresh token reused: its family is revoked"})
    );
    assert_eq!(mcp(&base, Some(&text(&second, "access_token"))).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(mcp(&base, Some(&text(&first, "access_token"))).await.0, StatusCode::UNAUTHORIZED);
    let (status, error) = refresh(&base, &client_id, &text(&second, "refresh_token")).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{error}");

    // Another sign-in's tokens are untouched.
    assert_eq!(mcp(&base, Some(&text(&other_family, "access_token"))).await.0, StatusCode::OK);
    let (status, _) = refresh(&base, &client_id, &text(&other_family, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stats(&base).await,
        json!({"registrations": 1, "codes_issued": 2, "tokens_issued": 4, "refreshes": 2,
               "reuses_detected": 1, "families_revoked": 1})
    );
}

#[tokio::test]
async fn the_token_endpoint_explains_what_is_wrong() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "Chat").await;
    let code = sign_in(&base, &client_id, "ada").await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("client_id", &client_id)], "invalid_request"),
        (&[("grant_type", "password"), ("client_id", &client_id)], "unsupported_grant_type"),
        (
            &[("grant_type", "authorization_code"), ("client_id", &client_id), ("code", &code)],
            "invalid_request",
        ),
        (
            &[("grant_type", "refresh_token"), ("client_id", &client_id), ("resource", "http://x/mcp")],
            "invalid_target",
        ),
        (&[("grant_type", "authorization_code"), ("code", &code)], "invalid_request"),
    ];
    for (pairs, expected) in cases {
        let (status, error) = token(&base, pairs).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some(expected)), "{pairs:?}");
    }
    let json = http().post(format!("{base}/token")).header(CONTENT_TYPE, "application/json").body("{}");
    let response = json.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(error["error"], "invalid_request");
}

#[tokio::test]
async fn an_access_token_is_refused_once_it_expires() {
    let life = Duration::from_secs(2);
    let base = start(life).await;
    let client_id = register(&base, "Chat").await;
    let tokens = tokens_for(&base, &client_id, "ada").await;
    assert_eq!(tokens["expires_in"], 2);
    let access_token = text(&tokens, "access_token");
    assert_eq!(mcp(&base, Some(&access_token)).await.0, StatusCode::OK);

    tokio::time::sleep(life + Duration::from_millis(1500)).await;
    let (status, challenge) = mcp(&base, Some(&access_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    // The refresh token outlives it.
    let (status, fresh) = refresh(&base, &client_id, &text(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(mcp(&base, Some(&text(&fresh, "access_token"))).await.0, StatusCode::OK);
}
