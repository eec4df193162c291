//! Users' own sign-ins to MCP servers that require one (`config.oauth`), as the MCP
//! authorization spec asks: OAuth 2.1, authorization code with PKCE (S256), the server's URL as
//! the `resource` (RFC 8707). The chat service discovers the server's authorization server and
//! registers with it ([`discovery`]); a user's "Connect" sends their browser there, and the web
//! UI hands the code back ([`SignIns::finish`]) — to the replica it reaches, so what a sign-in
//! under way needs is in the database, bound to the user who began it. Tokens are stored
//! sealed; an access token about to expire is refreshed under a lock held across the cluster,
//! so a refresh token is never redeemed twice (an authorization server that rotates them
//! revokes the whole family when one is reused).

mod discovery;
mod renew;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

pub use discovery::read_capped;

use super::secrets::Sealer;
use crate::cluster::Cluster;
use crate::store::{Db, McpServerRecord, OAuthClientRecord, OAuthPendingRecord, OAuthTokenRecord};

/// The web UI's page an authorization server sends the browser back to.
pub const CALLBACK_PATH: &str = "/tools/connected";
/// How long a sign-in may take, from "Connect" to the code's return.
const PENDING_FOR_MS: i64 = 10 * 60 * 1000;
/// Why a sign-in failed; the message is safe to show to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The authorization server cannot be reached (or the egress policy forbids it).
    #[error("{0}")]
    Unreachable(String),
    /// It answered something that is not what OAuth asks.
    #[error("{0}")]
    Invalid(String),
    /// It refused.
    #[error("the authorization server refused {0}")]
    Refused(String),
    #[error("{0} could not be found")]
    NoMetadata(String),
    #[error("this sign-in is unknown, was already used, or took longer than ten minutes: connect again")]
    UnknownState,
    #[error("the sign-in must come back to one of the web UI's addresses (chat.cors_origins)")]
    RedirectNotAllowed,
    #[error("sign in to this server first (Connect, on the Tools page)")]
    NotSignedIn,
    #[error("your sign-in to this server has ended: connect again on the Tools page")]
    Ended,
    #[error("your sign-in to this server could not be renewed just now: try again in a moment")]
    Busy,
    /// The database failed (logged; the message says no more).
    #[error("the sign-in could not be read or stored: try again")]
    Store,
}

fn store_failed(e: crate::store::StoreError) -> OAuthError {
    tracing::error!(error = %e, "an MCP sign-in could not be read or stored");
    OAuthError::Store
}

/// The token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct Granted {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

/// The users' sign-ins of this process.
pub struct SignIns {
    db: Db,
    sealer: Arc<Sealer>,
    client: discovery::Client,
    cluster: Option<Arc<Cluster>>,
    /// Where a sign-in may come back to: [`CALLBACK_PATH`] on each web UI origin.
    redirect_uris: Vec<String>,
    /// One refresh at a time per server and user in this process (the cluster's lock orders
    /// the replicas).
    refreshing: Mutex<HashMap<(String, String), Weak<RefreshLock>>>,
}

/// Held while a process renews one user's tokens for one server.
type RefreshLock = tokio::sync::Mutex<()>;

impl SignIns {
    pub fn new(
        db: Db,
        sealer: Arc<Sealer>,
        egress: super::egress::Egress,
        cluster: Option<Arc<Cluster>>,
        web_origins: &[String],
    ) -> Self {
        let redirect_uris =
            web_origins.iter().map(|o| format!("{}{CALLBACK_PATH}", o.trim_end_matches('/'))).collect();
        Self {
            db,
            sealer,
            client: discovery::Client::new(egress),
            cluster,
            redirect_uris,
            refreshing: Mutex::default(),
        }
    }

