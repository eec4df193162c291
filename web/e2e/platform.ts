import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The real platform for browser tests: the fake model provider (a real HTTP server speaking
 * OpenAI's streaming protocol) and `openchat serve`, on free ports with a fresh data
 * directory. The binaries come from the Cargo target directory (build them first).
 */
export function freePort(): Promise<number> {
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

function binaries() {
  const root = resolve(import.meta.dirname, '../..');
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  return {
    openchat: process.env.OPENCHAT_BIN ?? join(target, 'debug/openchat'),
    fakeLlm: process.env.FAKE_LLM_BIN ?? join(target, 'debug/fake-llm'),
    mcpTime: process.env.MCP_TIME_BIN ?? join(target, 'debug/mcp-time'),
  };
}

export interface PlatformOptions {
  /** More environment for `openchat serve` (e.g. a bootstrap administrator). */
  env?: Record<string, string>;
  /** More environment for the fake provider (e.g. `FAKE_LLM_CATALOGUE`). */
  fakeEnv?: Record<string, string>;
}

export interface Platform {
  web: string;
  auth: string;
  chat: string;
  fake: string;
  /** The example MCP server (`mcp-time`), whose host the administrator allows. */
  mcpTime: string;
  /** Another one that takes only tokens the auth server minted for it (`--issuer`). */
  mcpIdentity: string;
  /** And one with accounts of its own: each user signs in to it (`--oauth`). */
  mcpOAuth: string;
  /** Stops `openchat serve` (SIGTERM) and waits for it to exit; the data stays. */
  stopServer(): Promise<void>;
  /** Starts `openchat serve` again on the same ports and data. */
  startServer(): Promise<void>;
  /** Stops everything and removes the data. */
  close(): Promise<void>;
}

export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const bin = binaries();
  const [web, auth, chat, fake, mcp, mcpId, mcpOa] = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(() => freePort()));
  const data = mkdtempSync(join(tmpdir(), 'openchat-e2e-'));
  const origin = `http://127.0.0.1:${web}`;
  const fakeLlm = spawn(bin.fakeLlm, [`127.0.0.1:${fake}`], {
    stdio: 'inherit',
    env: { ...process.env, ...options.fakeEnv },
  });
  const mcpTime = spawn(bin.mcpTime, ['--listen', `127.0.0.1:${mcp}`], { stdio: 'ignore' });
  const issuer = options.env?.OPENCHAT_AUTH_ISSUER ?? process.env.OPENCHAT_AUTH_ISSUER ?? 'http://localhost:8001';
  const mcpIdentity = spawn(
    bin.mcpTime,
    [
      ...['--listen', `127.0.0.1:${mcpId}`, '--issuer', issuer],
      ...['--jwks-url', `http://127.0.0.1:${auth}/.well-known/jwks.json`],
    ],
    { stdio: 'ignore' },
  );
  const mcpOAuth = spawn(bin.mcpTime, ['--listen', `127.0.0.1:${mcpOa}`, '--oauth'], { stdio: 'ignore' });
  const env = {
    ...process.env,
    // The example MCP server is on loopback: an internal address users may reach only when the
    // administrator allows it.
    OPENCHAT_TOOLS_ALLOWED_HOSTS: `127.0.0.1:${mcp},127.0.0.1:${mcpId},127.0.0.1:${mcpOa}`,
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
    // Many registrations from one address in a few minutes are the tests, not an attack.
    OPENCHAT_REGISTRATIONS_PER_HOUR: '10000',
    OPENCHAT_IP_FAILURES_PER_MINUTE: '10000',
    // Some tests store hundreds of messages a minute for one user through the API (a long
    // conversation); the write limits have their own tests (crates/chat/tests/api/limits.rs).
    OPENCHAT_CHAT_MESSAGES_PER_MINUTE: '10000',
    OPENAI_BASE_URL: `http://127.0.0.1:${fake}/v1`,
    OPENAI_API_KEY: 'e2e-key',
    // The embedded model has its own tests; here replies come from the fake provider.
    OPENCHAT_LOCAL_MODEL: 'off',
    ...options.env,
  };
  let server: ChildProcess | null = null;

  async function startServer() {
    const child = spawn(bin.openchat, ['serve'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    server = child;
    await waitFor(`http://127.0.0.1:${auth}/health`, 'auth server', child);
    await waitFor(`http://127.0.0.1:${chat}/health`, 'chat service', child);
    await waitFor(`${origin}/health`, 'web server', child);
  }

  async function stopServer() {
    const child = server;
    server = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((ok) => {
      child.once('exit', () => ok());
      child.kill('SIGTERM');
    });
  }

  async function close() {
    await stopServer();
    fakeLlm.kill('SIGTERM');
    mcpTime.kill('SIGTERM');
    mcpIdentity.kill('SIGTERM');
    mcpOAuth.kill('SIGTERM');
    rmSync(data, { recursive: true, force: true });
  }

  try {
    await waitFor(`http://127.0.0.1:${fake}/v1/models`, 'fake-llm', fakeLlm);
    await startServer();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    web: origin,
    auth: `http://127.0.0.1:${auth}`,
    chat: `http://127.0.0.1:${chat}`,
    fake: `http://127.0.0.1:${fake}`,
    mcpTime: `http://127.0.0.1:${mcp}/mcp`,
    mcpIdentity: `http://127.0.0.1:${mcpId}/mcp`,
    mcpOAuth: `http://127.0.0.1:${mcpOa}/mcp`,
    stopServer,
    startServer,
    close,
  };
}
