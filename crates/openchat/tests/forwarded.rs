//! `X-Forwarded-For` behind a proxy on a server bound to `[::]`: IPv4 peers arrive as
//! IPv4-mapped IPv6 addresses and must still match `trusted_proxies` written as IPv4; a proxy
//! header from a peer that is not trusted is ignored, with one warning.

mod support;

use common::testing::temp_dir;
use reqwest::StatusCode;
use support::Setup;

async fn failed_login(server: &support::Server, forwarded_for: &str) -> StatusCode {
    server
        .client
        .post(format!("{}/auth/token", server.auth))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("username", "nobody"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap()
        .status()
}

fn setup(trusted: &str) -> (Setup, std::path::PathBuf) {
    let data = temp_dir("openchat-xff").join("data");
    let mut setup = Setup::new(&data);
    setup.set("OPENCHAT_LOCAL_MODEL", "off");
    setup.set("OPENCHAT_AUTH_HOST", "::");
    setup.set("OPENCHAT_TRUSTED_PROXIES", trusted);
    setup.set("OPENCHAT_IP_FAILURES_PER_MINUTE", "2");
    let log = data.with_extension("stderr");
    setup.stderr = Some(log.clone());
    (setup, log)
}

#[tokio::test]
async fn a_trusted_ipv4_proxy_is_recognised_on_a_dual_stack_listener() {
    let (setup, _) = setup("127.0.0.1");
    let server = setup.start().await;
    // Each client behind the proxy has its own allowance of failures.
    for _ in 0..2 {
        assert_eq!(failed_login(&server, "198.51.100.1").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(failed_login(&server, "198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(failed_login(&server, "198.51.100.2").await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_proxy_header_from_an_untrusted_peer_is_ignored_with_one_warning() {
    let (setup, log) = setup("192.0.2.1");
    let server = setup.start().await;
    // The header is ignored: all these come from the one peer, which runs out of failures.
    assert_eq!(failed_login(&server, "198.51.100.1").await, StatusCode::UNAUTHORIZED);
    assert_eq!(failed_login(&server, "198.51.100.2").await, StatusCode::UNAUTHORIZED);
    assert_eq!(failed_login(&server, "198.51.100.3").await, StatusCode::TOO_MANY_REQUESTS);
    let log = std::fs::read_to_string(log).unwrap();
    assert_eq!(
        log.matches("X-Forwarded-For came from a peer that is not in auth.trusted_proxies").count(),
        1,
        "{log}"
    );
    assert!(log.contains("127.0.0.1"), "the peer is named in IPv4 form: {log}");
}
