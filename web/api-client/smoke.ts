// A client generated from the running binary's OpenAPI documents (openapi-typescript), used
// through openapi-fetch: it must compile against the documents as they are, and its calls
// must work. `scripts/test-api-schema` generates `generated/{auth,chat}.ts`, compiles this
// file with tsc and runs it against the platform.
import createClient from 'openapi-fetch';

import type { paths as AuthPaths } from './generated/auth.js';
import type { paths as ChatPaths } from './generated/chat.js';

const auth = createClient<AuthPaths>({ baseUrl: process.env.AUTH_URL });
const chat = createClient<ChatPaths>({ baseUrl: process.env.CHAT_URL });

function check(what: string, ok: boolean, detail?: unknown): void {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(detail)}`);
  console.log(`ok   ${what}`);
}

const username = `client${process.pid}`;
const password = 'generated-client-password-1';
const registered = await auth.POST('/users/', {
  body: { username, email: `${username}@example.com`, password, full_name: 'Generated Client' },
});
check('register', registered.data?.user.username === username, registered.error ?? registered.response.status);

const token = await auth.POST('/auth/token', {
  body: { grant_type: 'password', username, password },
  bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
});
check('log in', token.data?.token_type === 'bearer', token.error);
const headers = { Authorization: `Bearer ${token.data!.access_token}` };

const me = await auth.GET('/users/me', { headers });
check('who am I', me.data?.username === username, me.error);

const created = await chat.POST('/api/v1/conversations/', { headers, body: { title: 'From a generated client' } });
check('create a conversation', created.response.status === 201 && !!created.data?.id, created.error);
const id = created.data!.id;

const posted = await chat.POST('/api/v1/conversations/{id}/messages', {
  headers,
  params: { path: { id } },
  body: { content: 'Stored, not answered.', generate: false },
});
check('post a message', posted.data?.content === 'Stored, not answered.', posted.error);

const page = await chat.GET('/api/v1/conversations/{id}/messages', {
  headers,
  params: { path: { id }, query: { limit: 10 } },
});
check('read the messages', page.data?.length === 1 && page.data[0]?.role === 'user', page.error);

const list = await chat.GET('/api/v1/conversations/', { headers, params: { query: { limit: 5 } } });
check('list conversations', list.data?.some((c) => c.id === id) === true, list.error);

const missing = await chat.GET('/api/v1/conversations/{id}', {
  headers,
  params: { path: { id: 'no-such-conversation' } },
});
check(
  'an unknown conversation is a typed 404',
  missing.response.status === 404 && !!missing.error?.detail,
  missing.error,
);

const removed = await chat.DELETE('/api/v1/conversations/{id}', { headers, params: { path: { id } } });
check('delete it', removed.response.status === 204, removed.error);
