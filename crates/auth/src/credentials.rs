//! Checking a typed password under the brute-force limits. Logins and the re-authentication
//! that a password change asks for go through this one path and share its counters, so a
//! password cannot be guessed faster through one than through the other.

use std::net::IpAddr;

use common::http::ApiResult;

use crate::domain::Password;
use crate::limits::{Attempt, Throttled};
use crate::passwords::Verdict;
use crate::state::AppState;

/// Checks `password` against `stored_hash` (`None` for an account that does not exist, which
/// costs the same time and is always `Wrong`).
///
/// The attempt is checked and counted against the client's address and against
/// (`account_key`, address) in one step *before* the hash is computed, and given back on
/// success, so a burst of parallel guesses cannot slip past the limits while the hashes are
/// being computed. A throttled attempt is a 429 with `Retry-After` and a `detail`, answered at
/// once. Only the client's own failures hold it back (`limits.rs`).
pub async fn check_password(
    state: &AppState,
    ip: IpAddr,
    account_key: &str,
    stored_hash: Option<&str>,
    password: &str,
) -> ApiResult<Verdict> {
    let attempt = Attempt::new(ip, account_key);
    state.login_limits.begin(&attempt).await.map_err(Throttled::into_error)?;
    // Over-long passwords are refused without hashing them (bounded work per request); the
    // bound does not depend on the account, so it reveals nothing.
    let verdict = if password.is_empty() || password.chars().count() > Password::MAX_CHARS {
        Verdict::Wrong
    } else {
        match state.hasher.verify(password, stored_hash).await {
            Ok(verdict) => verdict,
            Err(busy) => {
                // Not checked: the attempt is given back, and the client told to come back.
                state.login_limits.cancel(&attempt).await;
                return Err(busy.into());
            }
        }
    };
    state.login_limits.finish(&attempt, matches!(verdict, Verdict::Correct { .. })).await;
    Ok(verdict)
}

/// A password change costs hashing work like a failed login, so it counts against the
/// client's allowance of failures (checked and counted in one step): a client that has used it
/// up waits (429), like its logins.
pub async fn count_password_change(state: &AppState, ip: IpAddr) -> ApiResult<()> {
    let client = crate::limits::address_key(ip);
    state.login_limits.client_begin(client).await.map_err(Throttled::into_error)
}

/// The limiter key of a name typed at login that matches no account: what was typed, bounded
/// and lowercased, so `Ghost` and `ghost` share one counter.
pub fn typed_account_key(typed: &str) -> String {
    typed.trim().to_lowercase().chars().take(64).collect()
}
