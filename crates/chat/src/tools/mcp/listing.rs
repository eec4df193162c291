//! Reading a server's tool list, bounded.

use rmcp::RoleClient;
use rmcp::service::RunningService;

use super::{Handler, MAX_DESCRIPTION_BYTES, MAX_PAGES, MAX_SCHEMA_BYTES, MAX_TOOLS, Tool};

/// The server's tools, page by page: at most [`MAX_TOOLS`] from [`MAX_PAGES`] pages, each
/// tool's description and schema bounded (a tool past a bound is left out).
pub(super) async fn list_tools(
    service: &RunningService<RoleClient, Handler>,
) -> Result<Vec<Tool>, rmcp::ServiceError> {
    let mut tools = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let params = rmcp::model::PaginatedRequestParams::default().with_cursor(cursor);
        let page = service.list_tools(Some(params)).await?;
        for tool in page.tools {
            let input_schema = serde_json::Value::Object((*tool.input_schema).clone());
            let description = tool.description.as_deref().unwrap_or_default();
            if description.len() > MAX_DESCRIPTION_BYTES || input_schema.to_string().len() > MAX_SCHEMA_BYTES
            {
                tracing::info!(tool = %tool.name, "an MCP tool with an oversized description or schema is left out");
                continue;
            }
            tools.push(Tool {
                name: tool.name.to_string(),
                description: description.to_owned(),
                input_schema,
            });
            if tools.len() == MAX_TOOLS {
                return Ok(tools);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(tools)
}
