import { describe, expect, it } from 'vitest';

import type { Message, ServerEvent, ToolCall } from '../../api/types.gen';
import { activePath } from './branches';
import {
  displayOf,
  emptyStream,
  ordered,
  reduce,
  resumePoint,
  type ConversationStream,
  type StreamAction,
} from './stream';

const C = 'conv00000001';

const AT = '2026-11-25T10:00:00.000Z';

function message(id: string, patch: Partial<Message> = {}): Message {
  return {
    id,
    conversation_id: C,
    role: 'assistant',
    content: '',
    status: 'streaming',
    created_at: AT,
    position: 2,
    parent_id: null,
    ...patch,
  };
}

const started = (g = 'g1', m = 'r1', position = 2, prefix = ''): ServerEvent => ({
  type: 'generation_started',
  generation_id: g,
  conversation_id: C,
  message_id: m,
  parent_id: 'u1',
  position,
  model: 'fake-model',
  prefix,
});
const delta = (seq: number, text: string, g = 'g1'): ServerEvent => ({
  type: 'delta',
  generation_id: g,
  conversation_id: C,
  seq,
  text,
});
const done = (
  content: string,
  status: Message['status'] = 'complete',
  reason: string | null = null,
  g = 'g1',
  patch: Partial<Message> = {},
): ServerEvent => ({
  type: 'generation_done',
  generation_id: g,
  conversation_id: C,
  status,
  message: message('r1', { content, status, parent_id: 'u1', error: reason, ...patch }),
  usage: null,
  reason,
});

function fold(events: ServerEvent[], state: ConversationStream = emptyStream): ConversationStream {
  return events.reduce((s, event) => reduce(s, { type: 'event', event }), state);
}

function shown(state: ConversationStream, id = 'r1') {
  const m = state.messages[id];
  if (!m) throw new Error(`no message ${id}`);
  const { text, status } = displayOf(state, m);
  return { text, status };
}

function callsShown(state: ConversationStream, id = 'r1'): ToolCall[] {
  const m = state.messages[id];
  if (!m) throw new Error(`no message ${id}`);
  return displayOf(state, m).calls;
}

const call = (patch: Partial<ToolCall> = {}): ToolCall => ({
  id: 'call_1',
  name: 'get_current_time',
  server: 'clock',
  arguments: '{"timezone":"Asia/Tokyo"}',
  offset: 0,
  result: null,
  error: null,
  duration_ms: null,
  ...patch,
});
const toolEvent = (
  type: 'tool_call_started' | 'tool_call_updated' | 'tool_call_done',
  seq: number,
  c: ToolCall,
  g = 'g1',
): ServerEvent => ({
  type,
  generation_id: g,
  conversation_id: C,
  seq,
  call: c,
});

