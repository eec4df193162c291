//! Tools in a reply: which ones it offers the model (those of the MCP servers its owner may use,
//! under a cap), and running the calls the model makes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_types::chat::ToolCall as WireCall;
use llm::{ToolCall, ToolResult, ToolSpec};

use crate::store::{Db, McpServerRecord};
use crate::tools::Tools;
use crate::tools::mcp::Target;

/// The tools one reply offers, and where each one lives.
#[derive(Default)]
pub(super) struct Offer {
    pub specs: Vec<ToolSpec>,
    /// Offered name → its server and its name there.
    by_name: HashMap<String, (Arc<Server>, String)>,
}

struct Server {
    id: String,
    name: String,
    target: Target,
    timeout: Duration,
}

impl Offer {
    /// The tools of the active servers `owner` may use (their lists cached per server), of those
    /// `chosen` when the conversation chose, at most `tools.max_tools()` of them. A server that
    /// cannot be reached is left out (said in the log).
    pub async fn for_owner(
        tools: &Tools,
        db: &Db,
        owner: &str,
        roles: &[String],
        chosen: Option<&[String]>,
    ) -> Self {
        if chosen.is_some_and(<[String]>::is_empty) {
            return Self::default();
        }
        let servers = match db.mcp_servers_for(owner).await {
            Ok(servers) => servers,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the MCP servers of a reply's owner");
                return Self::default();
            }
        };
        let usable: Vec<McpServerRecord> = servers
            .into_iter()
            .filter(|s| s.is_active && s.usable_by(owner, roles))
            .filter(|s| chosen.is_none_or(|ids| ids.contains(&s.id)))
            .collect();
        let listings = futures_util::future::join_all(usable.iter().map(|record| async move {
            let target = tools.target(record).map_err(|e| e.to_string())?;
            let listing = tools.mcp.list(&target, owner, false).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((target, listing))
        }))
        .await;
        let mut offer = Self::default();
        for (record, listed) in usable.iter().zip(listings) {
            let (target, listing) = match listed {
                Ok(found) => found,
                Err(e) => {
                    tracing::info!(server = %record.id, error = %e, "an MCP server's tools are left out of a reply");
                    continue;
                }
            };
            let server = Arc::new(Server {
                id: record.id.clone(),
                name: record.name.clone(),
                target,
                timeout: tools.timeout(record),
            });
            for tool in listing.tools.iter() {
                if offer.specs.len() >= tools.max_tools() {
                    return offer;
                }
                let name = offer.unique_name(&tool.name, &record.name);
                offer.specs.push(ToolSpec {
                    name: name.clone(),
                    description: tool.description.clone(),
                    parameters: tool.input_schema.clone(),
                });
                offer.by_name.insert(name, (server.clone(), tool.name.clone()));
            }
        }
        offer
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// A name providers accept (`[A-Za-z0-9_-]{1,64}`) and no other offered tool has: the
    /// tool's own, else prefixed by its server's, else numbered.
    fn unique_name(&self, tool: &str, server: &str) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
                .collect()
        };
        let fit = |s: String| -> String { s.chars().take(64).collect() };
        let own = fit(clean(tool));
        if !own.is_empty() && !self.by_name.contains_key(&own) {
            return own;
        }
        let prefixed = fit(format!("{}__{}", clean(server), clean(tool)));
        if !self.by_name.contains_key(&prefixed) {
            return prefixed;
        }
        (2..)
            .map(|n| {
                let suffix = format!("_{n}");
                format!("{}{suffix}", prefixed.chars().take(64 - suffix.len()).collect::<String>())
            })
            .find(|name| !self.by_name.contains_key(name))
            .expect("some numbered name is free")
    }

    /// The call as the reply shows it, before it runs; its id is unique in the reply (the
    /// model's, numbered by round: some providers number their calls afresh each round).
    pub fn started(&self, call: &ToolCall, offset: usize, round: usize) -> WireCall {
        let (server, name) = match self.by_name.get(&call.name) {
            Some((server, name)) => (server.name.clone(), name.clone()),
            None => (String::new(), call.name.clone()),
        };
        WireCall {
            id: format!("{}.{}", round + 1, call.id),
            name,
            server,
            arguments: call.arguments.clone(),
            offset: offset as u64,
            result: None,
            error: None,
            duration_ms: None,
        }
    }

    /// Runs one call and gives its result for the model, and the call as the reply shows it.
    pub async fn run(
        &self,
        tools: &Tools,
        db: &Db,
        owner: &str,
        roles: &[String],
        call: &ToolCall,
        shown: WireCall,
    ) -> Ran {
        let began = Instant::now();
        let outcome = self.outcome(tools, db, owner, roles, call).await;
        let duration_ms = Some(began.elapsed().as_millis() as u64);
        let (content, is_error) = match &outcome {
            Ok((content, is_error)) => (content.clone(), *is_error),
            Err(error) => (error.clone(), true),
        };
        let shown = match outcome {
            Ok((content, false)) => WireCall { result: Some(content), duration_ms, ..shown },
            Ok((content, true)) | Err(content) => WireCall { error: Some(content), duration_ms, ..shown },
        };
        Ran { result: ToolResult { call_id: call.id.clone(), content, is_error }, shown }
    }

    async fn outcome(
        &self,
        tools: &Tools,
        db: &Db,
        owner: &str,
        roles: &[String],
        call: &ToolCall,
    ) -> Result<(String, bool), String> {
        let Some((server, name)) = self.by_name.get(&call.name) else {
            return Err(format!("there is no tool named {:?}", call.name));
        };
        let arguments = match serde_json::from_str::<serde_json::Value>(call.arguments.trim()) {
            Ok(serde_json::Value::Object(map)) => map,
            _ if call.arguments.trim().is_empty() => serde_json::Map::new(),
            _ => return Err("the model's arguments are not a JSON object".into()),
        };
        // The server may have been removed, switched off, withdrawn from the user or changed
        // (another address or secret) since the reply began.
        match db.mcp_server(&server.id).await {
            Ok(Some(record)) if record.is_active && record.usable_by(owner, roles) => {
                if record.updated_at != server.target.version {
                    return Err(format!(
                        "the MCP server {:?} was changed during the reply: ask again",
                        server.name
                    ));
                }
            }
            Ok(_) => return Err(format!("the MCP server {:?} was removed or switched off", server.name)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read an MCP server");
                return Err("the MCP server's settings could not be read".into());
            }
        }
        match tools.mcp.call(&server.target, owner, name, arguments, server.timeout).await {
            Ok(result) => Ok((result.content, result.is_error)),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// One call's end.
pub(super) struct Ran {
    pub result: ToolResult,
    pub shown: WireCall,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_names_are_valid_and_unique() {
        let mut offer = Offer::default();
        let server = Arc::new(Server {
            id: "s".into(),
            name: "S".into(),
            target: Target { server_id: "s".into(), url: String::new(), header: None, version: 0 },
            timeout: Duration::from_secs(1),
        });
        let mut take = |tool: &str, server_name: &str| {
            let name = offer.unique_name(tool, server_name);
            offer.by_name.insert(name.clone(), (server.clone(), tool.to_owned()));
            name
        };
        assert_eq!(take("get_time", "clock"), "get_time");
        assert_eq!(take("get_time", "other clock"), "other_clock__get_time");
        assert_eq!(take("get_time", "other clock"), "other_clock__get_time_2");
        assert_eq!(take("weather.today", "w"), "weather_today");
        let long = take(&"x".repeat(100), "w");
        assert_eq!(long.len(), 64);
        assert_eq!(take(&"x".repeat(100), "w").len(), 64);
    }
}
