// Generated from crates/api-types by `UPDATE_TS_TYPES=1 cargo test -p api-types`. Do not edit.

export type User = { 
/**
 * 16-character random id.
 */
id: string, username: string, email: string, full_name: string | null, roles: Array<string>, is_active: boolean, 
/**
 * RFC 3339 timestamp.
 */
created_at: string, };

export type CreateUser = { username: string, email: string, password: string, full_name?: string, 
/**
 * Only an administrator may ask for roles other than `["user"]`.
 */
roles?: Array<string>, };

export type UpdateUser = { email?: string, full_name?: string, password?: string, 
/**
 * Administrators only.
 */
is_active?: boolean, };

export type ChangePassword = { 
/**
 * The caller's own current password, also when an administrator resets another user's
 * password: whoever changes a password proves that they are at the keyboard.
 */
current_password: string, 
/**
 * 8 to 128 characters, not one of the most common passwords.
 */
new_password: string, };

export type SetRoles = { roles: Array<string>, };

export type UserMessage = { message: string, user: User, };

export type AuthMessage = { message: string, };

export type UserList = { users: Array<User>, 
/**
 * How many users match the query, regardless of paging.
 */
total: number, };

export type TokenResponse = { access_token: string, 
/**
 * Always `bearer` (the seed's spelling).
 */
token_type: string, 
/**
 * Seconds until the access token expires.
 */
expires_in: number, refresh_token: string, scope: string, };

export type AuditEvent = { id: string, 
/**
 * RFC 3339 timestamp.
 */
at: string, 
/**
 * e.g. `login_succeeded`, `login_failed`, `refresh_reuse`, `roles_changed`.
 */
event: string, username: string | null, ip: string | null, detail: string | null, };

export type AuditList = { events: Array<AuditEvent>, total: number, };

export type Conversation = { 
/**
 * 12-character random id.
 */
id: string, title: string, 
/**
 * The owner's username.
 */
user_id: string, model: string | null, system_prompt: string | null, created_at: string, updated_at: string, message_count: number, last_message_at: string | null, pinned: boolean, archived: boolean, 
/**
 * Which MCP servers its replies may use (left out: every active one).
 */
mcp_servers?: McpChoice, };

export type McpChoice = { "mode": "all" } | { "mode": "only", servers: Array<string>, };

export type CreateConversation = { title: string, 
/**
 * When given, must be the caller's username.
 */
user_id?: string, model?: string, system_prompt?: string, };

export type UpdateConversation = { title?: string, model?: string, system_prompt?: string, pinned?: boolean, archived?: boolean, 
/**
 * `{"mode": "all"}` or `{"mode": "only", "servers": [ids]}` (at most 50 of the caller's).
 */
mcp_servers?: McpChoice, };

export type Usage = { prompt_tokens: number, completion_tokens: number, };

export type Role = "user" | "assistant" | "system";

export type MessageStatus = "streaming" | "complete" | "incomplete" | "cancelled" | "failed" | "interrupted";

export type FinishReason = "length" | "content_filter";

export type Message = { 
/**
 * 10-character random id.
 */
id: string, conversation_id: string, role: Role, content: string, status: MessageStatus, created_at: string, 
/**
 * The message's place in its conversation: 1, 2, 3, … in the order the server stored
 * them, never reused. Clients order by this (and by `parent_id` for branches), never by
 * `created_at`, which two messages stored together share.
 */
position: number, parent_id: string | null, model?: string | null, usage?: Usage | null, 
/**
 * Why a reply failed, for `failed`.
 */
error?: string | null, 
/**
 * Why a reply is `incomplete`.
 */
finish_reason?: FinishReason, 
/**
 * The tools a reply called, in order (left out when none).
 */
tool_calls?: Array<ToolCall>, };