describe('stream reducer', () => {
  it('builds a reply from ordered deltas and ends complete', () => {
    const s = fold([started(), delta(1, 'Hel'), delta(2, 'lo'), delta(3, '!')]);
    expect(shown(s)).toEqual({ text: 'Hello!', status: { kind: 'streaming' } });
    expect(s.messages.r1?.parent_id).toBe('u1');
    const end = fold([done('Hello!')], s);
    expect(shown(end)).toEqual({ text: 'Hello!', status: { kind: 'complete' } });
    expect(end.finished).toEqual({ messageId: 'r1', status: { kind: 'complete' } });
  });

  it('ignores deltas it already has (a resend after reconnect)', () => {
    const s = fold([started(), delta(1, 'a'), delta(2, 'b'), delta(1, 'a'), delta(2, 'b'), delta(3, 'c')]);
    expect(shown(s).text).toBe('abc');
    expect(s.replies.g1?.seq).toBe(3);
  });

  it('never applies a delta after a gap, and asks to resume from the last one it has', () => {
    const s = fold([started(), delta(1, 'a'), delta(3, 'c')]);
    expect(shown(s).text).toBe('a');
    expect(s.resync).toEqual({ generationId: 'g1', afterSeq: 1 });
    expect(resumePoint(s)).toEqual({ generation_id: 'g1', after_seq: 1 });
    const healed = fold([delta(2, 'b'), delta(3, 'c')], s);
    expect(shown(healed).text).toBe('abc');
    expect(healed.resync).toBeNull();
  });

  it('resumes after a reload: stored partial text first, then the deltas from the start', () => {
    let s = reduce(emptyStream, { type: 'snapshot', messages: [message('r1', { content: 'Hel' })] });
    expect(shown(s)).toEqual({ text: 'Hel', status: { kind: 'streaming' } });
    s = fold(
      [
        {
          type: 'subscribed',
          conversation_id: C,
          generation: { generation_id: 'g1', message_id: 'r1', seq: 2, prefix: '' },
        },
      ],
      s,
    );
    expect(shown(s).text).toBe('Hel');
    s = fold([delta(1, 'Hel'), delta(2, 'lo'), delta(3, ' there')], s);
    expect(shown(s).text).toBe('Hello there');
    expect(resumePoint(s)).toEqual({ generation_id: 'g1', after_seq: 3 });
  });

  it('keeps exactly the streamed text when stopped', () => {
    const s = fold([started(), delta(1, 'Once'), delta(2, ' upon'), done('Once upon', 'cancelled')]);
    expect(shown(s)).toEqual({ text: 'Once upon', status: { kind: 'incomplete', reason: 'cancelled' } });
    // A late delta of the ended reply changes nothing.
    expect(shown(fold([delta(3, ' a time')], s)).text).toBe('Once upon');
    expect(resumePoint(s)).toEqual({});
  });

  it('shows why a reply failed', () => {
    const s = fold([started(), delta(1, 'Par'), done('Par', 'failed', 'The model provider failed: 500')]);
    expect(shown(s).status).toEqual({
      kind: 'incomplete',
      reason: 'failed',
      detail: 'The model provider failed: 500',
    });
  });

  it('shows the queue position until the first delta', () => {
    let s = fold([started(), { type: 'generation_queued', generation_id: 'g1', conversation_id: C, position: 2 }]);
    expect(shown(s).status).toEqual({ kind: 'queued', position: 2 });
    s = fold([delta(1, 'x')], s);
    expect(shown(s).status).toEqual({ kind: 'streaming' });
  });

  it('does not let an older snapshot undo a finished reply', () => {
    const s = fold([started(), delta(1, 'Done.'), done('Done.')]);
    const after = reduce(s, { type: 'snapshot', messages: [message('r1', { content: 'Do', status: 'streaming' })] });
    expect(shown(after)).toEqual({ text: 'Done.', status: { kind: 'complete' } });
  });

  it('ends a reply whose end it missed when a snapshot says it ended', () => {
    const s = fold([started(), delta(1, 'Hel')]);
    expect(shown(s).status).toEqual({ kind: 'streaming' });
    const after = reduce(s, { type: 'snapshot', messages: [message('r1', { content: 'Hello.', status: 'complete' })] });
    expect(shown(after)).toEqual({ text: 'Hello.', status: { kind: 'complete' } });
    expect(resumePoint(after)).toEqual({});
  });

  it('keeps two replies of one conversation apart', () => {
    const s = fold([
      started('g1', 'r1'),
      started('g2', 'r2'),
      delta(1, 'one', 'g1'),
      delta(1, 'two', 'g2'),
      delta(2, '!', 'g2'),
    ]);
    expect(shown(s, 'r1').text).toBe('one');
    expect(shown(s, 'r2').text).toBe('two!');
    expect(resumePoint(s)).toEqual({ generation_id: 'g2', after_seq: 2 });
  });

  it('shows a reply cut by the length limit as such', () => {
    const s = fold([
      started(),
      delta(1, 'It was'),
      done('It was', 'incomplete', null, 'g1', { finish_reason: 'length' }),
    ]);
    expect(shown(s)).toEqual({ text: 'It was', status: { kind: 'incomplete', reason: 'length' } });
    const stored = reduce(emptyStream, {
      type: 'snapshot',
      messages: [message('r1', { content: 'It was', status: 'incomplete', finish_reason: 'length' })],
    });
    expect(shown(stored).status).toEqual({ kind: 'incomplete', reason: 'length' });
  });

  it('continues a reply after the text it already had, also after a reload', () => {
    const cut = reduce(emptyStream, {
      type: 'snapshot',
      messages: [message('r1', { content: 'It was a', status: 'incomplete', finish_reason: 'length' })],
    });
    const s = fold([started('g2', 'r1', 2, 'It was a'), delta(1, ' dark', 'g2'), delta(2, ' night', 'g2')], cut);
    expect(shown(s)).toEqual({ text: 'It was a dark night', status: { kind: 'streaming' } });
    // A reload mid-continuation: the stored text already holds some deltas; the replay restarts
    // after the prefix, so nothing is shown twice.
    const reloaded = fold(
      [
        {
          type: 'subscribed',
          conversation_id: C,
          generation: { generation_id: 'g2', message_id: 'r1', seq: 1, prefix: 'It was a' },
        },
        delta(1, ' dark', 'g2'),
        delta(2, ' night', 'g2'),
      ],
      reduce(emptyStream, { type: 'snapshot', messages: [message('r1', { content: 'It was a dark' })] }),
    );
    expect(shown(reloaded).text).toBe('It was a dark night');
  });
});

