use axum::Router;
use common::http::openapi::{BearerAuth, Conventions};
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Open ChatBot auth server", description = "OAuth 2.0 authorization server: users, roles and tokens."),
    paths(
        super::health::health,
        super::users::register, super::users::me, super::users::list_users, super::users::get_user,
        super::users::update_user, super::users::delete_user, super::users::set_roles,
        super::passwords::change_own, super::passwords::change_any,
        super::audit::list,
        crate::oauth::token, crate::oauth::revoke, crate::oauth::revocations, crate::oauth::introspect, crate::oauth::logout,
        crate::oauth::oauth_metadata, crate::oauth::openid_configuration, crate::oauth::jwks,
    ),
    modifiers(&BearerAuth, &Conventions),
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    common::http::openapi::routes(ApiDoc::openapi, "Open ChatBot auth server API")
}
