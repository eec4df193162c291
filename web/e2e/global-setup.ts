import { ADMIN } from './fixtures';
import { startPlatform } from './platform';

/** One platform for every spec (a spec that must stop or reconfigure the server starts its own). */
export default async function globalSetup() {
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
  return () => platform.close();
}
