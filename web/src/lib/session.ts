import { config } from '../api/config';
import { ApiError, offline } from '../api/errors';
import type { TokenResponse } from '../api/types.gen';

/** The signed-in session, shared by every tab of this browser. */
export interface StoredSession {
  username: string;
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  refreshToken: string;
}

const STORAGE_KEY = 'openchat.session';
const CLIENT_ID = 'openchat-web';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

type Listener = () => void;

const LOCK_KEY = 'openchat.refresh-lock';
/** A lock older than this was left by a tab that closed mid-refresh: it is taken over. */
const LOCK_TTL_MS = 10_000;
/** How long a tab waits after writing the lock before it trusts that no other tab overwrote it. */
const LOCK_SETTLE_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A lock across the tabs of this browser in localStorage, for pages without Web Locks
 * (`navigator.locks` exists only in secure contexts: not over plain HTTP on a LAN address).
 * Write your claim, wait a moment, and hold the lock only if the claim is still yours; a claim
 * past its deadline belongs to a tab that went away. Not airtight against perfectly simultaneous
 * writes, but the refresh it guards looks again in storage before using the refresh token, so a
 * tab that loses the race adopts the other's tokens instead of reusing the old one.
 */
export async function withStorageLock<T>(storage: Storage, task: () => Promise<T>): Promise<T> {
  const me = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  for (;;) {
    const held = parseLock(storage.getItem(LOCK_KEY));
    if (!held || held.until < Date.now()) {
      storage.setItem(LOCK_KEY, JSON.stringify({ owner: me, until: Date.now() + LOCK_TTL_MS }));
      await sleep(LOCK_SETTLE_MS);
      if (parseLock(storage.getItem(LOCK_KEY))?.owner === me) break;
    }
    await sleep(LOCK_SETTLE_MS + Math.random() * LOCK_SETTLE_MS);
  }
  try {
    return await task();
  } finally {
    if (parseLock(storage.getItem(LOCK_KEY))?.owner === me) storage.removeItem(LOCK_KEY);
  }
}

function parseLock(raw: string | null): { owner: string; until: number } | null {
  if (!raw) return null;
  try {
    const lock = JSON.parse(raw) as { owner: string; until: number };
    return typeof lock.owner === 'string' && typeof lock.until === 'number' ? lock : null;
  } catch {
    return null;
  }
}

function parse(raw: string | null): StoredSession | null {
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as StoredSession;
    return typeof s.accessToken === 'string' && typeof s.refreshToken === 'string' ? s : null;
  } catch {
    return null;
  }
}

async function tokenRequest(form: Record<string, string>): Promise<TokenResponse> {
  let response: Response;
  try {
    response = await fetch(`${config().auth_url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form, client_id: CLIENT_ID }),
    });
  } catch {
    throw offline();
  }
  if (!response.ok) throw await ApiError.from(response);
  return (await response.json()) as TokenResponse;
}

/**
 * Tokens live in localStorage so a reload or a second tab stays signed in. Refresh tokens rotate
 * and a reused one ends the whole session, so tabs refresh one at a time (Web Locks, or a lock
 * in localStorage where Web Locks are missing) and each first looks whether another tab has
 * already done it.
 */
export class Session {
  private current: StoredSession | null;
  private readonly listeners = new Set<Listener>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshing: Promise<string | null> | null = null;
  private loggedOut = false;

  constructor(private readonly storage: Storage = window.localStorage) {
    this.current = parse(storage.getItem(STORAGE_KEY));
    window.addEventListener('storage', (e) => {
      if (e.key === STORAGE_KEY) this.adopt(parse(e.newValue));
    });
    this.schedule();
  }

  get(): StoredSession | null {
    return this.current;
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  async login(username: string, password: string): Promise<void> {
    const tokens = await tokenRequest({ grant_type: 'password', username, password });
    this.loggedOut = false;
    this.store(username, tokens);
  }

  /** Whether the session ended by the user's own logout (rather than expiring or being revoked). */
  endedByLogout(): boolean {
    return this.loggedOut;
  }

  /** A usable access token, refreshed first when it is about to expire; null when signed out. */
  async accessToken(): Promise<string | null> {
    const s = this.current;
    if (!s) return null;
    if (s.expiresAt - Date.now() > REFRESH_MARGIN_MS / 2) return s.accessToken;
    return this.refresh(s.accessToken);
  }

  /** Replaces `stale` (the token that just failed or is expiring) with a fresh one. */
  refresh(stale: string | null): Promise<string | null> {
    this.refreshing ??= this.withLock(() => this.refreshLocked(stale)).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Ends the session on the server (its refresh token family is revoked) and here. */
  async logout(): Promise<void> {
    const s = this.current;
    this.loggedOut = true;
    this.clear();
    if (!s) return;
    try {
      await fetch(`${config().auth_url}/auth/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.accessToken}` },
      });
      await fetch(`${config().auth_url}/auth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: s.refreshToken, token_type_hint: 'refresh_token', client_id: CLIENT_ID }),
      });
    } catch {
      // Signed out here either way; the server ends an unused session when it expires.
    }
  }

  clear(): void {
    this.storage.removeItem(STORAGE_KEY);
    this.adopt(null);
  }

  private async refreshLocked(stale: string | null): Promise<string | null> {
    // Another tab may have refreshed while this one waited for the lock.
    const latest = parse(this.storage.getItem(STORAGE_KEY));
    if (!latest) {
      this.adopt(null);
      return null;
    }
    if (latest.accessToken !== stale && latest.expiresAt - Date.now() > REFRESH_MARGIN_MS / 2) {
      this.adopt(latest);
      return latest.accessToken;
    }
    try {
      const tokens = await tokenRequest({ grant_type: 'refresh_token', refresh_token: latest.refreshToken });
      this.store(latest.username, tokens);
      return tokens.access_token;
    } catch (error) {
      // A refused refresh token means the session is over; a network error does not.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        this.clear();
        return null;
      }
      throw error;
    }
  }

  private async withLock<T>(task: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    return locks ? locks.request('openchat.refresh', task) : withStorageLock(this.storage, task);
  }

  private store(username: string, tokens: TokenResponse): void {
    const session: StoredSession = {
      username,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: Date.now() + tokens.expires_in * 1000,
    };
    this.storage.setItem(STORAGE_KEY, JSON.stringify(session));
    this.adopt(session);
  }

  private adopt(next: StoredSession | null): void {
    const changed = next?.accessToken !== this.current?.accessToken;
    this.current = next;
    this.schedule();
    if (changed) for (const l of this.listeners) l();
  }

  /** Refreshes shortly before expiry, so sockets and requests never hold an expired token. */
  private schedule(): void {
    clearTimeout(this.timer);
    const s = this.current;
    if (!s) return;
    const due = Math.max(1_000, s.expiresAt - Date.now() - REFRESH_MARGIN_MS);
    this.timer = setTimeout(() => {
      this.refresh(s.accessToken).catch(() => this.schedule());
    }, due);
  }
}

export const session = new Session();
