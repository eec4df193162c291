import type { ClientAction, ServerEvent } from '../api/types.gen';

/** The part of the browser's WebSocket the client uses (tests pass a fake). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
}

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** What to send in `subscribe` for a watched conversation, from what the client already has. */
export interface Resume {
  generation_id?: string;
  after_seq?: number;
}

export interface ChatSocketOptions {
  url: string;
  /** A valid access token, or null when signed out (the socket then stops). */
  getToken: (stale?: string) => Promise<string | null>;
  onEvent: (event: ServerEvent) => void;
  onStatus?: (status: SocketStatus) => void;
  /** Where each watched conversation's replies stand, for resuming after a reconnect. */
  resumeFrom?: (conversationId: string) => Resume;
  createSocket?: (url: string) => SocketLike;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Liveness: a `ping` this often; no answer before the next one means the link is dead. */
  pingIntervalMs?: number;
  random?: () => number;
}

const OPEN = 1;
/** The server closes with 1008 when a token is revoked or expires. */
const POLICY_VIOLATION = 1008;

/**
 * One WebSocket per tab to `/ws/chat`: authenticates with the first frame, watches the
 * conversations the app asks for, and after any drop reconnects with exponential backoff and
 * full jitter, then resubscribes each conversation with the last `seq` it has, so a reply
 * continues where it stopped.
 */
export class ChatSocket {
  private socket: SocketLike | null = null;
  private status: SocketStatus = 'closed';
  private attempt = 0;
  private running = false;
  private token: string | null = null;
  private readonly watched = new Set<string>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private awaitingPong = false;

  constructor(private readonly options: ChatSocketOptions) {}

  get state(): SocketStatus {
    return this.status;
  }

  /** The delay before reconnect attempt `attempt` (0-based): full jitter under a capped exponential. */
  static backoff(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
    const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
    return Math.round(initialMs / 2 + random() * (cap - initialMs / 2));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.close(1000, 'bye');
    }
    this.setStatus('closed');
  }

  /** Connects now instead of waiting out the backoff (e.g. the browser came back online). */
  reconnectNow(): void {
    if (!this.running || this.status === 'open' || this.status === 'connecting') return;
    clearTimeout(this.reconnectTimer);
    void this.connect();
  }

  /** Starts receiving a conversation's events; resolves once the server confirmed (or on timeout). */
  watch(conversationId: string, timeoutMs = 3000): Promise<void> {
    this.watched.add(conversationId);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const list = this.waiting.get(conversationId) ?? [];
      list.push(done);
      this.waiting.set(conversationId, list);
      if (this.status === 'open') this.subscribe(conversationId);
    });
  }

  /** Asks again for what a watched conversation is missing (after a gap in `seq`). */
  resubscribe(conversationId: string): void {
    if (this.watched.has(conversationId) && this.status === 'open') this.subscribe(conversationId);
  }

  unwatch(conversationId: string): void {
    if (!this.watched.delete(conversationId)) return;
    this.send({ action: 'end_conversation', data: { conversation_id: conversationId } });
  }

  /** Sends a frame if the socket is open; false otherwise. */
  send(action: ClientAction): boolean {
    if (this.status !== 'open' || !this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(action));
    return true;
  }

  /** A fresh token for the open socket, before the old one expires. */
  renew(token: string): void {
    if (token === this.token) return;
    this.token = token;
    if (this.status === 'open') this.send({ action: 'authenticate', data: { token } });
  }

  private async connect(stale?: string): Promise<void> {
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let token: string | null;
    try {
      token = await this.options.getToken(stale);
    } catch {
      this.scheduleReconnect();
      return;
    }
    if (!this.running) return;
    if (!token) {
      this.stop();
      return;
    }
    this.token = token;
    const create = this.options.createSocket ?? ((url: string) => new WebSocket(url) as SocketLike);
    let socket: SocketLike;
    try {
      socket = create(this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ action: 'authenticate', data: { token } } satisfies ClientAction));
    };
    socket.onmessage = (message) => this.receive(socket, message);
    socket.onerror = () => {
      // onclose follows and decides what to do.
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.pingTimer);
      if (!this.running) return;
      this.scheduleReconnect(event.code === POLICY_VIOLATION ? (this.token ?? undefined) : undefined);
    };
  }

  private receive(socket: SocketLike, message: MessageEvent): void {
    if (this.socket !== socket || typeof message.data !== 'string') return;
    let event: ServerEvent;
    try {
      event = JSON.parse(message.data) as ServerEvent;
    } catch {
      return;
    }
    this.awaitingPong = false;
    if (event.type === 'authenticated' && this.status !== 'open') {
      this.attempt = 0;
      this.setStatus('open');
      for (const id of this.watched) this.subscribe(id);
      this.startPings(socket);
    } else if (event.type === 'subscribed') {
      const list = this.waiting.get(event.conversation_id);
      this.waiting.delete(event.conversation_id);
      for (const done of list ?? []) done();
    }
    if (event.type !== 'pong') this.options.onEvent(event);
  }

  private subscribe(conversationId: string): void {
    const resume = this.options.resumeFrom?.(conversationId) ?? {};
    this.send({ action: 'subscribe', data: { conversation_id: conversationId, ...resume } });
  }

  private startPings(socket: SocketLike): void {
    clearInterval(this.pingTimer);
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        // No frame at all since the last ping: the link is dead even if the browser hasn't noticed.
        socket.close(4000, 'no answer to ping');
        socket.onclose?.({ code: 4000 } as CloseEvent);
        return;
      }
      this.awaitingPong = true;
      this.send({ action: 'ping' });
    }, this.options.pingIntervalMs ?? 20_000);
  }

  private scheduleReconnect(staleToken?: string): void {
    clearTimeout(this.reconnectTimer);
    const delay = ChatSocket.backoff(
      this.attempt,
      this.options.initialDelayMs ?? 500,
      this.options.maxDelayMs ?? 30_000,
      this.options.random ?? Math.random,
    );
    this.attempt += 1;
    this.setStatus('reconnecting');
    this.reconnectTimer = setTimeout(() => void this.connect(staleToken), delay);
  }

  private setStatus(status: SocketStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.options.onStatus?.(status);
  }
}
