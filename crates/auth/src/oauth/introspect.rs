//! Token introspection (RFC 7662). The caller must be authenticated with a bearer token;
//! administrators and managers may introspect any token, everyone else only their own.

use api_types::auth::Introspection;
use api_types::error::ErrorBody;
use axum::extract::State;
use common::http::{ApiResult, Form, Json};
use serde::Deserialize;

use crate::domain::Role;
use crate::http::extract::AuthUser;
use crate::principal::authenticate;
use crate::state::AppState;
use crate::tokens::hash_refresh_token;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IntrospectRequest {
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// Whether a token is active, and what it carries. Inactive is exactly `{"active":false}`.
#[utoipa::path(post, path = "/auth/introspect", tag = "oauth", security(("bearer" = [])),
    request_body(content = IntrospectRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Introspection), (status = 401, body = ErrorBody)))]
pub async fn introspect(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Form(request): Form<IntrospectRequest>,
) -> ApiResult<Json<Introspection>> {
    let inactive = Json(Introspection::default());
    let Some(token) = request.token.filter(|t| !t.is_empty() && t.len() <= 4096) else {
        return Ok(inactive);
    };
    let privileged = caller.user.roles.contains(Role::Admin) || caller.user.roles.contains(Role::Manager);
    let may_see = |sub: &str| privileged || sub == caller.user.id;

    if token.matches('.').count() == 2 {
        let Ok(p) = authenticate(&state, &token).await else {
            return Ok(inactive);
        };
        if !may_see(&p.claims.sub) {
            return Ok(inactive);
        }
        let c = p.claims;
        return Ok(Json(Introspection {
            active: true,
            scope: Some(c.scope),
            client_id: Some(c.client_id),
            username: Some(c.preferred_username),
            token_type: Some("Bearer".into()),
            exp: Some(c.exp),
            iat: Some(c.iat),
            sub: Some(c.sub),
            aud: Some(c.aud),
            iss: Some(c.iss),
            jti: Some(c.jti),
        }));
    }
    let session = state
        .db
        .session_of_refresh_token(&hash_refresh_token(&token))
        .await
        .map_err(crate::accounts::store_error)?;
    let live = state
        .db
        .refresh_token_is_live(&hash_refresh_token(&token), common::clock::now())
        .await
        .map_err(crate::accounts::store_error)?;
    match session.filter(|s| live && !s.revoked && may_see(&s.user_id)) {
        Some(s) => {
            let username = state
                .db
                .user_by_id(&s.user_id)
                .await
                .map_err(crate::accounts::store_error)?
                .map(|u| u.username);
            Ok(Json(Introspection {
                active: true,
                scope: Some(s.scope),
                client_id: Some(s.client_id),
                username,
                token_type: Some("refresh_token".into()),
                exp: Some(s.expires_at),
                sub: Some(s.user_id),
                iss: Some(state.config.issuer.clone()),
                ..Default::default()
            }))
        }
        None => Ok(inactive),
    }
}
