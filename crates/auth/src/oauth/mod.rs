//! The OAuth 2.0 endpoints: token (one module per grant), revocation, introspection, logout,
//! and the metadata documents.

mod exchange;
mod feed;
mod introspect;
mod metadata;
mod password;
mod refresh;
mod revoke;

use api_types::auth::TokenResponse;
use api_types::error::ErrorBody;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::http::{ApiError, ApiResult, Form, Json};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::extract::ClientIp;
use crate::state::AppState;

pub use feed::{__path_revocations, WINDOW_MS as REVOCATION_WINDOW_MS};
pub use introspect::__path_introspect;
pub use metadata::{__path_jwks, __path_oauth_metadata, __path_openid_configuration};
pub use revoke::{__path_logout, __path_revoke};

pub fn router() -> Router<AppState> {
    // Token responses and errors must never be cached (RFC 6749 §5.1).
    let no_store = Router::new()
        .route("/auth/token", post(token))
        .route("/auth/revoke", post(revoke::revoke))
        .route("/auth/introspect", post(introspect::introspect))
        .route("/auth/logout", post(revoke::logout))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::PRAGMA, HeaderValue::from_static("no-cache")));
    Router::new()
        .merge(no_store)
        .route("/auth/revocations", get(feed::revocations))
        .route("/.well-known/oauth-authorization-server", get(metadata::oauth_metadata))
        .route("/.well-known/openid-configuration", get(metadata::openid_configuration))
        .route("/.well-known/jwks.json", get(metadata::jwks))
}

/// The token request (RFC 6749 §4.3 and §6), form-encoded. Unknown fields are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `password` (the default, as seed clients omit it), `refresh_token`, or (the chat service
    /// only) `urn:ietf:params:oauth:grant-type:token-exchange`.
    grant_type: Option<String>,
    /// A username or the account's email address.
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    /// Token exchange (RFC 8693): the chat service's secret, the user's access token, and the
    /// MCP server (RFC 8707 `resource`) the new token is for.
    client_secret: Option<String>,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    resource: Option<String>,
}

/// Exchange credentials or a refresh token for tokens; the chat service also exchanges a user's
/// token for an MCP server's (RFC 8693, answered as `ExchangedToken`).
#[utoipa::path(post, path = "/auth/token", tag = "oauth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse),
              (status = 400, body = ErrorBody, description = "A missing field, an unsupported grant or scope, or a bad refresh token"),
              (status = 401, body = ErrorBody, description = "Incorrect username or password (the same bytes for an unknown account), or a token exchange not by the chat service"),
              (status = 403, body = ErrorBody, description = "The password is right but the account is disabled"),
              (status = 429, body = ErrorBody, description = "Too many failed attempts for this account or address; see `Retry-After`")))]
pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Form(request): Form<TokenRequest>,
) -> ApiResult<Response> {
    let client_id = client_id(request.client_id.as_deref())?;
    match request.grant_type.as_deref().unwrap_or("password") {
        "password" => {
            password::grant(&state, ip, &request, &client_id).await.map(|t| Json(t).into_response())
        }
        "refresh_token" => refresh::grant(&state, ip, &request).await.map(|t| Json(t).into_response()),
        exchange::GRANT_TYPE => exchange::grant(&state, &request).await.map(|t| Json(t).into_response()),
        other => Err(ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("The grant type '{}' is not supported", crate::accounts::printable(other)),
        )),
    }
}

/// Public clients identify themselves by a short printable id; none means the default.
fn client_id(raw: Option<&str>) -> ApiResult<String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(crate::tokens::DEFAULT_CLIENT_ID.to_owned()),
        Some(id) if id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()) => Ok(id.to_owned()),
        Some(_) => {
            Err(ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_client", "The client_id is not acceptable"))
        }
    }
}

/// A required form field, or `invalid_request`.
fn required<'a>(value: &'a Option<String>, name: &str) -> ApiResult<&'a str> {
    value.as_deref().ok_or_else(|| {
        ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("The '{name}' parameter is missing"),
        )
    })
}

#[cfg(test)]
mod form_properties {
    use axum::body::Body;
    use axum::extract::FromRequest;
    use axum::http::{Request, StatusCode, header};
    use common::http::Form;
    use proptest::prelude::*;

    use super::{TokenRequest, client_id};
    use crate::domain::{Email, Username};
    use crate::tokens::resolve_scope;

    /// What the token endpoint makes of a body, up to the database: the form, the client id,
    /// the scope and the account name. Errors are 400 or 413 with a short detail.
    fn read(body: Vec<u8>, content_type: &str) -> Result<(), TestCaseError> {
        let request = Request::post("/auth/token")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("a valid request");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        match runtime.block_on(Form::<TokenRequest>::from_request(request, &())) {
            Ok(Form(form)) => {
                if let Err(e) = client_id(form.client_id.as_deref()) {
                    prop_assert_eq!(e.status(), StatusCode::BAD_REQUEST);
                }
                if let Err(e) = resolve_scope(form.scope.as_deref(), None) {
                    prop_assert_eq!(e.status(), StatusCode::BAD_REQUEST);
                    prop_assert!(e.detail().chars().count() <= 300, "{}", e.detail());
                }
                if let Some(typed) = &form.username {
                    let _ = Email::parse(typed);
                    let _ = Username::parse(typed);
                }
            }
            Err(e) => {
                prop_assert!(
                    [StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE].contains(&e.status()),
                    "{}",
                    e.status()
                );
                prop_assert!(!e.detail().is_empty() && e.detail().chars().count() <= 300, "{}", e.detail());
            }
        }
        Ok(())
    }

    /// Form-like bodies: the token request's fields and others, percent-escapes good and bad.
    fn form_body() -> impl Strategy<Value = Vec<u8>> {
        let key = prop_oneof![
            proptest::sample::select(
                &["grant_type", "username", "password", "refresh_token", "scope", "client_id", "x",][..]
            )
            .prop_map(str::to_owned),
            ".{0,12}",
        ];
        let value = prop_oneof![".{0,40}", "(%[0-9A-Fa-f]{0,2}|[+&=;]|[a-z ]){0,20}"];
        let pair = (key, value).prop_map(|(k, v)| format!("{k}={v}"));
        prop_oneof![
            proptest::collection::vec(pair, 0..10).prop_map(|pairs| pairs.join("&").into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..300),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any token request body: parsed or refused with a clear 400, never a panic.
        #[test]
        fn any_token_form_is_read_or_refused_clearly(
            body in form_body(),
            content_type in prop_oneof![
                Just("application/x-www-form-urlencoded"),
                Just("application/x-www-form-urlencoded; charset=utf-8"),
                Just("application/json"),
                Just("text/plain"),
            ],
        ) {
            read(body, content_type)?;
        }
    }
}