export type ToolCall = { 
/**
 * The call's id (the model's).
 */
id: string, 
/**
 * The tool's name on its server.
 */
name: string, 
/**
 * The MCP server's name (as registered).
 */
server: string, 
/**
 * The arguments the model wrote, as JSON text.
 */
arguments: string, 
/**
 * Where the call happened: bytes of the reply's text written before it.
 */
offset: number, 
/**
 * What the tool answered (cut at 32 KiB), once it has; `null` while it runs or if it
 * failed.
 */
result: string | null, 
/**
 * Why the call failed (the tool said so, it timed out, its server could not be used, or the
 * reply was stopped); `null` while it runs or if it succeeded.
 */
error: string | null, 
/**
 * How long the call took, in milliseconds, once it has ended.
 */
duration_ms: number | null, 
/**
 * For a tool the user asked to approve first: `pending` until they answer, then `approved`
 * or `declined` (left out for tools that run without asking).
 */
approval?: ToolApproval, 
/**
 * The server's latest progress report while the call runs.
 */
progress?: ToolProgress, };

export type ToolApproval = "pending" | "approved" | "declined";

export type ToolProgress = { 
/**
 * How far it got, in the server's own unit.
 */
progress: number, 
/**
 * The end, when the server knows it.
 */
total: number | null, 
/**
 * What it is doing (at most 200 characters).
 */
message: string | null, };

export type ToolCallAnswer = { 
/**
 * `true` runs the call; `false` declines it (the model is told).
 */
approved: boolean, };

export type PostMessage = { content: string, 
/**
 * Only `user` may be posted (the default).
 */
role?: string, conversation_id?: string, 
/**
 * `false` stores the message without asking the model.
 */
generate?: boolean, 
/**
 * The message this one answers: the last message of the branch the user sees. Without
 * it, the newest message of the conversation.
 */
parent_id?: string, };

export type PostedMessage = { generation_id: string | null, 
/**
 * 10-character random id.
 */
id: string, conversation_id: string, role: Role, content: string, status: MessageStatus, created_at: string, 
/**
 * The message's place in its conversation: 1, 2, 3, … in the order the server stored
 * them, never reused. Clients order by this (and by `parent_id` for branches), never by
 * `created_at`, which two messages stored together share.
 */
position: number, parent_id: string | null, model?: string | null, usage?: Usage | null, 
/**
 * Why a reply failed, for `failed`.
 */
error?: string | null, 
/**
 * Why a reply is `incomplete`.
 */
finish_reason?: FinishReason, 
/**
 * The tools a reply called, in order (left out when none).
 */
tool_calls?: Array<ToolCall>, };

export type Model = { id: string, provider: string, };

export type ProviderState = "pending" | "ok" | "unreachable";

export type ProviderStatus = { name: string, state: ProviderState, 
/**
 * Since when it is unreachable (RFC 3339).
 */
unreachable_since: string | null, 
/**
 * Why it could not be reached, as a sentence.
 */
error: string | null, 
/**
 * Models offered.
 */
models: number, 
/**
 * Models listed but not offered (embeddings, speech, images, …).
 */
hidden_models: number, 
/**
 * When its list was last read (RFC 3339).
 */
refreshed_at: string | null, };

export type ModelList = { models: Array<Model>, default_model: string | null, providers: Array<ProviderStatus>, };

export type GenerationState = { generation_id: string, message_id: string, 
/**
 * The last `seq` sent so far.
 */
seq: number, 
/**
 * Text the reply already had when this generation started (a continuation); the deltas
 * append to it.
 */
prefix: string, };

