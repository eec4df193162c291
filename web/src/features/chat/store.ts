import type { QueryClient } from '@tanstack/react-query';

import { config } from '../../api/config';
import { ApiError } from '../../api/errors';
import type { Conversation, ServerEvent } from '../../api/types.gen';
import { session } from '../../lib/session';
import { ChatSocket, type SocketStatus } from '../../lib/socket';
import { conversationKeys } from '../conversations/api';
import { fetchMessages } from './api';
import { emptyStream, reduce, resumePoint, type ConversationStream, type StreamAction } from './stream';

type Listener = () => void;

/** The longest pause before re-reading after a `resync` frame. */
const RESYNC_SPREAD_MS = 2000;

/**
 * Every conversation's live state in this tab, fed by one socket. Components read it with
 * `useSyncExternalStore`; the reducer in `stream.ts` does the folding.
 */
export class ChatStore {
  readonly socket: ChatSocket;
  private streams = new Map<string, ConversationStream>();
  private readonly listeners = new Set<Listener>();
  private status: SocketStatus = 'closed';
  private lastError: string | null = null;
  private unsubscribeSession: (() => void) | null = null;
  /** Conversations on screen (how many views show each). */
  private readonly shown = new Map<string, number>();
  private resyncTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly queries: QueryClient) {
    const url = `${config().chat_url.replace(/^http/, 'ws')}/ws/chat`;
    this.socket = new ChatSocket({
      url,
      getToken: (stale) => (stale ? session.refresh(stale) : session.accessToken()),
      onEvent: (event) => this.onEvent(event),
      onStatus: (status) => {
        this.status = status;
        this.emit();
      },
      resumeFrom: (id) => resumePoint(this.get(id)),
    });
  }

  start(): void {
    this.socket.start();
    this.unsubscribeSession = session.subscribe(() => {
      const s = session.get();
      if (s) this.socket.renew(s.accessToken);
    });
    window.addEventListener('online', this.onOnline);
  }

  stop(): void {
    this.socket.stop();
    this.unsubscribeSession?.();
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
    this.streams = new Map();
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get(conversationId: string): ConversationStream {
    return this.streams.get(conversationId) ?? emptyStream;
  }

  connection = (): SocketStatus => this.status;

  /** The newest `error` frame's sentence (e.g. a refused action), until read. */
  takeError = (): string | null => this.lastError;

  clearError(): void {
    if (this.lastError === null) return;
    this.lastError = null;
    this.emit();
  }

  dispatch(conversationId: string, action: StreamAction): void {
    const before = this.get(conversationId);
    const after = reduce(before, action);
    if (after === before) return;
    this.streams.set(conversationId, after);
    if (after.resync && after.resync !== before.resync) this.socket.resubscribe(conversationId);
    this.emit();
  }

  private onEvent(event: ServerEvent): void {
    switch (event.type) {
      case 'conversation_updated':
        this.updateConversation(event.conversation);
        return;
      case 'conversation_deleted':
        this.forget(event.conversation_id);
        return;
      case 'error':
        this.lastError = event.detail;
        this.emit();
        return;
      case 'resync':
        this.resync();
        return;
      case 'message_accepted':
      case 'generation_started':
      case 'generation_queued':
      case 'delta':
      case 'tool_call_started':
      case 'tool_call_updated':
      case 'tool_call_done':
      case 'generation_done':
      case 'subscribed':
        this.dispatch(event.conversation_id, { type: 'event', event });
        if (event.type === 'generation_done' || event.type === 'message_accepted') {
          void this.queries.invalidateQueries({ queryKey: conversationKeys.lists() });
        }
        return;
      default:
        return;
    }
  }

  /** Notes that a view shows this conversation; call the returned function when it stops. */
  showing(conversationId: string): () => void {
    this.shown.set(conversationId, (this.shown.get(conversationId) ?? 0) + 1);
    return () => {
      const left = (this.shown.get(conversationId) ?? 1) - 1;
      if (left > 0) this.shown.set(conversationId, left);
      else this.shown.delete(conversationId);
    };
  }

  /**
   * Some events may have been lost (the socket fell behind, or the server's link to the other
   * replicas was cut): the replies were caught up by the socket; titles, deletions and messages
   * posted elsewhere are read again — the lists (refetched if on screen) and the conversations
   * on screen (others are read when next opened). Once per burst of frames, after a random
   * pause, so a server's sockets do not all ask at the same moment.
   */
  private resync(): void {
    if (this.resyncTimer !== undefined) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      void this.queries.invalidateQueries({ queryKey: conversationKeys.all });
      for (const id of this.shown.keys()) {
        fetchMessages(id)
          .then((messages) => this.dispatch(id, { type: 'snapshot', messages }))
          .catch((err: unknown) => {
            if (err instanceof ApiError && err.status === 404) this.forget(id); // deleted meanwhile
          });
      }
    }, Math.random() * RESYNC_SPREAD_MS);
  }

  private forget(conversationId: string): void {
    this.streams.delete(conversationId);
    this.queries.removeQueries({ queryKey: conversationKeys.one(conversationId) });
    void this.queries.invalidateQueries({ queryKey: conversationKeys.lists() });
    this.emit();
  }

  private updateConversation(conversation: Conversation): void {
    this.queries.setQueryData(conversationKeys.one(conversation.id), conversation);
    void this.queries.invalidateQueries({ queryKey: conversationKeys.lists() });
  }

  private onOnline = () => this.socket.reconnectNow();

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
