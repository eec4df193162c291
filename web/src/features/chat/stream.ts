import type { Message, ServerEvent, ToolCall } from '../../api/types.gen';

/** Why a reply ended before its natural end. */
export type IncompleteReason = 'cancelled' | 'failed' | 'interrupted' | 'length' | 'content_filter';

/** Where a reply stands: a tagged union with a reason, never a pair of booleans. */
export type ReplyStatus =
  | { kind: 'queued'; position: number }
  | { kind: 'streaming' }
  | { kind: 'complete' }
  | { kind: 'incomplete'; reason: IncompleteReason; detail?: string };

/**
 * A reply as the stream built it: `seq` is the last delta applied, `text` the deltas joined,
 * after `prefix` (the text a continued reply already had).
 */
export interface LiveReply {
  generationId: string;
  messageId: string | null;
  seq: number;
  prefix: string;
  text: string;
  /** The tools it called so far (their latest state), in the order they were called. */
  calls: ToolCall[];
  status: ReplyStatus;
}

/** One conversation's messages (every branch) and its replies' live state. */
export interface ConversationStream {
  messages: Record<string, Message>;
  replies: Record<string, LiveReply>;
  /** Message id → generation id. */
  byMessage: Record<string, string>;
  /** A delta arrived after a gap: resubscribe from here. */
  resync: { generationId: string; afterSeq: number } | null;
  /** Bumped when a reply ends, for the screen-reader announcement. */
  finished: { messageId: string; status: ReplyStatus } | null;
}

export type StreamAction =
  | { type: 'snapshot'; messages: Message[] }
  | { type: 'message'; message: Message }
  | { type: 'event'; event: ServerEvent };

export const emptyStream: ConversationStream = {
  messages: {},
  replies: {},
  byMessage: {},
  resync: null,
  finished: null,
};

const TERMINAL = new Set(['complete', 'incomplete', 'cancelled', 'failed', 'interrupted']);

// Shared objects, so an unchanged message keeps equal props and is not rendered again.
const STREAMING: ReplyStatus = { kind: 'streaming' };
const COMPLETE: ReplyStatus = { kind: 'complete' };
const CANCELLED: ReplyStatus = { kind: 'incomplete', reason: 'cancelled' };
const INTERRUPTED: ReplyStatus = { kind: 'incomplete', reason: 'interrupted' };
const LENGTH: ReplyStatus = { kind: 'incomplete', reason: 'length' };
const FILTERED: ReplyStatus = { kind: 'incomplete', reason: 'content_filter' };
const failedStatus = new Map<string, ReplyStatus>();
const NO_CALLS: ToolCall[] = [];

function statusOf(message: Message): ReplyStatus {
  switch (message.status) {
    case 'streaming':
      return STREAMING;
    case 'cancelled':
      return CANCELLED;
    case 'interrupted':
      return INTERRUPTED;
    case 'incomplete':
      return message.finish_reason === 'content_filter' ? FILTERED : LENGTH;
    case 'failed': {
      const detail = message.error ?? '';
      let status = failedStatus.get(detail);
      if (!status) {
        status = { kind: 'incomplete', reason: 'failed', detail: detail || undefined };
        if (failedStatus.size < 100) failedStatus.set(detail, status);
      }
      return status;
    }
    default:
      return COMPLETE;
  }
}

/**
 * Adds or replaces messages; a stored final version is never replaced by an older streaming one.
 * The map is copied once per call, not once per message: a page of 200 older messages joining
 * 2 000 loaded ones costs one copy, not 200.
 */
function upsert(state: ConversationStream, ...incoming: Message[]): ConversationStream {
  let messages: Record<string, Message> | null = null;
  for (const message of incoming) {
    const existing = (messages ?? state.messages)[message.id];
    if (existing && TERMINAL.has(existing.status) && message.status === 'streaming') continue;
    messages ??= { ...state.messages };
    messages[message.id] = message;
  }
  return messages ? { ...state, messages } : state;
}

/**
 * Replies the server says have ended while this tab still shows them running (their end was
 * lost: a socket that fell behind, a server cut off from the others) end here too.
 */
function settle(state: ConversationStream, messages: Message[]): ConversationStream {
  let next = state;
  for (const message of messages) {
    if (!TERMINAL.has(message.status)) continue;
    const g = next.byMessage[message.id];
    const r = g ? next.replies[g] : undefined;
    if (!r || (r.status.kind !== 'streaming' && r.status.kind !== 'queued')) continue;
    next = withReply(next, { ...r, text: message.content.slice(r.prefix.length), status: statusOf(message) });
  }
  return next;
}

function reply(state: ConversationStream, generationId: string): LiveReply {
  return (
    state.replies[generationId] ?? {
      generationId,
      messageId: null,
      seq: 0,
      prefix: '',
      text: '',
      calls: NO_CALLS,
      status: STREAMING,
    }
  );
}

function withReply(state: ConversationStream, r: LiveReply): ConversationStream {
  const byMessage =
    r.messageId && state.byMessage[r.messageId] !== r.generationId
      ? { ...state.byMessage, [r.messageId]: r.generationId }
      : state.byMessage;
  return { ...state, replies: { ...state.replies, [r.generationId]: r }, byMessage };
}

