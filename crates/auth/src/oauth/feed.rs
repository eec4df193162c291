//! The revocation feed for resource servers.
//!
//! Resource servers verify access tokens locally (JWKS), so without help they would accept a
//! token until it expires. They poll this feed every few seconds instead and refuse tokens of
//! users whose cut-off moved (password change, role change, disabling, deletion) and of ended
//! sessions. The feed is public: it holds only random ids and instants, never names, and is
//! no more than what a holder of a revoked token learns anyway.

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
    responses((status = 200, body = Feed)))]
pub async fn revocations(
    State(state): State<AppState>,
    Query(params): Query<FeedParams>,
) -> ApiResult<Json<Feed>> {
    let now = common::clock::now_millis();
    let since = params.since.unwrap_or(0).max(now - WINDOW_MS);
    let records = state.db.revocations_since(since, PAGE).await.map_err(ApiError::unavailable)?;
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
