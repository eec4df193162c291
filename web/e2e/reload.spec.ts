import { expect, test, type Page } from '@playwright/test';

import { lastReply, send, signInByApi, url, words } from './fixtures';

/**
 * A reply must never vanish from the screen on a reload or in a fresh tab — whatever the order
 * in which the REST snapshot and the socket's replay of a recent generation arrive (they used to
 * race: the user message and its reply share a millisecond, and the tab ordered them by arrival).
 * Each check is repeated, because the order differs from one load to the next.
 */

const QUESTION = 'What is the capital of France?';
const ANSWER = 'Paris is the capital of France.';

async function expectConversation(page: Page, pairs: Array<[string, string]>) {
  const users = page.locator('article.from-user');
  const replies = page.locator('article.from-assistant');
  await expect(replies).toHaveCount(pairs.length);
  await expect(users).toHaveCount(pairs.length);
  for (const [i, [question, answer]] of pairs.entries()) {
    await expect(users.nth(i)).toContainText(question);
    await expect(replies.nth(i).locator('.markdown')).toHaveText(answer);
  }
}

test('a finished reply is there after every reload and in every fresh tab', async ({ page, context }) => {
  await signInByApi(page, 'reload');
  await page.goto(url('/'));
  await send(page, `${QUESTION} [[reply=${ANSWER}]]`);
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  const address = page.url();
  for (let i = 0; i < 10; i++) {
    await page.reload();
    await expectConversation(page, [[QUESTION, ANSWER]]);
  }
  for (let i = 0; i < 5; i++) {
    const tab = await context.newPage();
    await tab.goto(address);
    await expectConversation(tab, [[QUESTION, ANSWER]]);
    await tab.close();
  }
});

test('the chosen version of an edited and regenerated conversation survives reloads and fresh tabs', async ({
  page,
  context,
}) => {
  await signInByApi(page, 'branch');
  await page.goto(url('/'));
  await send(page, 'First [[reply=one]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await send(page, 'Second [[reply=two]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  // Regenerate the second reply, then edit the second question: three versions in all.
  await lastReply(page).getByRole('button', { name: 'Regenerate reply' }).click();
  await expect(lastReply(page).getByLabel('Version 2 of 2')).toBeVisible();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await page.locator('article.from-user').last().getByRole('button', { name: 'Edit message' }).click();
  await page.getByLabel('Edit your message').fill('Second, edited [[reply=two, edited]]');
  await page.getByRole('button', { name: 'Save & send' }).click();
  await expect(lastReply(page).locator('.markdown')).toHaveText('two, edited');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  const address = page.url();

  // Without a choice, the newest branch shows, on every load.
  for (let i = 0; i < 3; i++) {
    await page.reload();
    await expectConversation(page, [
      ['First', 'one'],
      ['Second, edited', 'two, edited'],
    ]);
    await expect(page.locator('article.from-user').last().getByLabel('Version 2 of 2')).toBeVisible();
  }

  // Choose the first version of the second question: its newest reply (the regenerated one).
  await page.locator('article.from-user').last().getByRole('button', { name: 'Previous version' }).click();
  await expect(page.locator('article.from-user').last()).toContainText('Second [[reply=two]]');
  await expect(lastReply(page).getByLabel('Version 2 of 2')).toBeVisible();
  for (let i = 0; i < 5; i++) {
    await page.reload();
    await expect(page.locator('article.from-user').last().getByLabel('Version 1 of 2')).toBeVisible();
    await expect(lastReply(page).getByLabel('Version 2 of 2')).toBeVisible();
    await expect(lastReply(page).locator('.markdown')).toHaveText('two');
  }
  const tab = await context.newPage();
  await tab.goto(address);
  await expect(tab.locator('article.from-user').last().getByLabel('Version 1 of 2')).toBeVisible();

  // A follow-up on the chosen branch answers that branch, and becomes the newest.
  await send(page, 'Third [[reply=three]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await expectConversation(page, [
    ['First', 'one'],
    ['Second [[reply=two]]', 'two'],
    ['Third', 'three'],
  ]);
  await page.reload();
  await expectConversation(page, [
    ['First', 'one'],
    ['Second [[reply=two]]', 'two'],
    ['Third', 'three'],
  ]);
  // The other tab follows to the newest branch too.
  await tab.reload();
  await expect(tab.locator('article.from-assistant').last().locator('.markdown')).toHaveText('three');
});

test('a reply streaming through reloads and fresh tabs arrives whole, every word once', async ({ page, context }) => {
  test.setTimeout(120_000);
  await signInByApi(page, 'stream');
  await page.goto(url('/'));
  // Long enough (400 × 50 ms) for the reloads to land mid-reply on a loaded machine.
  await send(page, 'Count slowly [[words=400]] [[delay=50]]');
  const address = page.url();
  await expect(lastReply(page)).toContainText('w3');
  for (let i = 0; i < 3; i++) {
    await page.reload();
    await expect(page.locator('article.from-user')).toHaveCount(1);
    await expect(lastReply(page)).toHaveAttribute('data-status', 'streaming');
  }
  const tab = await context.newPage();
  await tab.goto(address);
  await expect(lastReply(tab)).toHaveAttribute('data-status', 'streaming');
  for (const p of [page, tab]) {
    await expect(lastReply(p)).toHaveAttribute('data-status', 'complete', { timeout: 40_000 });
    await expect(lastReply(p).locator('.markdown')).toHaveText(words(400));
  }
  // And right after the end, while the finished generation is still replayed by the socket.
  for (let i = 0; i < 5; i++) {
    await page.reload();
    await expect(lastReply(page).locator('.markdown')).toHaveText(words(400));
  }
});
