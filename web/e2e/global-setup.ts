import { ADMIN } from './fixtures';
import { startPlatform } from './platform';

/**
 * One platform for every spec (a spec that must stop or reconfigure the server starts its own).
 * With OPENCHAT_E2E_EXTERNAL=1 the specs run against a platform already running (e.g. the
 * container of `scripts/test-containers`), named by OPENCHAT_WEB_URL, OPENCHAT_AUTH_URL and
 * OPENCHAT_CHAT_URL.
 */
export default async function globalSetup() {
  if (process.env.OPENCHAT_E2E_EXTERNAL === '1') {
    for (const name of ['OPENCHAT_WEB_URL', 'OPENCHAT_AUTH_URL', 'OPENCHAT_CHAT_URL']) {
      if (!process.env[name]) throw new Error(`OPENCHAT_E2E_EXTERNAL=1 needs ${name}`);
    }
    return () => {};
  }
  const platform = await startPlatform({
    env: {
      OPENCHAT_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      OPENCHAT_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      OPENCHAT_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    },
  });
  process.env.OPENCHAT_WEB_URL = platform.web;
  process.env.OPENCHAT_AUTH_URL = platform.auth;
  process.env.OPENCHAT_CHAT_URL = platform.chat;
  process.env.OPENCHAT_FAKE_URL = platform.fake;
  process.env.OPENCHAT_MCP_TIME_URL = platform.mcpTime;
  process.env.OPENCHAT_MCP_IDENTITY_URL = platform.mcpIdentity;
  process.env.OPENCHAT_MCP_OAUTH_URL = platform.mcpOAuth;
  return () => platform.close();
}
