//! Discovery documents: RFC 8414 metadata, OpenID Connect discovery, and the JWKS.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::state::AppState;
use crate::tokens::SUPPORTED_SCOPES;

fn metadata(state: &AppState) -> Value {
    let issuer = state.config.issuer.trim_end_matches('/');
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/auth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/auth/revoke"),
        "introspection_endpoint": format!("{issuer}/auth/introspect"),
        "userinfo_endpoint": format!("{issuer}/auth/me"),
        "registration_endpoint": format!("{issuer}/users/"),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["token"],
        "grant_types_supported": ["password", "refresh_token", super::exchange::GRANT_TYPE],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
        "service_documentation": format!("{issuer}/docs"),
    })
}

/// RFC 8414 authorization server metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "discovery",
    responses((status = 200, description = "RFC 8414 metadata")))]
pub async fn oauth_metadata(State(state): State<AppState>) -> Json<Value> {
    Json(metadata(&state))
}

/// OpenID Connect discovery.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery",
    responses((status = 200, description = "OpenID Connect discovery document")))]
pub async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let mut doc = metadata(&state);
    doc["subject_types_supported"] = json!(["public"]);
    doc["id_token_signing_alg_values_supported"] = json!(["EdDSA"]);
    doc["claims_supported"] =
        json!(["sub", "iss", "aud", "exp", "iat", "preferred_username", "roles", "scope", "client_id"]);
    Json(doc)
}

/// The public signing keys (RFC 7517). Cached briefly by clients; rotation keeps old keys here
/// until their tokens expire.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery",
    responses((status = 200, description = "JSON Web Key Set")))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"))], Json(state.keys.jwks()))
}
