import { expect, test } from '@playwright/test';

import { lastReply, newUser, register, screenshot, send, words } from './fixtures';

test('the main journey on a 390×844 phone: drawer sidebar, streaming reply, navigation', async ({ page }) => {
  const user = newUser('phone');
  await register(page, user);
  // The sidebar is a drawer: hidden until the menu button opens it.
  const sidebar = page.getByRole('navigation', { name: 'Conversations' });
  await expect(sidebar).toBeHidden();
  await screenshot(page, 'phone-new-chat');

  await send(page, 'On the go [[words=30]] [[delay=40]]');
  await expect(lastReply(page)).toContainText('w3');
  await screenshot(page, 'phone-streaming');
  await page.reload();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete', { timeout: 20_000 });
  await expect(lastReply(page).locator('.markdown')).toHaveText(words(30));

  // Nothing is wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  await page.getByRole('button', { name: 'Open the conversation list' }).click();
  await expect(sidebar).toBeVisible();
  await screenshot(page, 'phone-drawer');
  await sidebar.getByRole('link', { name: 'New chat' }).click();
  await expect(sidebar).toBeHidden();
  await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();

  await page.getByRole('button', { name: 'Open the conversation list' }).click();
  await sidebar.locator('.conversation-link').first().click();
  await expect(lastReply(page).locator('.markdown')).toHaveText(words(30));
});
