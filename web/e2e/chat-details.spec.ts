import { expect, test } from '@playwright/test';

import { lastReply, newConversation, send, signInByApi, url } from './fixtures';

test('each message shows when it was written, and each reply its model', async ({ page }) => {
  await signInByApi(page, 'meta');
  await page.goto(url('/'));
  const before = Date.now();
  await send(page, 'What time is it? [[reply=Time to test.]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');

  for (const message of [page.locator('article.from-user').last(), lastReply(page)]) {
    const time = message.locator('time');
    await expect(time).toHaveText(/^\d{1,2}:\d{2}/);
    const at = Date.parse((await time.getAttribute('datetime')) ?? '');
    expect(at).toBeGreaterThanOrEqual(before - 60_000);
    expect(at).toBeLessThanOrEqual(Date.now() + 60_000);
    // The full date in the tooltip.
    await expect(time).toHaveAttribute('title', new RegExp(String(new Date(at).getFullYear())));
  }
  await expect(lastReply(page).locator('.message-model')).toHaveText('fake-model');
  await expect(page.locator('article.from-user').last().locator('.message-model')).toHaveCount(0);
  // Still there after a reload (from the stored messages).
  await page.reload();
  await expect(lastReply(page).locator('time')).toBeVisible();
  await expect(lastReply(page).locator('.message-model')).toHaveText('fake-model');
});

test('the composer keeps a draft per conversation, through switches and a reload, until it is sent', async ({
  page,
}) => {
  const token = await signInByApi(page, 'drafts');
  const first = await newConversation(token, 'First');
  const second = await newConversation(token, 'Second');
  const box = page.getByLabel('Message', { exact: true });
  const sidebar = page.getByRole('navigation', { name: 'Conversations' });

  await page.goto(url(`/c/${first.id}`));
  await box.fill('A question for the first,\nhalf written');
  await sidebar.getByRole('link', { name: 'Second' }).click();
  await expect(page).toHaveURL(url(`/c/${second.id}`));
  await expect(box).toHaveValue('');
  await box.fill('Something for the second');
  await page.getByRole('link', { name: 'New chat' }).click();
  await expect(box).toHaveValue('');
  await box.fill('A new topic');

  await sidebar.getByRole('link', { name: 'First' }).click();
  await expect(box).toHaveValue('A question for the first,\nhalf written');
  await page.reload();
  await expect(box).toHaveValue('A question for the first,\nhalf written');
  await sidebar.getByRole('link', { name: 'Second' }).click();
  await expect(box).toHaveValue('Something for the second');
  await page.getByRole('link', { name: 'New chat' }).click();
  await expect(box).toHaveValue('A new topic');

  // Sent: gone from the composer, and it does not come back.
  await sidebar.getByRole('link', { name: 'First' }).click();
  await box.press('Enter');
  await expect(page.locator('article.from-user').last()).toContainText('half written');
  await expect(box).toHaveValue('');
  await page.reload();
  await expect(page.locator('article.from-user').last()).toContainText('half written');
  await expect(box).toHaveValue('');
  // The others are untouched.
  await sidebar.getByRole('link', { name: 'Second' }).click();
  await expect(box).toHaveValue('Something for the second');
});

test('every page names itself in the window title', async ({ page }) => {
  await page.goto(url('/login'));
  await expect(page).toHaveTitle('Log in — Open ChatBot');
  await page.goto(url('/register'));
  await expect(page).toHaveTitle('Create an account — Open ChatBot');
  const token = await signInByApi(page, 'titles');
  const c = await newConversation(token, 'Planning the garden');
  await page.goto(url('/'));
  await expect(page).toHaveTitle('New chat — Open ChatBot');
  await page
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('link', { name: 'Planning the garden' })
    .click();
  await expect(page).toHaveTitle('Planning the garden — Open ChatBot');
  await page.goto(url(`/c/${c.id}`));
  await expect(page).toHaveTitle('Planning the garden — Open ChatBot');
  await page.goto(url('/c/doesnotexist'));
  await expect(page).toHaveTitle('Conversation not found — Open ChatBot');
  await page.goto(url('/account'));
  await expect(page).toHaveTitle('Account — Open ChatBot');
  await page.goto(url('/settings'));
  await expect(page).toHaveTitle('Settings — Open ChatBot');
  await page.goto(url('/admin'));
  await expect(page).toHaveTitle('Administration — Open ChatBot');
});
