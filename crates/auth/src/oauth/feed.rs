//! The revocation feed for resource servers.
//!
//! Resource servers verify access tokens locally (JWKS), so without help they would accept a
//! token until it expires. They poll this feed every few seconds instead and refuse tokens of
//! users whose cut-off moved (password change, role change, disabling, deletion) and of ended
//! sessions. It holds only random ids and instants, never names, and only resource servers
//! may read it: they present the shared secret (`OPENCHAT_REVOCATIONS_SECRET`, or the one
//! generated in the data directory) as a bearer token. Comparing SHA-256 digests keeps the
//! comparison's timing independent of the secret.

use axum::extract::State;
use common::http::{ApiError, ApiResult, Json, Query};
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// Entries kept and served: longer than any access token lives.
pub const WINDOW_MS: i64 = 2 * 3600 * 1000;
const PAGE: i64 = 5000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Unix milliseconds; entries recorded at or after it (default: the whole window).
    since: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feed {
    /// Pass the `next` of one answer as the `since` of the next poll.
    pub next: i64,
    pub revocations: Vec<Revocation>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Revocation {
    /// `user`: tokens of `subject` (a user id) issued before `not_before` (unix seconds) are void.
    /// `session`: tokens of session `subject` are void.
    pub kind: String,
    pub subject: String,
    pub not_before: i64,
}

/// Token cut-offs recorded since `since`.
#[utoipa::path(get, path = "/auth/revocations", tag = "oauth", params(FeedParams),
    security(("bearer" = [])),
    responses((status = 200, body = Feed), (status = 401, body = api_types::error::ErrorBody, description = "No or a wrong secret")))]
pub async fn revocations(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(params): Query<FeedParams>,
) -> ApiResult<Json<Feed>> {
    use sha2::Digest as _;
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let digest: [u8; 32] = sha2::Sha256::digest(presented.unwrap_or_default().as_bytes()).into();
    if presented.is_none() || digest != state.revocations_secret_hash {
        return Err(ApiError::unauthorized(
            "The revocation feed is for resource servers: present the shared secret (OPENCHAT_REVOCATIONS_SECRET) as a bearer token",
            presented.is_some(),
        ));
    }
    let now = common::clock::now_millis();
    let since = params.since.unwrap_or(0).max(now - WINDOW_MS);
    let records = state.db.revocations_since(since, PAGE).await.map_err(crate::accounts::store_error)?;
    // A full page may continue: resume from its last instant (entries at that instant repeat,
    // which is harmless). Otherwise resume a little before now, so entries committed while
    // this query ran are not skipped.
    let next = if records.len() as i64 == PAGE { records.last().map_or(now, |r| r.at) } else { now - 2_000 };
    let revocations = records
        .into_iter()
        .map(|r| Revocation { kind: r.kind, subject: r.subject, not_before: r.not_before })
        .collect();
    Ok(Json(Feed { next: next.max(since), revocations }))
}
