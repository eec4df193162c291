import type { TestUser } from './fixtures';

/** The auth server's API, for arranging what a browser test needs faster than the forms. */
async function call<T>(path: string, init: RequestInit): Promise<T> {
  const response = await fetch(`${process.env.OPENCHAT_AUTH_URL!}${path}`, init);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export function registerByApi(user: TestUser) {
  return call('/users/', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username: user.username,
      email: user.email,
      password: user.password,
      full_name: user.fullName,
    }),
  });
}

export async function tokenByApi(username: string, password: string): Promise<string> {
  const tokens = await call<{ access_token: string }>('/auth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }),
  });
  return tokens.access_token;
}

export function updateUserByApi(token: string, username: string, patch: Record<string, unknown>) {
  return call(`/users/${username}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(patch),
  });
}
