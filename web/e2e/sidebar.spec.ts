import { expect, test } from '@playwright/test';

import { lastReply, newConversation, screenshot, send, signInByApi, storeMessage, url } from './fixtures';

const DAY = 24 * 60 * 60 * 1000;

test('the sidebar groups conversations by pinned and by day of last activity, as headed lists', async ({ page }) => {
  const token = await signInByApi(page, 'sections');
  const older = await newConversation(token, 'Tax return');
  await storeMessage(token, older.id, 'About my taxes');
  await newConversation(token, 'Pinned notes');
  await newConversation(token, 'Fresh question');
  await page.goto(url('/'));
  const sidebar = page.getByRole('navigation', { name: 'Conversations' });
  await sidebar
    .getByRole('listitem')
    .filter({ hasText: 'Pinned notes' })
    .getByRole('button', { name: 'Actions for Pinned notes' })
    .click();
  await page.getByRole('menuitem', { name: 'Pin' }).click();

  const headings = sidebar.getByRole('heading', { level: 2 });
  await expect(headings).toHaveText(['Pinned', 'Today']);
  // Each heading is followed by its own list.
  const pinned = sidebar.locator('section').filter({ has: page.getByRole('heading', { name: 'Pinned' }) });
  await expect(pinned.getByRole('list').getByRole('listitem')).toHaveCount(1);
  await expect(pinned.getByRole('link', { name: 'Pinned notes' })).toBeVisible();
  const today = sidebar.locator('section').filter({ has: page.getByRole('heading', { name: 'Today' }) });
  await expect(today.getByRole('link')).toHaveText(['Fresh question', 'Tax return']);
  await screenshot(page, 'sidebar-sections');

  // Later on, the same conversations move down the sections (the browser's clock moves on).
  for (const [days, heading] of [
    [1, 'Yesterday'],
    [3, 'Previous 7 days'],
    [12, 'Previous 30 days'],
    [45, 'Older'],
  ] as const) {
    await page.clock.setFixedTime(new Date(Date.now() + days * DAY));
    await page.reload();
    await expect(headings).toHaveText(['Pinned', heading]);
  }
});

test('search finds words in the messages, shows where, and opens the conversation', async ({ page }) => {
  const token = await signInByApi(page, 'search');
  const trip = await newConversation(token, 'Holiday');
  await storeMessage(token, trip.id, 'Which museums in Amsterdam open early on Sundays?');
  const other = await newConversation(token, 'Groceries');
  await storeMessage(token, other.id, 'Milk, eggs and bread');
  await page.goto(url('/'));
  await send(page, 'Write a haiku [[reply=Autumn moonlight, a worm digs silently into the chestnut]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');

  const sidebar = page.getByRole('navigation', { name: 'Conversations' });
  const box = sidebar.getByLabel('Search conversations');
  // A word of a user message, in another case, and part of a word.
  await box.fill('AMSTERDAM sunday');
  const results = sidebar.locator('.conversation-item');
  await expect(results).toHaveCount(1);
  const hit = results.first();
  await expect(hit.getByRole('link', { name: 'Holiday' })).toBeVisible();
  await expect(hit.locator('.snippet')).toHaveText('Which museums in Amsterdam open early on Sundays?');
  await expect(hit.locator('.snippet mark')).toHaveText(['Amsterdam', 'Sunday']);
  await expect(page.getByRole('status').filter({ hasText: '1 conversation found' })).toBeAttached();
  await screenshot(page, 'search-in-messages');

  // A word only in the model's reply.
  await box.fill('chestnut');
  await expect(results.locator('.snippet')).toHaveText(['Autumn moonlight, a worm digs silently into the chestnut']);
  await expect(results.locator('.snippet mark')).toHaveText(['chestnut']);

  // Nothing, then a click opens what was found.
  await box.fill('zeppelin');
  await expect(sidebar.getByText('No conversation matches.')).toBeVisible();
  await box.fill('museums');
  await results.first().getByRole('link', { name: 'Holiday' }).click();
  await expect(page).toHaveURL(url(`/c/${trip.id}`));
  await expect(page.getByRole('heading', { level: 1, name: 'Holiday' })).toBeVisible();
  await expect(page.locator('article.from-user')).toContainText('Which museums in Amsterdam');
});

test('the conversation menu works from the keyboard; Esc closes it and returns focus', async ({ page }) => {
  const token = await signInByApi(page, 'menu');
  await newConversation(token, 'Keyboard only');
  await page.goto(url('/'));
  const sidebar = page.getByRole('navigation', { name: 'Conversations' });
  const button = sidebar.getByRole('button', { name: 'Actions for Keyboard only' });
  await button.focus();
  await page.keyboard.press('Enter');
  const menu = page.getByRole('menu', { name: 'Actions for Keyboard only' });
  await expect(menu).toBeVisible();
  await expect(button).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByRole('menuitem', { name: 'Rename' })).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(page.getByRole('menuitem', { name: 'Pin' })).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await expect(page.getByRole('menuitem', { name: 'Delete' })).toBeFocused();

  await page.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await expect(button).toBeFocused();
  await expect(button).toHaveAttribute('aria-expanded', 'false');

  // Opened with the mouse, Esc closes it too.
  await button.click();
  await expect(menu).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(menu).toBeHidden();
  await expect(button).toBeFocused();
});

test('Esc on an open conversation menu closes the menu and leaves a streaming reply alone', async ({ page }) => {
  await signInByApi(page, 'menuesc');
  await page.goto(url('/'));
  await send(page, 'Long one [[words=150]] [[delay=60]]');
  await expect(lastReply(page)).toContainText('w2');
  const sidebar = page.getByRole('navigation', { name: 'Conversations' });
  await sidebar
    .getByRole('button', { name: /^Actions for/ })
    .first()
    .click();
  await expect(page.getByRole('menu')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('menu')).toBeHidden();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'streaming');
  // With the menu closed, Esc stops the reply as before.
  await page.keyboard.press('Escape');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'cancelled');
});
