import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

class MemoryStorage implements Storage {
  private items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

/**
 * Two tabs of one browser over plain HTTP: one localStorage, no `navigator.locks`. The server
 * rotates refresh tokens and ends the session when a used one comes back.
 */
describe('two tabs without Web Locks', () => {
  const storage = new MemoryStorage();
  let used: string[];
  let valid: string;

  beforeEach(() => {
    storage.clear();
    used = [];
    valid = 'refresh-0';
    vi.stubGlobal('window', { localStorage: storage, addEventListener: () => {}, location: { hostname: 'lan-host' } });
    vi.stubGlobal('navigator', {});
    vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
      const form = new URLSearchParams(init.body as URLSearchParams);
      const presented = form.get('refresh_token')!;
      used.push(presented);
      // Let the other tab run while this request is on the wire.
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (presented !== valid) {
        return new Response(JSON.stringify({ detail: 'reused', error: 'invalid_grant' }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        });
      }
      const n = Number(presented.split('-')[1]) + 1;
      valid = `refresh-${n}`;
      return new Response(
        JSON.stringify({
          access_token: `access-${n}`,
          refresh_token: valid,
          token_type: 'bearer',
          expires_in: 900,
          scope: 'chat',
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('refresh one at a time, so neither logs the other out', async () => {
    const { Session } = await import('./session');
    storage.setItem(
      'openchat.session',
      JSON.stringify({
        username: 'ann',
        accessToken: 'access-0',
        refreshToken: 'refresh-0',
        expiresAt: Date.now() - 1,
      }),
    );
    const first = new Session(storage);
    const second = new Session(storage);
    const [a, b] = await Promise.all([first.refresh('access-0'), second.refresh('access-0')]);
    expect(used).toEqual(['refresh-0']);
    expect(a).toBe('access-1');
    expect(b).toBe('access-1');
    expect(first.get()?.refreshToken).toBe('refresh-1');
    expect(second.get()?.refreshToken).toBe('refresh-1');
    expect(storage.getItem('openchat.refresh-lock')).toBeNull();
  });
});