export type ServerEvent = { "type": "authenticated", username: string, } | { "type": "conversation_started", conversation_id: string, id: string, conversation: Conversation, } | { "type": "message_accepted", conversation_id: string, message: Message, } | { "type": "generation_started", generation_id: string, conversation_id: string, 
/**
 * The reply being written.
 */
message_id: string, 
/**
 * The user message it answers (the reply's `parent_id`).
 */
parent_id: string, 
/**
 * The reply's `position` in the conversation.
 */
position: number, model: string, 
/**
 * Text the reply already had (when continuing a reply); the deltas append to it.
 */
prefix: string, } | { "type": "delta", generation_id: string, conversation_id: string, seq: number, text: string, } | { "type": "tool_call_started", generation_id: string, conversation_id: string, seq: number, call: ToolCall, } | { "type": "tool_call_updated", generation_id: string, conversation_id: string, seq: number, call: ToolCall, } | { "type": "tool_call_done", generation_id: string, conversation_id: string, seq: number, call: ToolCall, } | { "type": "generation_queued", generation_id: string, conversation_id: string, position: number, } | { "type": "generation_done", generation_id: string, conversation_id: string, 
/**
 * The reply's final status (`complete`, `incomplete`, `cancelled`, `failed` or
 * `interrupted`); the stored message follows.
 */
status: MessageStatus, message: Message, usage: Usage | null, 
/**
 * For `failed`: a sentence saying why.
 */
reason: string | null, } | { "type": "conversation_ended", conversation_id: string, } | { "type": "subscribed", conversation_id: string, generation: GenerationState | null, } | { "type": "conversation_updated", conversation: Conversation, } | { "type": "conversation_deleted", conversation_id: string, } | { "type": "pong" } | { "type": "resync" } | { "type": "error", code: string, detail: string, };

export type ClientAction = { "action": "authenticate", "data": { token: string, } } | { "action": "start_conversation", "data": { title?: string, model?: string, system_prompt?: string, } } | { "action": "send_message", "data": { conversation_id: string, content: string, 
/**
 * As in `POST …/messages`: the last message of the branch the user sees.
 */
parent_id?: string, } } | { "action": "end_conversation", "data": { conversation_id: string, } } | { "action": "subscribe", "data": { conversation_id: string, 
/**
 * The last `seq` the client has of `generation_id` (or of the newest generation).
 */
after_seq?: number, generation_id?: string, } } | { "action": "stop", "data": { generation_id: string, } } | { "action": "answer_tool_call", "data": { generation_id: string, call_id: string, approved: boolean, } } | { "action": "regenerate", "data": { message_id: string, } } | { "action": "edit_message", "data": { message_id: string, content: string, } } | { "action": "continue", "data": { message_id: string, } } | { "action": "ping" };

export type SearchHit = { conversation: Conversation, 
/**
 * The newest message that contains every word, or `null` when only the title matches.
 */
message_id: string | null, 
/**
 * Who wrote that message: `user`, `assistant` or `system`.
 */
role: string | null, 
/**
 * A short plain-text excerpt of that message around the first match (whitespace
 * collapsed, `…` where it is cut), or `null` when only the title matches.
 */
snippet: string | null, };

export type SearchResults = { results: Array<SearchHit>, };

export type UserSettings = { 
/**
 * Model for new conversations that name none; `null`: the server's default model.
 */
default_model: string | null, 
/**
 * System prompt for new conversations that send none; `null`: none.
 */
default_system_prompt: string | null, };

export type UpdateSettings = { default_model?: string, default_system_prompt?: string, };

export type McpScope = "user" | "global" | "role";

export type McpServerConfig = { 
/**
 * Longest wait for one tool call, in seconds (1–3600; default 30).
 */
timeout_seconds?: number, 
/**
 * Longest wait for a call of the named tools, in seconds (1–3600 each, at most 64 tools),
 * in place of `timeout_seconds`.
 */
tool_timeouts?: { [key in string]: number }, 
/**
 * The request header that carries the server's secret (default `Authorization`).
 */
secret_header?: string, 
/**
 * Tell the server who the user is: each request carries, in `Authorization`, a token the
 * auth server minted for this server alone (audience `server_url`, scope `mcp`, five
 * minutes), never the user's own.
 */
identity?: boolean, 
/**
 * The server requires each user's own sign-in (the MCP authorization spec: OAuth 2.1 with
 * PKCE): a user connects their account from the Tools page, and each request carries their
 * access token for this server (refreshed as it expires).
 */
oauth?: boolean, };

