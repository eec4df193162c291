//! Who the user is, for an MCP server that needs to know (`config.identity`): a token the auth
//! server mints for that server alone — an RFC 8693 exchange of the user's own token, its
//! audience the server's URL (RFC 8707 `resource`), scope `mcp`, five minutes — kept until a
//! minute before it expires. The user's own token is never sent to an MCP server (the MCP
//! authorization spec forbids passing it through), and a server's token is good nowhere else.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::mcp::McpError;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The client id the auth server knows the chat service by.
const CLIENT_ID: &str = "openchat-chat";
/// A minted token is used until this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(60);
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most tokens kept, in all and per user (a user's soonest to expire goes first); past the
/// total, expired ones are dropped and, if none, the new one is not kept.
const MAX_CACHED: usize = 4096;
const MAX_CACHED_PER_USER: usize = 32;
/// How long a failed exchange is not tried again for the same user and server (an auth server
/// that is down or slow would otherwise hold every reply and test for the timeout).
const FAILED_FOR: Duration = Duration::from_secs(10);
/// Largest answer read from the auth server.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The auth server's token endpoint and the secret the chat service presents there.
pub struct Identity {
    /// `None` when it is neither configured nor derivable (`chat.token_url`).
    token_url: Option<String>,
    secret: String,
    http: http_client::Client,
    minted: Mutex<HashMap<(String, String), Minted>>,
}

/// A token kept (and until when it is used), or an exchange that failed (until when it is not
/// tried again).
enum Minted {
    Token(String, Instant),
    Failed(McpError, Instant),
}

impl Minted {
    fn until(&self) -> Instant {
        match self {
            Minted::Token(_, until) | Minted::Failed(_, until) => *until,
        }
    }
}

#[derive(Deserialize)]
struct Exchanged {
    access_token: String,
    expires_in: u64,
}

impl Identity {
    pub fn new(token_url: Option<String>, secret: &str) -> Self {
        // The auth server is ours (often on a private address): the egress policy is for MCP
        // servers, not for it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = http_client::Client::builder()
            .timeout(EXCHANGE_TIMEOUT)
            .redirect(http_client::redirect::Policy::none())
            .no_proxy()
            .build()
            .expect("an HTTP client builds");
        Self { token_url, secret: secret.to_owned(), http, minted: Default::default() }
    }

    /// A token for `resource` (the server's URL) on behalf of the user `user_id` whose access
    /// token is `subject`.
    pub async fn token(
        &self,
        user_id: &str,
        subject: Option<&str>,
        resource: &str,
    ) -> Result<String, McpError> {
        let key = (user_id.to_owned(), resource.to_owned());
        match self.minted.lock().expect("lock poisoned").get(&key) {
            Some(Minted::Token(token, until)) if Instant::now() < *until => return Ok(token.clone()),
            Some(Minted::Failed(error, until)) if Instant::now() < *until => return Err(error.clone()),
            _ => {}
        }
        let minted = self.exchange(subject, resource).await;
        let kept = match &minted {
            Ok((token, until)) => Minted::Token(token.clone(), *until),
            Err(error) => Minted::Failed(error.clone(), Instant::now() + FAILED_FOR),
        };
        self.keep(key, kept);
        minted.map(|(token, _)| token)
    }

    fn keep(&self, key: (String, String), kept: Minted) {
        let now = Instant::now();
        let mut minted = self.minted.lock().expect("lock poisoned");
        let theirs: Vec<_> = minted.iter().filter(|((user, _), _)| *user == key.0).collect();
        if theirs.len() >= MAX_CACHED_PER_USER
            && let Some(soonest) = theirs.iter().min_by_key(|(_, m)| m.until()).map(|(k, _)| (*k).clone())
        {
            minted.remove(&soonest);
        }
        if minted.len() >= MAX_CACHED {
            minted.retain(|_, m| m.until() > now);
        }
        if minted.len() < MAX_CACHED || minted.contains_key(&key) {
            minted.insert(key, kept);
        }
    }

    /// Asks the auth server for a token of `resource`; the token and until when to use it.
    async fn exchange(&self, subject: Option<&str>, resource: &str) -> Result<(String, Instant), McpError> {
        let Some(token_url) = &self.token_url else {
            return Err(McpError::Connect(
                "the chat service does not know where the auth server mints tokens (chat.token_url)".into(),
            ));
        };
        let subject = subject.ok_or_else(|| {
            McpError::Connect(
                "the server needs to know who you are, and this request carries no sign-in".into(),
            )
        })?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("client_id", CLIENT_ID)
            .append_pair("client_secret", &self.secret)
            .append_pair("subject_token", subject)
            .append_pair("subject_token_type", ACCESS_TOKEN_TYPE)
            .append_pair("requested_token_type", ACCESS_TOKEN_TYPE)
            .append_pair("resource", resource)
            .append_pair("scope", "mcp")
            .finish();
        let unavailable =
            |why: &str| McpError::Connect(format!("the auth server could not vouch for you: {why}"));
        let response = self
            .http
            .post(token_url)
            .header(http_client::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, url = %token_url, "cannot reach the auth server's token endpoint");
                unavailable("it cannot be reached")
            })?;
        let status = response.status();
        let answer = super::oauth::read_capped(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|_| unavailable("its answer could not be read"))?;
        if status == http_client::StatusCode::BAD_REQUEST && answer.windows(13).any(|w| w == b"invalid_grant")
        {
            return Err(McpError::Connect("your sign-in has ended: sign in again".into()));
        }
        if !status.is_success() {
            tracing::warn!(%status, "the auth server refused a token exchange");
            return Err(unavailable(&format!("it answered {}", status.as_u16())));
        }
        let exchanged: Exchanged =
            serde_json::from_slice(&answer).map_err(|_| unavailable("its answer is not a token"))?;
        let until = Instant::now() + Duration::from_secs(exchanged.expires_in).saturating_sub(RENEW_BEFORE);
        Ok((exchanged.access_token, until))
    }
}
