import { expect, test } from '@playwright/test';

import { newConversation, signInByApi, storeMessage } from './fixtures';
import { startPlatform, type Platform } from './platform';

/**
 * Opening a conversation while the server is down: the page says it cannot reach the server and
 * keeps trying; when the server is back, the conversation fills in by itself. Its own platform,
 * since the test stops the server.
 */

let platform: Platform;

test.beforeAll(async () => {
  platform = await startPlatform();
});

test.afterAll(async () => {
  await platform?.close();
});

test('a conversation opened during an outage loads by itself when the server is back', async ({ page }) => {
  test.setTimeout(120_000);
  const token = await signInByApi(page, 'outage', platform);
  const c = await newConversation(token, 'Before the outage', platform.chat);
  await storeMessage(token, c.id, 'Kept through the outage', platform.chat);
  await page.goto(`${platform.web}/`);
  const link = page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: 'Before the outage' });
  await expect(link).toBeVisible();

  await platform.stopServer();
  await link.click();
  await expect(page.getByText('Cannot reach the server — trying again…')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Retry now' })).toBeVisible();

  await platform.startServer();
  // No click: the page retries by itself (and at once when its socket reconnects).
  await expect(page.locator('article.from-user')).toContainText('Kept through the outage', { timeout: 30_000 });
  await expect(page.getByRole('heading', { level: 1, name: 'Before the outage' })).toBeVisible();
  await expect(page.getByText('Cannot reach the server — trying again…')).toHaveCount(0);
  // And the page works again: a message gets its reply.
  const box = page.getByLabel('Message', { exact: true });
  await box.fill('Back? [[reply=Back.]]');
  await box.press('Enter');
  await expect(page.locator('article.from-assistant').last()).toHaveAttribute('data-status', 'complete');
});
