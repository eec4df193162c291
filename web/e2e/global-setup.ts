import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ADMIN } from './fixtures';

/**
 * Starts the real platform for the browser tests: the fake model provider (a real HTTP server
 * speaking OpenAI's streaming protocol) and `openchat serve`, on free ports with a fresh data
 * directory. The binaries come from the Cargo target directory (build them first).
 */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

async function waitFor(url: string, what: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer at ${url}`);
}

export default async function globalSetup() {
  const root = resolve(import.meta.dirname, '../..');
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const bin = process.env.OPENCHAT_BIN ?? join(target, 'debug/openchat');
  const fakeBin = process.env.FAKE_LLM_BIN ?? join(target, 'debug/fake-llm');
  const [web, auth, chat, fake] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const data = mkdtempSync(join(tmpdir(), 'openchat-e2e-'));
  const origin = `http://127.0.0.1:${web}`;

  const fakeLlm = spawn(fakeBin, [`127.0.0.1:${fake}`], { stdio: 'inherit' });
  const server = spawn(bin, ['serve'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      RUST_LOG: 'warn',
      OPENCHAT_DATA_DIR: data,
      OPENCHAT_AUTH_HOST: '127.0.0.1',
      OPENCHAT_AUTH_PORT: String(auth),
      OPENCHAT_CHAT_HOST: '127.0.0.1',
      OPENCHAT_CHAT_PORT: String(chat),
      OPENCHAT_WEB_HOST: '127.0.0.1',
      OPENCHAT_WEB_PORT: String(web),
      OPENCHAT_CORS_ORIGINS: origin,
      OPENCHAT_CHAT_CORS_ORIGINS: origin,
      OPENCHAT_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      OPENCHAT_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      OPENCHAT_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      // Many registrations from one address in a few minutes are the tests, not an attack.
      OPENCHAT_REGISTRATIONS_PER_HOUR: '10000',
      OPENCHAT_IP_FAILURES_PER_MINUTE: '10000',
      OPENAI_BASE_URL: `http://127.0.0.1:${fake}/v1`,
      OPENAI_API_KEY: 'e2e-key',
      // The embedded model has its own tests; here replies come from the fake provider.
      OPENCHAT_LOCAL_MODEL: 'off',
    },
  });
  const stop = () => {
    server.kill('SIGTERM');
    fakeLlm.kill('SIGTERM');
  };
  try {
    await waitFor(`http://127.0.0.1:${fake}/v1/models`, 'fake-llm', fakeLlm);
    await waitFor(`http://127.0.0.1:${auth}/health`, 'auth server', server);
    await waitFor(`http://127.0.0.1:${chat}/health`, 'chat service', server);
    await waitFor(`${origin}/health`, 'web server', server);
  } catch (error) {
    stop();
    throw error;
  }
  process.env.OPENCHAT_WEB_URL = origin;
  process.env.OPENCHAT_AUTH_URL = `http://127.0.0.1:${auth}`;
  process.env.OPENCHAT_CHAT_URL = `http://127.0.0.1:${chat}`;
  return async () => {
    stop();
    rmSync(data, { recursive: true, force: true });
  };
}
