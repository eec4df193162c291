use axum::Router;
use common::http::openapi::{BearerAuth, Conventions};
use utoipa::OpenApi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Open ChatBot chat service", description = "Conversations, messages and streamed replies. \
        The WebSocket protocol is described in docs/ws-protocol.md."),
    paths(
        super::misc::health, super::misc::ready, super::models::list, super::models::refresh,
        super::conversations::create, super::conversations::list, super::conversations::read,
        super::conversations::update, super::conversations::remove,
        super::messages::list, super::messages::post,
        super::search::search, super::settings::read, super::settings::update,
        super::mcp::list, super::mcp::create, super::mcp::read, super::mcp::update, super::mcp::remove,
        super::mcp::using::test, super::mcp::using::set_ask_before, super::mcp::oauth::start, super::mcp::oauth::callback,
        super::mcp::oauth::sign_out, super::mcp::admin::list, super::mcp::admin::create, super::mcp::admin::read,
        super::mcp::admin::update, super::mcp::admin::remove, super::generations::answer,
        super::tool_audit::list,
    ),
    components(schemas(api_types::chat::ServerEvent, api_types::chat::ClientAction, api_types::rules::SearchQuery)),
    modifiers(&BearerAuth, &Conventions),
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    common::http::openapi::routes(ApiDoc::openapi, "Open ChatBot chat service API")
}
