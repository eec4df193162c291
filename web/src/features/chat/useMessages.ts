import { useCallback, useEffect, useRef, useState } from 'react';

import { ApiError, messageOf } from '../../api/errors';
import type { SocketStatus } from '../../lib/socket';
import { fetchMessages, PAGE_SIZE } from './api';
import { hasOlder } from './pages';
import type { ChatStore } from './store';

/** Waits between attempts while the server cannot be reached: 1, 2, 4, 8, then 15 s. */
const retryDelay = (attempt: number) => Math.min(1000 * 2 ** attempt, 15_000);

/** The server is down or unreachable (worth asking again), not refusing the request. */
export const isTransient = (error: unknown) => error instanceof ApiError && (error.status === 0 || error.status >= 500);

export interface MessagePages {
  hasOlder: boolean;
  loadOlder: () => Promise<void>;
  /** A refusal worth showing (e.g. 404), not an outage. */
  error: string | null;
  /** The newest page could not be fetched yet; it is being asked again. */
  waiting: boolean;
  retryNow: () => void;
}

/**
 * The conversation's newest page of messages into the store, then older pages on demand. While
 * the server cannot be reached it keeps asking — with a backoff, and at once when the socket
 * reconnects — so a page opened during an outage fills in by itself when the server is back.
 */
export function useMessagePages(id: string, store: ChatStore, connection: SocketStatus): MessagePages {
  const [older, setOlder] = useState<{ has: boolean; before?: string }>({ has: false });
  const [error, setError] = useState<string | null>(null);
  const [waiting, setWaiting] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const loaded = useRef(false);

  useEffect(() => {
    if (loaded.current) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    fetchMessages(id)
      .then((messages) => {
        if (cancelled) return;
        loaded.current = true;
        store.dispatch(id, { type: 'snapshot', messages });
        setOlder({ has: hasOlder(messages, PAGE_SIZE), before: messages[0]?.id });
        setWaiting(false);
        setError(null);
      })
      .catch((err: unknown) => {
        if (cancelled) return;
        if (!isTransient(err)) {
          setError(messageOf(err));
          return;
        }
        setWaiting(true);
        timer = setTimeout(() => setAttempt((n) => n + 1), retryDelay(attempt));
      });
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [id, store, attempt]);

  // While shown, the conversation is read again when the socket says events were lost.
  useEffect(() => store.showing(id), [id, store]);

  // The socket is back: the server is, too.
  useEffect(() => {
    if (connection === 'open' && !loaded.current) setAttempt((n) => n + 1);
  }, [connection]);

  const loadOlder = useCallback(async () => {
    if (!older.has || !older.before) return;
    try {
      const messages = await fetchMessages(id, older.before);
      store.dispatch(id, { type: 'snapshot', messages });
      setOlder({ has: hasOlder(messages, PAGE_SIZE), before: messages[0]?.id });
    } catch (err) {
      // A failed older page is asked again when the reader scrolls up again.
      if (!isTransient(err)) setError(messageOf(err));
    }
  }, [id, older, store]);

  const retryNow = useCallback(() => setAttempt((n) => n + 1), []);
  return { hasOlder: older.has, loadOlder, error, waiting, retryNow };
}
