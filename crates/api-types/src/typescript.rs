//! TypeScript declarations of the wire types, for the web UI (`web/src/api/types.gen.ts`).
//!
//! The file is generated, never edited: `UPDATE_TS_TYPES=1 cargo test -p api-types` rewrites it,
//! and the same test fails when the committed file no longer matches these types.

use ts_rs::{Config, TS};

use crate::{auth, chat, error, mcp, search, settings};

/// Every declaration, in a stable order, as one module.
pub fn bindings() -> String {
    // JSON numbers: counts and sequence numbers stay far below 2^53.
    let cfg = Config::new().with_large_int("number");
    let decls = [
        auth::User::decl(&cfg),
        auth::CreateUser::decl(&cfg),
        auth::UpdateUser::decl(&cfg),
        auth::ChangePassword::decl(&cfg),
        auth::SetRoles::decl(&cfg),
        auth::UserMessage::decl(&cfg),
        auth::Message::decl(&cfg),
        auth::UserList::decl(&cfg),
        auth::TokenResponse::decl(&cfg),
        auth::AuditEvent::decl(&cfg),
        auth::AuditList::decl(&cfg),
        chat::Conversation::decl(&cfg),
        chat::McpChoice::decl(&cfg),
        chat::CreateConversation::decl(&cfg),
        chat::UpdateConversation::decl(&cfg),
        chat::Usage::decl(&cfg),
        chat::Role::decl(&cfg),
        chat::MessageStatus::decl(&cfg),
        chat::FinishReason::decl(&cfg),
        chat::Message::decl(&cfg),
        mcp::ToolCall::decl(&cfg),
        mcp::ToolApproval::decl(&cfg),
        mcp::ToolProgress::decl(&cfg),
        mcp::ToolCallAnswer::decl(&cfg),
        chat::PostMessage::decl(&cfg),
        chat::PostedMessage::decl(&cfg),
        chat::Model::decl(&cfg),
        chat::ProviderState::decl(&cfg),
        chat::ProviderStatus::decl(&cfg),
        chat::ModelList::decl(&cfg),
        chat::GenerationState::decl(&cfg),
        chat::ServerEvent::decl(&cfg),
        chat::ClientAction::decl(&cfg),
        search::SearchHit::decl(&cfg),
        search::SearchResults::decl(&cfg),
        settings::UserSettings::decl(&cfg),
        settings::UpdateSettings::decl(&cfg),
        mcp::McpScope::decl(&cfg),
        mcp::McpServerConfig::decl(&cfg),
        mcp::McpServer::decl(&cfg),
        mcp::CreateMcpServer::decl(&cfg),
        mcp::UpdateMcpServer::decl(&cfg),
        mcp::AskBefore::decl(&cfg),
        mcp::OAuthStart::decl(&cfg),
        mcp::OAuthAuthorization::decl(&cfg),
        mcp::OAuthCallback::decl(&cfg),
        mcp::McpTool::decl(&cfg),
        mcp::McpServerTools::decl(&cfg),
        mcp::ToolCallAudit::decl(&cfg),
        mcp::ToolCallAuditList::decl(&cfg),
        error::ErrorBody::decl(&cfg),
        error::FieldError::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/api-types by `UPDATE_TS_TYPES=1 cargo test -p api-types`. Do not edit.\n",
    );
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn web_types_match_the_wire_types() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/src/api/types.gen.ts");
        let generated = super::bindings();
        if std::env::var_os("UPDATE_TS_TYPES").is_some() {
            std::fs::write(&path, &generated).expect("write types.gen.ts");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "web/src/api/types.gen.ts is out of date: run `UPDATE_TS_TYPES=1 cargo test -p api-types`"
        );
    }
}