export type McpServer = { id: string, name: string, description: string, 
/**
 * The server's Streamable HTTP endpoint (e.g. `https://tools.example.com/mcp`); of a shared
 * server its users see only the origin (`https://tools.example.com`: the path or query
 * may hold a token).
 */
server_url: string, 
/**
 * Inactive servers are kept but never offered to the model.
 */
is_active: boolean, config: McpServerConfig, 
/**
 * Whether a secret is stored for the server (sent in `config.secret_header`).
 */
has_secret: boolean, scope: McpScope, 
/**
 * For `scope: "role"`: the role whose users may use it.
 */
role: string | null, 
/**
 * Whether the caller may change or delete it (their own, or any for an administrator).
 */
editable: boolean, 
/**
 * The caller's tools of this server that wait for their approval before each run.
 */
ask_before: Array<string>, 
/**
 * For a server that requires each user's sign-in (`config.oauth`): whether the caller has
 * signed in.
 */
signed_in: boolean, created_at: string, updated_at: string, };

export type CreateMcpServer = { 
/**
 * 1–100 characters.
 */
name: string, 
/**
 * At most 1 000 characters.
 */
description?: string, 
/**
 * `https://…` (plain `http://` only for hosts an administrator allows).
 */
server_url: string, 
/**
 * Default `true`.
 */
is_active?: boolean, config?: McpServerConfig, 
/**
 * A static secret the server expects in `config.secret_header` (as sent, e.g.
 * `Bearer abc…`); stored encrypted, never returned. At most 4 096 characters.
 */
secret?: string, 
/**
 * Admin route only: `global` (default there) or `role`.
 */
scope?: McpScope, 
/**
 * Admin route only, with `scope: "role"`.
 */
role?: string, };

export type UpdateMcpServer = { name?: string, description?: string, server_url?: string, is_active?: boolean, config?: McpServerConfig, secret?: string, 
/**
 * Admin route only.
 */
scope?: McpScope, 
/**
 * Admin route only.
 */
role?: string, };

export type AskBefore = { 
/**
 * Tool names (at most 64, each 1–128 characters).
 */
tools: Array<string>, };

export type OAuthStart = { 
/**
 * The web UI's page for it: `{origin}/tools/connected`, the origin one of the chat
 * service's `cors_origins`.
 */
redirect_uri: string, };

export type OAuthAuthorization = { authorization_url: string, };

export type OAuthCallback = { state: string, code: string, };

export type McpTool = { name: string, description: string, 
/**
 * Its parameters as a JSON Schema, as JSON text.
 */
input_schema: string, };

export type McpServerTools = { 
/**
 * The name and version the server gave in `initialize`.
 */
server_name: string, server_version: string, tools: Array<McpTool>, };

export type ToolCallAudit = { id: string, 
/**
 * When the call ended (RFC 3339).
 */
at: string, user_id: string, username: string, conversation_id: string, 
/**
 * The server's name when the call was made.
 */
server: string, tool: string, 
/**
 * `ok`, `error` (the tool or its server failed, it timed out, or the reply was stopped) or
 * `declined` (the user chose not to run it, or did not answer in time).
 */
outcome: string, duration_ms: number, 
/**
 * Bytes of the result given to the model.
 */
bytes: number, };

export type ToolCallAuditList = { calls: Array<ToolCallAudit>, 
/**
 * How many calls match in all.
 */
total: number, };

export type ErrorBody = { 
/**
 * A sentence for people.
 */
detail: string, 
/**
 * RFC 6749 / RFC 6750 error code, on token-endpoint and bearer errors.
 */
error?: string | null, error_description?: string | null, 
/**
 * Which fields were invalid and why, on validation errors (422).
 */
errors?: Array<FieldError>, };

export type FieldError = { field: string, message: string, };
