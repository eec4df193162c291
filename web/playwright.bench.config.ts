import base from './playwright.config';

import { defineConfig } from '@playwright/test';

/** `bench/web.sh`: the UI measurements, one worker so nothing competes with them. */
export default defineConfig({
  ...base,
  testDir: './bench',
  workers: 1,
  timeout: 300_000,
  projects: [{ name: 'bench', use: { viewport: { width: 1280, height: 800 } } }],
});
