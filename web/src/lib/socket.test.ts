import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { ServerEvent } from '../api/types.gen';
import { ChatSocket, type Resume, type SocketLike } from './socket';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;

  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  // What the server does:
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  emit(event: ServerEvent) {
    this.onmessage?.({ data: JSON.stringify(event) } as MessageEvent);
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

describe('ChatSocket', () => {
  let sockets: FakeSocket[];
  let events: ServerEvent[];
  let resume: Record<string, Resume>;
  let tokens: Array<string | undefined>;

  function client(getToken?: (stale?: string) => Promise<string | null>) {
    return new ChatSocket({
      url: 'ws://chat/ws/chat',
      getToken:
        getToken ??
        (async (stale) => {
          tokens.push(stale);
          return 'token-1';
        }),
      onEvent: (e) => events.push(e),
      resumeFrom: (id) => resume[id] ?? {},
      createSocket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      initialDelayMs: 1000,
      maxDelayMs: 8000,
      pingIntervalMs: 20_000,
      random: () => 1,
    });
  }

  async function connected(): Promise<FakeSocket> {
    await vi.advanceTimersByTimeAsync(0);
    const s = sockets[sockets.length - 1]!;
    s.open();
    s.emit({ type: 'authenticated', username: 'ann' });
    return s;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    events = [];
    resume = {};
    tokens = [];
  });
  afterEach(() => vi.useRealTimers());

  it('authenticates with the first frame, then subscribes what it watches', async () => {
    const c = client();
    void c.watch('conv1');
    c.start();
    const s = await connected();
    expect(s.sent[0]).toEqual({ action: 'authenticate', data: { token: 'token-1' } });
    expect(s.sent[1]).toEqual({ action: 'subscribe', data: { conversation_id: 'conv1' } });
    expect(c.state).toBe('open');
  });

  it('reconnects with growing, capped delays and resubscribes with after_seq', async () => {
    const c = client();
    c.start();
    let s = await connected();
    void c.watch('conv1');
    resume.conv1 = { generation_id: 'g1', after_seq: 7 };

    const delays: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = sockets.length;
      s.drop();
      expect(c.state).toBe('reconnecting');
      let waited = 0;
      while (sockets.length === before) {
        await vi.advanceTimersByTimeAsync(100);
        waited += 100;
      }
      delays.push(waited);
      s = sockets[sockets.length - 1]!;
      // The server refuses to complete the handshake: the next attempt waits longer.
      if (attempt < 4) continue;
    }
    // random() = 1 gives the cap of each step: 1 s, 2 s, 4 s, 8 s, 8 s.
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000]);

    s.open();
    s.emit({ type: 'authenticated', username: 'ann' });
    expect(s.sent).toContainEqual({
      action: 'subscribe',
      data: { conversation_id: 'conv1', generation_id: 'g1', after_seq: 7 },
    });
    // A successful connection resets the backoff.
    s.drop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets.length).toBe(7);
  });

  it('asks for a fresh token after the server closed for policy (revoked or expired token)', async () => {
    const c = client();
    c.start();
    const s = await connected();
    s.drop(1008);
    await vi.advanceTimersByTimeAsync(1000);
    expect(tokens).toEqual([undefined, 'token-1']);
  });

  it('stops when signed out instead of retrying forever', async () => {
    let calls = 0;
    const c = client(async () => (++calls === 1 ? 'token-1' : null));
    c.start();
    const s = await connected();
    s.drop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.state).toBe('closed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets.length).toBe(1);
  });

  it('treats a silent link as dead and reconnects', async () => {
    const c = client();
    c.start();
    const s = await connected();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(s.sent).toContainEqual({ action: 'ping' });
    await vi.advanceTimersByTimeAsync(20_000); // no pong
    expect(s.closed).toBe(true);
    expect(c.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets.length).toBe(2);
  });

  it('delivers events, resolves watch on subscribed, and renews the token in place', async () => {
    const c = client();
    c.start();
    const s = await connected();
    let confirmed = false;
    void c.watch('conv2').then(() => (confirmed = true));
    s.emit({ type: 'subscribed', conversation_id: 'conv2', generation: null });
    await vi.advanceTimersByTimeAsync(0);
    expect(confirmed).toBe(true);
    s.emit({ type: 'delta', generation_id: 'g', conversation_id: 'conv2', seq: 1, text: 'hi' });
    expect(events.map((e) => e.type)).toEqual(['authenticated', 'subscribed', 'delta']);
    c.renew('token-2');
    expect(s.sent).toContainEqual({ action: 'authenticate', data: { token: 'token-2' } });
    c.unwatch('conv2');
    expect(s.sent).toContainEqual({ action: 'end_conversation', data: { conversation_id: 'conv2' } });
  });

  it('refuses to send while disconnected', async () => {
    const c = client();
    c.start();
    const s = await connected();
    s.drop();
    expect(c.send({ action: 'stop', data: { generation_id: 'g' } })).toBe(false);
  });
});

describe('ChatSocket.backoff', () => {
  it('stays between half the first delay and the cap', () => {
    for (let attempt = 0; attempt < 30; attempt++) {
      for (const r of [0, 0.5, 1]) {
        const d = ChatSocket.backoff(attempt, 500, 30_000, () => r);
        expect(d).toBeGreaterThanOrEqual(250);
        expect(d).toBeLessThanOrEqual(Math.min(30_000, 500 * 2 ** attempt));
      }
    }
  });
});
