//! Tools in a reply: which ones it offers the model (those of the MCP servers its owner may use,
//! under a cap), and running the calls the model makes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use api_types::mcp::{ToolApproval, ToolCall as WireCall};
use llm::{ToolCall, ToolResult, ToolSpec};

use crate::store::{Db, McpServerRecord};
use crate::tools::mcp::{CallProgress, Target};
use crate::tools::{Caller, Timeouts, Tools};

/// The tools one reply offers, and where each one lives.
#[derive(Default)]
pub(super) struct Offer {
    pub specs: Vec<ToolSpec>,
    /// Offered name → its server and its name there.
    by_name: HashMap<String, Offered>,
}

struct Offered {
    server: Arc<Server>,
    name: String,
    /// Whether each call waits for the owner's approval.
    ask: bool,
}

struct Server {
    id: String,
    name: String,
    target: Target,
    timeouts: Timeouts,
}

impl Offer {
    /// The tools of the active servers `owner` may use (their lists cached per server), of those
    /// `chosen` when the conversation chose, at most `tools.max_tools()` of them. A server that
    /// cannot be reached is left out (said in the log).
    pub async fn for_owner(context: &CallContext<'_>, chosen: Option<&[String]>) -> Self {
        let CallContext { tools, db, caller, roles } = *context;
        let owner = caller.id;
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
        let asks: HashSet<(String, String)> = match db.ask_before(owner).await {
            Ok(asks) => asks.into_iter().collect(),
            Err(e) => {
                // Never run a tool the owner wanted to approve without asking: offer none.
                tracing::warn!(error = %e, "cannot read which tools ask before they run");
                return Self::default();
            }
        };
        let usable: Vec<McpServerRecord> = servers
            .into_iter()
            .filter(|s| s.is_active && s.usable_by(owner, roles))
            .filter(|s| chosen.is_none_or(|ids| ids.contains(&s.id)))
            .collect();
        let listings = futures_util::future::join_all(usable.iter().map(|record| async move {
            let target = tools.target(record, caller).await.map_err(|e| e.to_string())?;
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
                timeouts: Timeouts::of(record),
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
                let ask = asks.contains(&(record.id.clone(), tool.name.clone()));
                offer.by_name.insert(name, Offered { server: server.clone(), name: tool.name.clone(), ask });
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
        let (server, name, ask) = match self.by_name.get(&call.name) {
            Some(offered) => (offered.server.name.clone(), offered.name.clone(), offered.ask),
            None => (String::new(), call.name.clone(), false),
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
            approval: ask.then_some(ToolApproval::Pending),
            progress: None,
        }
    }

    /// Runs one call and gives its result for the model, and the call as the reply shows it;
    /// its server's progress reports go to `on_progress`.
    pub async fn run(
        &self,
        context: &CallContext<'_>,
        call: &ToolCall,
        shown: WireCall,
        on_progress: impl FnMut(CallProgress),
    ) -> Ran {
        let began = Instant::now();
        let outcome = self.outcome(context, call, on_progress).await;
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
        context: &CallContext<'_>,
        call: &ToolCall,
        on_progress: impl FnMut(CallProgress),
    ) -> Result<(String, bool), String> {
        let CallContext { tools, db, caller, roles } = *context;
        let owner = caller.id;
        let Some(Offered { server, name, .. }) = self.by_name.get(&call.name) else {
            return Err(format!("there is no tool named {:?}", call.name));
        };
        let arguments = match serde_json::from_str::<serde_json::Value>(call.arguments.trim()) {
            Ok(serde_json::Value::Object(map)) => map,
            _ if call.arguments.trim().is_empty() => serde_json::Map::new(),
            _ => return Err("the model's arguments are not a JSON object".into()),
        };
        // The server may have been removed, switched off, withdrawn from the user or changed
        // (another address or secret) since the reply began.
        let record = match db.mcp_server(&server.id).await {
            Ok(Some(record)) if record.is_active && record.usable_by(owner, roles) => {
                if record.updated_at != server.target.version {
                    return Err(format!(
                        "the MCP server {:?} was changed during the reply: ask again",
                        server.name
                    ));
                }
                record
            }
            Ok(_) => return Err(format!("the MCP server {:?} was removed or switched off", server.name)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read an MCP server");
                return Err("the MCP server's settings could not be read".into());
            }
        };
        // Made afresh: a token minted for the server may have been renewed since the reply began.
        let target = tools.target(&record, caller).await.map_err(|e| e.to_string())?;
        let timeout = server.timeouts.of_tool(name);
        match tools.mcp.call(&target, owner, name, arguments, timeout, on_progress).await {
            Ok(result) => Ok((result.content, result.is_error)),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl super::Generation {
    /// Whose calls the reply makes, and what they run with.
    pub(super) fn call_context<'a>(&'a self, generations: &'a super::Generations) -> CallContext<'a> {
        CallContext {
            tools: generations.tools(),
            db: &generations.db,
            caller: Caller { id: &self.owner_id, token: Some(&self.subject_token) },
            roles: &self.roles,
        }
    }
}

/// Whose call it is, and what it runs with.
#[derive(Clone, Copy)]
pub(super) struct CallContext<'a> {
    pub tools: &'a Tools,
    pub db: &'a Db,
    /// The reply's owner, and the token they asked with.
    pub caller: Caller<'a>,
    /// The owner's roles (which shared servers they may use).
    pub roles: &'a [String],
}

/// A call the owner declined, or did not answer in time: its result for the model, and the
/// call as the reply shows it.
pub(super) fn unapproved(call: &ToolCall, shown: WireCall, answered: bool) -> Ran {
    let (error, content) = match answered {
        true => ("you chose not to run this tool", "The user declined to run this tool."),
        false => ("no one approved the call in time", "The user did not approve running this tool in time."),
    };
    let shown = WireCall {
        error: Some(error.to_owned()),
        duration_ms: Some(0),
        approval: Some(ToolApproval::Declined).filter(|_| answered).or(shown.approval),
        ..shown
    };
    Ran {
        result: ToolResult { call_id: call.id.clone(), content: content.to_owned(), is_error: true },
        shown,
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
            target: Target { server_id: "s".into(), url: String::new(), headers: Vec::new(), version: 0 },
            timeouts: Timeouts::of(&McpServerRecord {
                id: "s".into(),
                owner_id: None,
                scope: api_types::mcp::McpScope::Global,
                role: None,
                name: "S".into(),
                description: String::new(),
                server_url: String::new(),
                is_active: true,
                config: "{}".into(),
                secret: None,
                created_at: 0,
                updated_at: 0,
            }),
        });
        let mut take = |tool: &str, server_name: &str| {
            let name = offer.unique_name(tool, server_name);
            offer
                .by_name
                .insert(name.clone(), Offered { server: server.clone(), name: tool.to_owned(), ask: false });
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
