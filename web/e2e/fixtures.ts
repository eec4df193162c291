import { expect, type Locator, type Page } from '@playwright/test';

export const ADMIN = { username: 'e2eadmin', email: 'admin@example.com', password: 'admin-password-42' };

export interface TestUser {
  username: string;
  email: string;
  password: string;
  fullName: string;
}

let counter = 0;
export function newUser(prefix = 'user'): TestUser {
  counter += 1;
  const id = `${prefix}${Date.now().toString(36)}${process.pid % 1000}${counter}`;
  return {
    username: id,
    email: `${id}@example.com`,
    password: 'correct-horse-42',
    fullName: `Test ${prefix} ${counter}`,
  };
}

/** The web UI's address (set by the global setup). */
export function url(path = '/'): string {
  const base = process.env.OPENCHAT_WEB_URL;
  if (!base) throw new Error('OPENCHAT_WEB_URL is not set: run through playwright.config.ts');
  return new URL(path, base).toString();
}

export async function register(page: Page, user: TestUser): Promise<void> {
  await page.goto(url('/register'));
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Full name').fill(user.fullName);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();
}

export async function login(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.goto(url('/login'));
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();
}

/**
 * Runs `act` (a send, a regenerate, an edit) and waits for the reply it starts to appear as the
 * last one (so `lastReply` is that reply, not the one before); returns its message id, to pin it
 * by (`replyById`).
 */
export async function newReply(page: Page, act: () => Promise<void>): Promise<string> {
  const replyIds = () =>
    page.locator('article.from-assistant').evaluateAll((els) => els.map((el) => el.getAttribute('data-message-id')));
  const before = new Set(await replyIds());
  await act();
  let id: string | undefined;
  await expect
    .poll(async () => {
      const last = (await replyIds()).at(-1);
      if (last && !before.has(last)) id = last;
      return id !== undefined;
    })
    .toBe(true);
  return id!;
}

/** Sends `text` and waits for its reply to appear; returns the reply's message id. */
export async function send(page: Page, text: string): Promise<string> {
  return newReply(page, async () => {
    const box = page.getByLabel('Message', { exact: true });
    await box.fill(text);
    await box.press('Enter');
  });
}

/** One reply, by its message id (the list is virtualised: "the last article" may change). */
export function replyById(page: Page, id: string): Locator {
  return page.locator(`article[data-message-id="${id}"]`);
}

export function assistantMessages(page: Page): Locator {
  return page.locator('article.from-assistant');
}

export function lastReply(page: Page): Locator {
  return assistantMessages(page).last();
}

/** "w1 w2 … wN": what the fake provider answers to `[[words=N]]`. */
export function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(' ');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: false });
}

async function api<T>(path: string, init: RequestInit & { base: string; token?: string }): Promise<T> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(`${init.base}${path}`, { ...init, headers });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * A new user, registered and signed in through the API (faster than the forms); returns the access
 * token. `where` names another platform than the shared one.
 */
export async function signInByApi(page: Page, prefix = 'api', where?: { auth: string; web: string }) {
  const auth = where?.auth ?? process.env.OPENCHAT_AUTH_URL!;
  const user = newUser(prefix);
  await api('/users/', {
    base: auth,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, email: user.email, password: user.password }),
  });
  const tokens = await api<{ access_token: string; refresh_token: string; expires_in: number }>('/auth/token', {
    base: auth,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user.username, password: user.password, client_id: 'openchat-web' }),
  });
  await page.goto(where ? `${where.web}/login` : url('/login'));
  await page.evaluate(
    ([username, t]) =>
      localStorage.setItem(
        'openchat.session',
        JSON.stringify({
          username,
          accessToken: t.access_token,
          refreshToken: t.refresh_token,
          expiresAt: Date.now() + t.expires_in * 1000,
        }),
      ),
    [user.username, tokens] as const,
  );
  return tokens.access_token;
}

export function newConversation(token: string, title: string, chat = process.env.OPENCHAT_CHAT_URL!) {
  return api<{ id: string }>('/api/v1/conversations/', {
    base: chat,
    token,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  });
}

/** Stores a user message without asking the model. */
export function storeMessage(
  token: string,
  conversationId: string,
  content: string,
  chat = process.env.OPENCHAT_CHAT_URL!,
) {
  return api(`/api/v1/conversations/${conversationId}/messages`, {
    base: chat,
    token,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content, generate: false }),
  });
}
