use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Open ChatBot auth server", description = "OAuth 2.0 authorization server: users, roles and tokens."),
    paths(
        super::health::health,
        super::users::register, super::users::me, super::users::list_users, super::users::get_user,
        super::users::update_user, super::users::delete_user, super::users::set_roles,
        super::audit::list,
        crate::oauth::token, crate::oauth::revoke, crate::oauth::introspect, crate::oauth::logout,
        crate::oauth::oauth_metadata, crate::oauth::openid_configuration, crate::oauth::jwks,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

pub fn router() -> Router<AppState> {
    let document = ApiDoc::openapi().to_json().expect("the OpenAPI document serialises");
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .route("/docs", get(|| async { common::http::docs::page("Open ChatBot auth server API") }))
}