/** Every order of `items`. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('tool calls in a reply', () => {
  it('shows a call as it starts and ends, numbered with the deltas', () => {
    const running = call();
    const ended = call({ result: '10:00 JST', duration_ms: 120 });
    const s = fold([started(), delta(1, 'Let me look. '), toolEvent('tool_call_started', 2, running)]);
    expect(callsShown(s)).toEqual([running]);
    const after = fold([toolEvent('tool_call_done', 3, ended), delta(4, 'It is 10:00.')], s);
    expect(callsShown(after)).toEqual([ended]);
    expect(shown(after).text).toBe('Let me look. It is 10:00.');
    expect(after.replies.g1?.seq).toBe(4);
    // The stored reply carries its calls once it has ended.
    const end = fold([done('Let me look. It is 10:00.', 'complete', null, 'g1', { tool_calls: [ended] })], after);
    expect(callsShown(end)).toEqual([ended]);
  });

  it('never applies a call after a gap, and skips one it already has', () => {
    const s = fold([started(), delta(1, 'a'), toolEvent('tool_call_started', 3, call())]);
    expect(callsShown(s)).toEqual([]);
    expect(s.resync).toEqual({ generationId: 'g1', afterSeq: 1 });
    const healed = fold(
      [delta(2, 'b'), toolEvent('tool_call_started', 3, call()), toolEvent('tool_call_started', 3, call())],
      s,
    );
    expect(callsShown(healed)).toHaveLength(1);
    expect(healed.resync).toBeNull();
  });

  it('shows a call waiting for approval, then approved with progress, then done', () => {
    const waiting = call({ approval: 'pending' });
    const approved = call({ approval: 'approved' });
    const progressing = call({ approval: 'approved', progress: { progress: 3, total: 10, message: '3 of 10' } });
    const ended = call({ approval: 'approved', result: '10:00 JST', duration_ms: 80 });
    const s = fold([started(), toolEvent('tool_call_started', 1, waiting)]);
    expect(callsShown(s)).toEqual([waiting]);
    const later = fold(
      [toolEvent('tool_call_updated', 2, approved), toolEvent('tool_call_updated', 3, progressing)],
      s,
    );
    expect(callsShown(later)).toEqual([progressing]);
    // An update seen again (a resend after a reconnect) changes nothing.
    expect(fold([toolEvent('tool_call_updated', 2, approved)], later)).toBe(later);
    expect(callsShown(fold([toolEvent('tool_call_done', 4, ended)], later))).toEqual([ended]);
  });

  it('after a reload, shows the stored calls until the first event', () => {
    const stored = message('r1', { content: 'Let me look.', tool_calls: [call()] });
    const s = fold([started()], reduce(emptyStream, { type: 'snapshot', messages: [stored] }));
    expect(callsShown(s)).toEqual([call()]);
  });
});

describe('message order', () => {
  // A user message and its reply, stored in one transaction: the same millisecond.
  const question = message('u1', {
    role: 'user',
    content: 'What is the capital of France?',
    status: 'complete',
    position: 1,
  });
  const answer = message('r1', { content: 'Paris.', status: 'complete', parent_id: 'u1', position: 2 });

  it('follows the server order whatever order the tab sees the messages in', () => {
    // What a reload sees: the REST snapshot, and the socket replaying the recent generation
    // (its start, a delta and its end) — in any order relative to each other.
    const actions: StreamAction[] = [
      { type: 'snapshot', messages: [question, answer] },
      { type: 'event', event: started('g1', 'r1', 2) },
      { type: 'event', event: delta(1, 'Paris.') },
      { type: 'event', event: done('Paris.') },
      { type: 'message', message: question },
    ];
    const orders = permutations(actions);
    expect(orders).toHaveLength(120);
    for (const order of orders) {
      const s = order.reduce(reduce, emptyStream);
      expect(ordered(s).map((m) => m.id)).toEqual(['u1', 'r1']);
      // The shown branch ends at the newest leaf: the reply.
      expect(activePath(ordered(s), null).map((p) => p.message.id)).toEqual(['u1', 'r1']);
      expect(shown(s).text).toBe('Paris.');
    }
  });

  it('orders by position, never by time', () => {
    const s = reduce(emptyStream, {
      type: 'snapshot',
      messages: [
        message('b', { position: 2, created_at: '2026-11-25T10:00:00.000Z' }),
        message('a', { position: 1, created_at: '2026-11-25T10:00:09.000Z' }),
        message('c', { position: 3, created_at: '2026-11-25T10:00:00.000Z' }),
      ],
    });
    expect(ordered(s).map((m) => m.id)).toEqual(['a', 'b', 'c']);
  });

  it('merges an older page into the loaded one without repeats', () => {
    const newest = reduce(emptyStream, {
      type: 'snapshot',
      messages: ['m3', 'm4'].map((id, i) => message(id, { position: 3 + i, status: 'complete' })),
    });
    // The older page overlaps the loaded one by a message (a page boundary seen twice).
    const older = reduce(newest, {
      type: 'snapshot',
      messages: ['m1', 'm2', 'm3'].map((id, i) => message(id, { position: 1 + i })),
    });
    expect(ordered(older).map((m) => m.id)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(Object.keys(older.messages)).toHaveLength(4);
    // m3 was already final: the page's streaming copy of it does not replace it.
    expect(older.messages.m3?.status).toBe('complete');
    // A page that changes nothing leaves the state as it was, so nothing renders again.
    const same = reduce(older, { type: 'snapshot', messages: [message('m4', { position: 4, status: 'streaming' })] });
    expect(same).toBe(older);
  });
});
