//! Using a sign-in: the user's access token for a server, renewed once in the whole cluster
//! when it is about to expire.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{OAuthError, SignIns, credentials, store_failed};
use crate::cluster::locks::Locked;
use crate::store::{McpServerRecord, OAuthTokenRecord};

/// An access token is refreshed this long before it expires (at most).
const RENEW_BEFORE_MS: i64 = 60 * 1000;
/// A refresh holds the cluster's lock at most this long, and a replica waits at most this long
/// for another's refresh.
const REFRESH_LOCK_TTL: Duration = Duration::from_secs(30);
const REFRESH_LOCK_WAIT: Duration = Duration::from_secs(20);
/// A refresh's request starts within this long of taking the lock, or not at all: then it ends
/// (within `discovery::REQUEST_TIMEOUT`) with time left to store its result before the lock
/// expires and another replica may redeem the same refresh token.
const SEND_WITHIN: Duration = Duration::from_secs(12);

impl SignIns {
    /// `user`'s access token for a server, refreshed first if it is about to expire.
    pub async fn access_token(&self, server: &McpServerRecord, user: &str) -> Result<String, OAuthError> {
        let tokens = self.tokens(server, user).await?;
        if !expiring(&tokens) {
            return self.open(&server.id, user, "access", &tokens.access_token);
        }
        self.refresh(server, user, tokens.updated_at).await
    }

    /// `user`'s tokens for the server at its current address.
    async fn tokens(&self, server: &McpServerRecord, user: &str) -> Result<OAuthTokenRecord, OAuthError> {
        let tokens = self
            .db
            .oauth_tokens(&server.id, user)
            .await
            .map_err(store_failed)?
            .ok_or(OAuthError::NotSignedIn)?;
        if tokens.server_url != server.server_url {
            // Granted for an address the server has left: never sent to the new one.
            self.sign_out(&server.id, user).await?;
            return Err(OAuthError::NotSignedIn);
        }
        Ok(tokens)
    }

    /// Redeems the refresh token, once in the whole cluster: the first to take the lock does,
    /// the others find its result stored (a row changed since `seen`).
    async fn refresh(&self, server: &McpServerRecord, user: &str, seen: i64) -> Result<String, OAuthError> {
        let key = (server.id.clone(), user.to_owned());
        let local = {
            let mut refreshing = self.refreshing.lock().expect("lock poisoned");
            refreshing.retain(|_, lock| lock.strong_count() > 0);
            let lock = refreshing.get(&key).and_then(Weak::upgrade).unwrap_or_default();
            refreshing.insert(key, Arc::downgrade(&lock));
            lock
        };
        let _local = local.lock().await;
        let _cluster = match &self.cluster {
            None => None,
            Some(cluster) => {
                let name = format!("mcp-refresh:{}:{user}", server.id);
                match cluster.lock(&name, REFRESH_LOCK_TTL, REFRESH_LOCK_WAIT).await {
                    Locked::Held(lock) => Some(lock),
                    // Never redeem without the lock: a second redemption would end the sign-in.
                    Locked::Busy | Locked::Unavailable => return Err(OAuthError::Busy),
                }
            }
        };
        // The lock is held for REFRESH_LOCK_TTL at most: the request starts only while it
        // can end, and its result be stored, well before another replica may take the lock.
        let send_by = tokio::time::Instant::now() + SEND_WITHIN;
        let tokens = self.tokens(server, user).await?;
        if tokens.updated_at != seen && !expiring(&tokens) {
            return self.open(&server.id, user, "access", &tokens.access_token);
        }
        let Some(sealed) = &tokens.refresh_token else {
            self.sign_out(&server.id, user).await?;
            return Err(OAuthError::Ended);
        };
        let refresh_token = self.open(&server.id, user, "refresh", sealed)?;
        let client =
            self.db.oauth_client(&server.id).await.map_err(store_failed)?.ok_or(OAuthError::Ended)?;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("resource", server.server_url.as_str()),
        ];
        // Tokens are renewed by the client they were granted to (a public one needs only its
        // id; one re-registered since cannot present the old one's secret).
        let secret = match client.client_id == tokens.client_id {
            true => self.client_secret(&client)?,
            false => None,
        };
        form.extend(credentials(&tokens.client_id, secret.as_deref()));
        if tokio::time::Instant::now() > send_by {
            return Err(OAuthError::Busy);
        }
        let granted = match self.grant(&client.token_endpoint, &form, "the renewal of your sign-in").await {
            Ok(granted) => granted,
            Err(OAuthError::Ended) => {
                self.sign_out(&server.id, user).await?;
                return Err(OAuthError::Ended);
            }
            Err(e) => return Err(e),
        };
        let access = granted.access_token.clone();
        let renewed = self.sealed(server, &tokens.client_id, user, granted, Some(sealed.clone()));
        let stored = self.db.renew_oauth_tokens(&server.id, user, &renewed, tokens.updated_at);
        if !stored.await.map_err(store_failed)? {
            // Signed out, or in again, meanwhile: what was renewed is dropped.
            return Err(OAuthError::NotSignedIn);
        }
        Ok(access)
    }
}

/// Whether an access token expires within [`RENEW_BEFORE_MS`], or within half its life if that
/// is shorter (one without an expiry never does, until the server refuses it).
fn expiring(tokens: &OAuthTokenRecord) -> bool {
    tokens.expires_at.is_some_and(|at| {
        let life = (at - tokens.updated_at).max(0);
        at - RENEW_BEFORE_MS.min(life / 2) <= common::clock::now_millis()
    })
}
