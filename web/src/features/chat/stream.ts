import type { Message, ServerEvent } from '../../api/types.gen';

/** Where a reply stands: a tagged union with a reason, never a pair of booleans. */
export type ReplyStatus =
  | { kind: 'queued'; position: number }
  | { kind: 'streaming' }
  | { kind: 'complete' }
  | { kind: 'incomplete'; reason: 'cancelled' | 'failed' | 'interrupted'; detail?: string };

/** A reply as the stream built it: `seq` is the last delta applied, `text` the deltas joined. */
export interface LiveReply {
  generationId: string;
  messageId: string | null;
  seq: number;
  text: string;
  status: ReplyStatus;
}

/** One conversation's messages (every branch) and its replies' live state. */
export interface ConversationStream {
  messages: Record<string, Message>;
  /** First-seen order, the tie-break between messages stored in the same millisecond. */
  seen: Record<string, number>;
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
  seen: {},
  replies: {},
  byMessage: {},
  resync: null,
  finished: null,
};

const TERMINAL = new Set(['complete', 'cancelled', 'failed', 'interrupted']);

// Shared objects, so an unchanged message keeps equal props and is not rendered again.
const STREAMING: ReplyStatus = { kind: 'streaming' };
const COMPLETE: ReplyStatus = { kind: 'complete' };
const CANCELLED: ReplyStatus = { kind: 'incomplete', reason: 'cancelled' };
const INTERRUPTED: ReplyStatus = { kind: 'incomplete', reason: 'interrupted' };
const failedStatus = new Map<string, ReplyStatus>();

function statusOf(message: Message): ReplyStatus {
  switch (message.status) {
    case 'streaming':
      return STREAMING;
    case 'cancelled':
      return CANCELLED;
    case 'interrupted':
      return INTERRUPTED;
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
 * The maps are copied once per call, not once per message: a page of 200 older messages joining
 * 2 000 loaded ones costs one copy, not 200.
 */
function upsert(state: ConversationStream, ...incoming: Message[]): ConversationStream {
  let messages: Record<string, Message> | null = null;
  let seen: Record<string, number> | null = null;
  let order = 0;
  for (const message of incoming) {
    const existing = (messages ?? state.messages)[message.id];
    if (existing && TERMINAL.has(existing.status) && message.status === 'streaming') continue;
    messages ??= { ...state.messages };
    messages[message.id] = message;
    if (!(message.id in (seen ?? state.seen))) {
      if (!seen) {
        seen = { ...state.seen };
        order = Object.keys(seen).length;
      }
      seen[message.id] = order++;
    }
  }
  return messages ? { ...state, messages, seen: seen ?? state.seen } : state;
}

function reply(state: ConversationStream, generationId: string): LiveReply {
  return (
    state.replies[generationId] ?? { generationId, messageId: null, seq: 0, text: '', status: { kind: 'streaming' } }
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
      return upsert(state, ...action.messages);
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
      const next = withReply(state, { ...r, messageId: event.message_id });
      if (next.messages[event.message_id]) return next;
      return upsert(next, {
        id: event.message_id,
        conversation_id: event.conversation_id,
        role: 'assistant',
        content: '',
        status: 'streaming',
        created_at: new Date().toISOString(),
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
      return withReply(state, { ...r, messageId: g.message_id });
    }
    case 'delta': {
      const r = reply(state, event.generation_id);
      if (r.status.kind === 'complete' || r.status.kind === 'incomplete') return state;
      if (event.seq <= r.seq) return state; // already applied (a resend after reconnect)
      if (event.seq !== r.seq + 1) {
        // A gap: keep what is consistent and ask for the rest.
        return { ...state, resync: { generationId: r.generationId, afterSeq: r.seq } };
      }
      const next = withReply(state, { ...r, seq: event.seq, text: r.text + event.text, status: { kind: 'streaming' } });
      return next.resync?.generationId === r.generationId ? { ...next, resync: null } : next;
    }
    case 'generation_done': {
      const r = reply(state, event.generation_id);
      const status: ReplyStatus =
        event.status === 'complete'
          ? { kind: 'complete' }
          : event.status === 'cancelled'
            ? { kind: 'incomplete', reason: 'cancelled' }
            : { kind: 'incomplete', reason: 'failed', detail: event.reason ?? event.message.error ?? undefined };
      const done = withReply(state, { ...r, messageId: event.message.id, text: event.message.content, status });
      const stored = upsert(done, event.message);
      const resync = stored.resync?.generationId === r.generationId ? null : stored.resync;
      return { ...stored, resync, finished: { messageId: event.message.id, status } };
    }
    default:
      return state;
  }
}

/** What to show for a message: the live text while it streams, else the stored content. */
export function displayOf(state: ConversationStream, message: Message): { text: string; status: ReplyStatus } {
  const g = state.byMessage[message.id];
  const r = g ? state.replies[g] : undefined;
  if (r && (r.status.kind === 'streaming' || r.status.kind === 'queued')) {
    // Before the first delta (e.g. after a reload) the stored partial text is the best we have.
    return { text: r.seq > 0 ? r.text : message.content, status: r.status };
  }
  return { text: message.content, status: statusOf(message) };
}

/** The reply of this conversation still running, if any (the newest one). */
export function runningReply(state: ConversationStream): LiveReply | null {
  let found: LiveReply | null = null;
  for (const r of Object.values(state.replies)) {
    if (r.status.kind === 'streaming' || r.status.kind === 'queued') found = r;
  }
  return found;
}

/** Messages oldest first. */
export function ordered(state: ConversationStream): Message[] {
  const keyed = Object.values(state.messages).map((m) => ({
    m,
    time: Date.parse(m.created_at) || 0,
    seen: state.seen[m.id] ?? 0,
  }));
  keyed.sort((a, b) => a.time - b.time || a.seen - b.seen);
  return keyed.map((k) => k.m);
}

/** Where to resume a conversation's newest running reply after a reconnect. */
export function resumePoint(state: ConversationStream): { generation_id?: string; after_seq?: number } {
  if (state.resync) return { generation_id: state.resync.generationId, after_seq: state.resync.afterSeq };
  const r = runningReply(state);
  return r ? { generation_id: r.generationId, after_seq: r.seq } : {};
}