/** Folds one action into a conversation's state. Pure: the same inputs give the same state. */
export function reduce(state: ConversationStream, action: StreamAction): ConversationStream {
  switch (action.type) {
    case 'snapshot':
      return settle(upsert(state, ...action.messages), action.messages);
    case 'message':
      return upsert(state, action.message);
    case 'event':
      return onEvent(state, action.event);
  }
}

function onEvent(state: ConversationStream, event: ServerEvent): ConversationStream {
  switch (event.type) {
    case 'message_accepted':
      return upsert(state, event.message);
    case 'generation_started': {
      const r = reply(state, event.generation_id);
      const next = withReply(state, { ...r, messageId: event.message_id, prefix: event.prefix });
      if (next.messages[event.message_id]) return next;
      return upsert(next, {
        id: event.message_id,
        conversation_id: event.conversation_id,
        role: 'assistant',
        content: event.prefix,
        status: 'streaming',
        created_at: new Date().toISOString(),
        position: event.position,
        parent_id: event.parent_id,
        model: event.model,
      });
    }
    case 'generation_queued': {
      const r = reply(state, event.generation_id);
      if (r.status.kind !== 'streaming' && r.status.kind !== 'queued') return state;
      if (r.seq > 0) return state;
      return withReply(state, { ...r, status: { kind: 'queued', position: event.position } });
    }
    case 'subscribed': {
      const g = event.generation;
      if (!g) return state;
      const r = reply(state, g.generation_id);
      return withReply(state, { ...r, messageId: g.message_id, prefix: g.prefix });
    }
    case 'delta':
      return numbered(state, event.generation_id, event.seq, (r) => ({ ...r, text: r.text + event.text }));
    case 'tool_call_started':
    case 'tool_call_updated':
    case 'tool_call_done':
      return numbered(state, event.generation_id, event.seq, (r) => ({ ...r, calls: withCall(r.calls, event.call) }));
    case 'generation_done': {
      const r = reply(state, event.generation_id);
      const status: ReplyStatus =
        event.status === 'failed'
          ? { kind: 'incomplete', reason: 'failed', detail: event.reason ?? event.message.error ?? undefined }
          : statusOf(
              event.message.status === event.status ? event.message : { ...event.message, status: event.status },
            );
      const done = withReply(state, { ...r, messageId: event.message.id, text: event.message.content, status });
      const stored = upsert(done, event.message);
      const resync = stored.resync?.generationId === r.generationId ? null : stored.resync;
      return { ...stored, resync, finished: { messageId: event.message.id, status } };
    }
    default:
      return state;
  }
}

/**
 * A generation's numbered event (a delta or a tool call's start, change or end), applied by `apply` when
 * it is the next one; one already applied is skipped (a resend after a reconnect), and a gap asks
 * for the rest (`resync`) while keeping what is consistent.
 */
function numbered(
  state: ConversationStream,
  generationId: string,
  seq: number,
  apply: (r: LiveReply) => LiveReply,
): ConversationStream {
  const r = reply(state, generationId);
  if (r.status.kind === 'complete' || r.status.kind === 'incomplete') return state;
  if (seq <= r.seq) return state;
  if (seq !== r.seq + 1) return { ...state, resync: { generationId: r.generationId, afterSeq: r.seq } };
  const next = withReply(state, { ...apply(r), seq, status: STREAMING });
  return next.resync?.generationId === r.generationId ? { ...next, resync: null } : next;
}

/** The calls with `call` added, or replacing the one with its id. */
function withCall(calls: ToolCall[], call: ToolCall): ToolCall[] {
  const at = calls.findIndex((c) => c.id === call.id);
  if (at < 0) return [...calls, call];
  return calls.map((c, i) => (i === at ? call : c));
}

/** What to show for a message: the live text while it streams, else the stored content. */
export function displayOf(
  state: ConversationStream,
  message: Message,
): { text: string; status: ReplyStatus; calls: ToolCall[]; generationId?: string } {
  const g = state.byMessage[message.id];
  const r = g ? state.replies[g] : undefined;
  if (r && (r.status.kind === 'streaming' || r.status.kind === 'queued')) {
    // Before the first event (e.g. after a reload) the stored partial reply is the best we have.
    if (r.seq > 0) return { text: r.prefix + r.text, status: r.status, calls: r.calls, generationId: g };
    return { text: message.content, status: r.status, calls: message.tool_calls ?? NO_CALLS, generationId: g };
  }
  return { text: message.content, status: statusOf(message), calls: message.tool_calls ?? NO_CALLS };
}

/** The reply of this conversation still running, if any (the newest one). */
export function runningReply(state: ConversationStream): LiveReply | null {
  let found: LiveReply | null = null;
  for (const r of Object.values(state.replies)) {
    if (r.status.kind === 'streaming' || r.status.kind === 'queued') found = r;
  }
  return found;
}

/**
 * Messages in the server's order (`position`), oldest first — never by client clocks or by the
 * order this tab happened to see them: a message and its reply are stored in the same
 * millisecond, and a socket's replay may arrive before the REST snapshot.
 */
export function ordered(state: ConversationStream): Message[] {
  return Object.values(state.messages).sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : 1));
}

/** Where to resume a conversation's newest running reply after a reconnect. */
export function resumePoint(state: ConversationStream): { generation_id?: string; after_seq?: number } {
  if (state.resync) return { generation_id: state.resync.generationId, after_seq: state.resync.afterSeq };
  const r = runningReply(state);
  return r ? { generation_id: r.generationId, after_seq: r.seq } : {};
}
