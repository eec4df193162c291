//! Metadata, registration and the consent page.

use super::*;

#[tokio::test]
async fn the_metadata_leads_from_the_mcp_endpoint_to_the_authorization_server() {
    let base = start(Duration::from_secs(3600)).await;
    let (status, challenge) = mcp(&base, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/mcp");
    let challenge = challenge.expect("a challenge");
    assert!(
        challenge.starts_with(&format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"mcp\", error=")),
        "{challenge}"
    );

    let resource = get_json(&metadata_url).await;
    assert_eq!(
        resource,
        json!({
            "resource": format!("{base}/mcp"),
            "authorization_servers": [base],
            "scopes_supported": ["mcp"],
            "bearer_methods_supported": ["header"],
            "resource_name": "mcp-time",
        })
    );
    let server = get_json(&format!("{base}/.well-known/oauth-authorization-server")).await;
    assert_eq!(
        server,
        json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "registration_endpoint": format!("{base}/register"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["mcp"],
        })
    );
}

#[tokio::test]
async fn registration_takes_public_clients_with_http_redirect_uris() {
    let base = start(Duration::from_secs(3600)).await;
    let url = format!("{base}/register");
    let (status, client) =
        post_json(&url, &json!({"client_name": "Chat", "redirect_uris": [CALLBACK]})).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert!(text(&client, "client_id").len() >= 43, "{client}");
    assert!(client["client_id_issued_at"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(client["client_name"], "Chat");
    assert_eq!(client["redirect_uris"], json!([CALLBACK]));
    assert_eq!(client["grant_types"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(client["response_types"], json!(["code"]));
    assert_eq!(client["token_endpoint_auth_method"], "none");

    for bad in [
        json!({}),
        json!({"redirect_uris": []}),
        json!({"redirect_uris": ["/callback"]}),
        json!({"redirect_uris": ["http://h/cb#frag"]}),
        json!({"redirect_uris": ["ftp://h/cb"]}),
    ] {
        let (status, error) = post_json(&url, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error["error"], "invalid_redirect_uri", "{bad}: {error}");
        assert!(error["error_description"].is_string());
    }
    let secret = json!({"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "client_secret_basic"});
    let (status, error) = post_json(&url, &secret).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_client_metadata")));
    let long = json!({"redirect_uris": [CALLBACK], "client_name": "x".repeat(201)});
    let (status, error) = post_json(&url, &long).await;
    assert_eq!((status, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_client_metadata")));
    assert_eq!(stats(&base).await["registrations"], 1);
}

#[tokio::test]
async fn the_consent_page_escapes_what_it_shows_and_errors_go_back_only_to_registered_uris() {
    let base = start(Duration::from_secs(3600)).await;
    let client_id = register(&base, "<script>alert(1)</script>").await;
    let params = request(&client_id, &pkce_challenge(VERIFIER));
    let authorize = |pairs: Vec<(&str, &str)>| {
        let url = format!("{base}/authorize?{}", form(&pairs));
        async move { http().get(url).send().await.unwrap() }
    };

    let page = authorize(with(&params, &[])).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let page = page.text().await.unwrap();
    assert!(page.contains("<title>Sign in to mcp-time</title>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains(r#"<form method="post" action="/authorize">"#), "{page}");
    assert!(page.contains(r#"<label for="username">Your name on mcp-time</label>"#), "{page}");
    assert!(page.contains(r#"<input name="username" id="username""#), "{page}");
    assert!(page.contains(r#"name="decision" value="allow">Allow</button>"#), "{page}");
    assert!(page.contains(r#"name="decision" value="deny""#), "{page}");
    assert!(page.contains(r#"<input type="hidden" name="state" value="st&amp;te 1">"#), "{page}");
    assert!(page.contains(&format!(r#"<input type="hidden" name="client_id" value="{client_id}">"#)));

    // Never a redirect to a URI the client did not register, nor for an unknown client.
    for refused in [
        with(&params, &[("redirect_uri", "http://127.0.0.1:9/elsewhere")]),
        with(&params, &[("redirect_uri", "")]),
        with(&params, &[("client_id", "nobody")]),
    ] {
        let response = authorize(refused.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{refused:?}");
        assert!(response.headers().get(LOCATION).is_none());
        assert!(response.text().await.unwrap().contains("not valid"));
    }

    // Other errors go back to the client, with the state.
    for (changes, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("resource", "http://127.0.0.1:9/other")], "invalid_target"),
        (vec![("scope", "mcp admin")], "invalid_scope"),
    ] {
        let response = authorize(with(&params, &changes)).await;
        let pairs = redirected(&response);
        assert_eq!(param(&pairs, "error"), Some(error), "{changes:?}");
        assert!(param(&pairs, "error_description").is_some());
        assert_eq!(param(&pairs, "state"), Some("st&te 1"));
        assert_eq!(param(&pairs, "code"), None);
    }
    let resource = format!("{base}/mcp");
    let ours = authorize(with(&params, &[("resource", &resource)])).await;
    assert_eq!(ours.status(), StatusCode::OK, "this server's resource is taken");
    assert_eq!(stats(&base).await["codes_issued"], 0);
}

#[tokio::test]
async fn a_resource_reached_through_a_proxy_is_the_one_named_and_accepted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = "https://tools.example/time/mcp";
    let options = mcp_time::oauth::Options { token_life: Duration::from_secs(60) };
    tokio::spawn(mcp_time::serve_oauth_for(listener, Duration::ZERO, options, resource));

    let metadata = get_json(&format!("{base}/.well-known/oauth-protected-resource/time/mcp")).await;
    assert_eq!(metadata["resource"], resource);
    assert_eq!(metadata["authorization_servers"], json!([base]));
    let challenge = mcp(&base, None).await.1.unwrap();
    let expected =
        "resource_metadata=\"https://tools.example/.well-known/oauth-protected-resource/time/mcp\"";
    assert!(challenge.contains(expected), "{challenge}");

    let client_id = register(&base, "Chat").await;
    let params = request(&client_id, &pkce_challenge(VERIFIER));
    let local = format!("{base}/mcp");
    for (named, status) in [(resource, StatusCode::OK), (local.as_str(), StatusCode::SEE_OTHER)] {
        let url = format!("{base}/authorize?{}", form(&with(&params, &[("resource", named)])));
        assert_eq!(http().get(url).send().await.unwrap().status(), status, "{named}");
    }
}
