//! Who is calling: a verified access token whose user still exists, is active, has not had
//! its tokens cut off, and whose session has not ended.
//!
//! The user and session are cached for two seconds per (user, session), so an authenticated
//! request usually costs one signature check and no query. Changes made through this process
//! clear the cache at once; changes made by another process (a second replica, the admin CLI)
//! are seen within the two seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http::ApiError;
use common::token::{AccessClaims, TokenError};

use crate::state::AppState;
use crate::store::UserRecord;

const TTL: Duration = Duration::from_secs(2);
const MAX_ENTRIES: usize = 50_000;
/// How often an unknown `kid` may trigger a key reload.
const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: Arc<UserRecord>,
    pub claims: AccessClaims,
}

struct Entry {
    fetched: Instant,
    user: Option<Arc<UserRecord>>,
    session_live: bool,
}

pub struct PrincipalCache {
    entries: Mutex<HashMap<(String, String), Entry>>,
    last_key_reload: Mutex<Option<Instant>>,
}

impl PrincipalCache {
    pub fn new() -> Self {
        Self { entries: Mutex::new(HashMap::new()), last_key_reload: Mutex::new(None) }
    }

    /// Forgets everything cached about a user (after any change to it or its sessions).
    pub fn invalidate_user(&self, user_id: &str) {
        self.entries.lock().expect("cache lock poisoned").retain(|(uid, _), _| uid != user_id);
    }

    fn get(&self, key: &(String, String)) -> Option<(Option<Arc<UserRecord>>, bool)> {
        let entries = self.entries.lock().expect("cache lock poisoned");
        entries.get(key).filter(|e| e.fetched.elapsed() < TTL).map(|e| (e.user.clone(), e.session_live))
    }

    fn put(&self, key: (String, String), user: Option<Arc<UserRecord>>, session_live: bool) {
        let mut entries = self.entries.lock().expect("cache lock poisoned");
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.fetched.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Entry { fetched: Instant::now(), user, session_live });
    }

    fn may_reload_keys(&self) -> bool {
        let mut last = self.last_key_reload.lock().expect("cache lock poisoned");
        if last.is_some_and(|at| at.elapsed() < KEY_RELOAD_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

impl Default for PrincipalCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Verifies the token and checks that its user and session are still in good standing.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let claims = verify_claims(state, token).await.map_err(invalid)?;
    let key = (claims.sub.clone(), claims.sid.clone());
    let (user, session_live) = match state.principals.get(&key) {
        Some(cached) => cached,
        None => {
            let user =
                state.db.user_by_id(&claims.sub).await.map_err(crate::accounts::store_error)?.map(Arc::new);
            let session = state.db.session(&claims.sid).await.map_err(crate::accounts::store_error)?;
            let live = session.is_some_and(|s| !s.revoked && s.user_id == claims.sub);
            state.principals.put(key, user.clone(), live);
            (user, live)
        }
    };
    let user = user.ok_or_else(|| invalid(TokenError::Revoked))?;
    if !user.is_active {
        return Err(ApiError::unauthorized("The user account is disabled", true));
    }
    if claims.iat < user.tokens_valid_after || !session_live {
        return Err(invalid(TokenError::Revoked));
    }
    Ok(Principal { user, claims })
}

/// Signature and claim checks; an unknown `kid` reloads the keys once in a while (another
/// replica may have rotated them).
pub async fn verify_claims(state: &AppState, token: &str) -> Result<AccessClaims, TokenError> {
    match state.keys.verify(token) {
        Err(TokenError::UnknownKey) if state.principals.may_reload_keys() => {
            if let Err(error) = state.keys.reload().await {
                tracing::warn!(%error, "cannot reload signing keys");
            }
            state.keys.verify(token)
        }
        other => other,
    }
}

fn invalid(error: TokenError) -> ApiError {
    ApiError::unauthorized(
        format!("Could not validate credentials: {}", lowercase_first(&error.to_string())),
        true,
    )
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}