    /// Begins `user`'s sign-in to `server`: the address to send their browser to, which comes
    /// back to `redirect_uri` (one of the web UI's).
    pub async fn start(
        &self,
        server: &McpServerRecord,
        user: &str,
        redirect_uri: &str,
    ) -> Result<String, OAuthError> {
        if !self.redirect_uris.iter().any(|uri| uri == redirect_uri) {
            return Err(OAuthError::RedirectNotAllowed);
        }
        let client = self.client_for(server, redirect_uri).await?;
        let verifier = URL_SAFE_NO_PAD.encode(common::ids::random_bytes::<32>());
        let state = URL_SAFE_NO_PAD.encode(common::ids::random_bytes::<32>());
        let state_hash = sha256(&state);
        let now = common::clock::now_millis();
        let pending = OAuthPendingRecord {
            verifier: self.sealer.seal(&verifier_context(&state_hash, user, &server.id), &verifier),
            state: state_hash,
            server_id: server.id.clone(),
            user_id: user.to_owned(),
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            created_at: now,
        };
        if !self.db.put_oauth_pending(&pending, now - PENDING_FOR_MS).await.map_err(store_failed)? {
            return Err(OAuthError::UnknownState);
        }
        let mut url = self.client.check(&client.authorization_endpoint)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &client.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("code_challenge", &sha256(&verifier))
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &state)
                .append_pair("resource", &server.server_url);
            if let Some(scope) = &client.scope {
                query.append_pair("scope", scope);
            }
        }
        Ok(url.into())
    }

    /// Ends a sign-in: redeems the code the authorization server gave `user`'s browser for
    /// `state`; the server signed in to. The server must still ask for sign-ins, be usable by
    /// the user (`roles`), be at the address and have the client the sign-in began with.
    pub async fn finish(
        &self,
        user: &str,
        roles: &[String],
        state: &str,
        code: &str,
    ) -> Result<String, OAuthError> {
        let pending = self
            .db
            .take_oauth_pending(&sha256(state), user)
            .await
            .map_err(store_failed)?
            .ok_or(OAuthError::UnknownState)?;
        if pending.created_at < common::clock::now_millis() - PENDING_FOR_MS {
            return Err(OAuthError::UnknownState);
        }
        let server = self
            .db
            .mcp_server(&pending.server_id)
            .await
            .map_err(store_failed)?
            .filter(|s| s.usable_by(user, roles) && super::config_of(s).oauth == Some(true))
            .ok_or(OAuthError::UnknownState)?;
        let client = self
            .db
            .oauth_client(&server.id)
            .await
            .map_err(store_failed)?
            .filter(|c| c.client_id == pending.client_id && c.server_url == server.server_url)
            .ok_or(OAuthError::UnknownState)?;
        let verifier = self
            .sealer
            .open(&verifier_context(&pending.state, user, &server.id), &pending.verifier)
            .map_err(|_| OAuthError::UnknownState)?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", pending.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
            ("resource", server.server_url.as_str()),
        ];
        let secret = self.client_secret(&client)?;
        form.extend(credentials(&client.client_id, secret.as_deref()));
        let granted = self.grant(&client.token_endpoint, &form, "the sign-in").await?;
        let tokens = self.sealed(&server, &client.client_id, user, granted, None);
        if !self.db.put_oauth_tokens(&server.id, user, &tokens).await.map_err(store_failed)? {
            return Err(OAuthError::UnknownState);
        }
        Ok(server.id)
    }

    /// Forgets `user`'s sign-in to a server; whether there was one.
    pub async fn sign_out(&self, server_id: &str, user: &str) -> Result<bool, OAuthError> {
        self.db.delete_oauth_tokens(server_id, user).await.map_err(store_failed)
    }

    /// Posts to the token endpoint; a code or refresh token it no longer takes (`invalid_grant`)
    /// is [`OAuthError::Ended`].
    async fn grant(
        &self,
        token_endpoint: &str,
        form: &[(&str, &str)],
        what: &str,
    ) -> Result<Granted, OAuthError> {
        let answer = self.client.post_form(token_endpoint, form, what).await?;
        if discovery::error_code(&answer).as_deref() == Some("invalid_grant") {
            return Err(OAuthError::Ended);
        }
        if !answer.status.is_success() {
            return Err(OAuthError::Refused(format!("{what}: {}", discovery::oauth_error(&answer))));
        }
        let granted: Granted = serde_json::from_slice(&answer.body)
            .map_err(|_| OAuthError::Invalid(format!("{what}: the answer is not a token")))?;
        if !granted.token_type.eq_ignore_ascii_case("bearer") {
            return Err(OAuthError::Invalid(format!("{what}: the token is not a bearer token")));
        }
        Ok(granted)
    }

    /// Granted tokens as stored (sealed); a grant without a refresh token keeps `old_refresh`.
    fn sealed(
        &self,
        server: &McpServerRecord,
        client_id: &str,
        user: &str,
        granted: Granted,
        old_refresh: Option<String>,
    ) -> OAuthTokenRecord {
        let now = common::clock::now_millis();
        let context = |kind: &str| token_context(&server.id, user, kind);
        let life_ms = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX / 2).saturating_mul(1000);
        OAuthTokenRecord {
            server_url: server.server_url.clone(),
            client_id: client_id.to_owned(),
            access_token: self.sealer.seal(&context("access"), &granted.access_token),
            refresh_token: granted
                .refresh_token
                .map(|t| self.sealer.seal(&context("refresh"), &t))
                .or(old_refresh),
            expires_at: granted.expires_in.map(|s| now.saturating_add(life_ms(s))),
            updated_at: now,
        }
    }

    fn open(&self, server_id: &str, user: &str, kind: &str, sealed: &str) -> Result<String, OAuthError> {
        self.sealer.open(&token_context(server_id, user, kind), sealed).map_err(|_| OAuthError::Ended)
    }

    fn client_secret(&self, client: &OAuthClientRecord) -> Result<Option<String>, OAuthError> {
        client
            .client_secret
            .as_ref()
            .map(|sealed| {
                self.sealer
                    .open(&client_context(&client.server_id), sealed)
                    .map_err(|_| OAuthError::UnknownState)
            })
            .transpose()
    }

    /// The client registered for `server`, registering one if there is none for its current
    /// address and `redirect_uri`. Two sign-ins registering at once keep the first's client.
    async fn client_for(
        &self,
        server: &McpServerRecord,
        redirect_uri: &str,
    ) -> Result<OAuthClientRecord, OAuthError> {
        let stored = self.db.oauth_client(&server.id).await.map_err(store_failed)?;
        if let Some(client) = &stored
            && client.server_url == server.server_url
            && client.redirect_uris.split(' ').any(|uri| uri == redirect_uri)
        {
            return Ok(client.clone());
        }
        let endpoints = self.client.discover(&server.server_url).await?;
        let registered = self.client.register(&endpoints, &self.redirect_uris).await?;
        let client = OAuthClientRecord {
            server_id: server.id.clone(),
            server_url: server.server_url.clone(),
            issuer: endpoints.issuer,
            authorization_endpoint: endpoints.authorization_endpoint,
            token_endpoint: endpoints.token_endpoint,
            client_id: registered.client_id,
            client_secret: registered
                .client_secret
                .map(|s| self.sealer.seal(&client_context(&server.id), &s)),
            redirect_uris: self.redirect_uris.join(" "),
            scope: endpoints.scope,
            created_at: common::clock::now_millis(),
        };
        let kept = match &stored {
            None => self.db.insert_oauth_client(&client).await,
            Some(old) => self.db.replace_oauth_client(&client, &old.client_id).await,
        };
        if kept.map_err(store_failed)? {
            return Ok(client);
        }
        // Another sign-in registered meanwhile: its client is the one to use.
        match self.db.oauth_client(&server.id).await.map_err(store_failed)? {
            Some(theirs) if theirs.server_url == server.server_url => Ok(theirs),
            _ => Err(OAuthError::UnknownState),
        }
    }
}

/// What a sealed value is bound to (AES-GCM associated data), so one copied to another row or
/// column does not open.
fn token_context(server_id: &str, user: &str, kind: &str) -> String {
    format!("{server_id}:{user}:{kind}")
}

fn client_context(server_id: &str) -> String {
    format!("{server_id}:oauth-client")
}

fn verifier_context(state_hash: &str, user: &str, server_id: &str) -> String {
    format!("pending:{state_hash}:{user}:{server_id}")
}

/// The client's credentials as a token request carries them (`client_secret_post` when it has
/// a secret).
fn credentials<'a>(client_id: &'a str, secret: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![("client_id", client_id)];
    if let Some(secret) = secret {
        fields.push(("client_secret", secret));
    }
    fields
}

/// BASE64URL(SHA-256(text)): a PKCE challenge (RFC 7636 §4.2), and how a state is stored.
fn sha256(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_challenge_is_the_one_rfc_7636_computes() {
        // RFC 7636, Appendix B.
        assert_eq!(
            super::sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
