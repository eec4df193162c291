import { expect, test, type Page } from '@playwright/test';

import { lastReply, newConversation, send, signInByApi, storeMessage, url, words } from './fixtures';

/** Pixels between the bottom of the view and the end of the conversation. */
function distanceFromEnd(page: Page): Promise<number> {
  return page
    .locator('.message-scroller')
    .evaluate((el) => Math.round(el.scrollHeight - el.scrollTop - el.clientHeight));
}

test('a long conversation: opens at the newest, follows a reply only from the end, loads older pages', async ({
  page,
}) => {
  // 230 messages: more than the first page (200), so scrolling up has to fetch the rest.
  const token = await signInByApi(page, 'long');
  const c = await newConversation(token, 'Long conversation');
  for (let i = 0; i < 230; i++) {
    await storeMessage(token, c.id, `Message ${i}: long enough to wrap in the chat column on a desktop screen.`);
  }
  await page.goto(url(`/c/${c.id}`));
  const articles = page.locator('article');
  await expect(articles.last()).toContainText('Message 229:');
  await expect.poll(() => distanceFromEnd(page)).toBeLessThan(80);
  // Virtualised: a screenful of messages is in the page, not all of them.
  expect(await articles.count()).toBeLessThan(40);

  // A reply streaming while the reader is at the end is followed.
  await send(page, `Follow me [[words=400]] [[delay=20]]`);
  const reply = lastReply(page);
  await expect(reply).toContainText('w120');
  await expect(reply).toHaveAttribute('data-status', 'streaming');
  expect(await distanceFromEnd(page)).toBeLessThan(80);

  // Scrolled up, the reader stays where they are while the reply grows, and "Latest" is offered.
  const scroller = page.locator('.message-scroller');
  await scroller.hover();
  await page.mouse.wheel(0, -300);
  const latest = page.getByRole('button', { name: 'Latest' });
  await expect(latest).toBeVisible();
  const reading = await scroller.evaluate((el) => el.scrollTop);
  const grownFrom = (await reply.textContent())!.length;
  await expect.poll(async () => (await reply.textContent())!.length).toBeGreaterThan(grownFrom + 100);
  expect(Math.abs((await scroller.evaluate((el) => el.scrollTop)) - reading)).toBeLessThanOrEqual(2);

  // "Latest" goes back to the end, and the view follows the reply again to its last word.
  await latest.click();
  await expect(latest).toBeHidden();
  await expect(reply).toHaveAttribute('data-status', 'complete', { timeout: 30_000 });
  await expect(reply.locator('.markdown')).toHaveText(words(400));
  await expect.poll(() => distanceFromEnd(page)).toBeLessThan(80);

  // A draft being edited survives scrolling it far out of view and back: its row stays mounted.
  const question = page.locator('article.from-user').last();
  await question.getByRole('button', { name: 'Edit message' }).click();
  const draft = page.getByLabel('Edit your message');
  await draft.fill('A draft that must not be lost');
  await scroller.hover();
  for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -1500);
  // Far away: the reply below the question has left the DOM, the question (focused) has not.
  await expect(page.locator('article.from-assistant').filter({ hasText: 'w400' })).toHaveCount(0);
  await expect(draft).toHaveValue('A draft that must not be lost');
  await draft.press('Escape');

  // Scrolling to the top loads the older page; the oldest message is reached, in order.
  await expect(async () => {
    await page.mouse.wheel(0, -5000);
    await expect(articles.first()).toContainText('Message 0:', { timeout: 500 });
  }).toPass({ timeout: 30_000 });
  await expect(articles.nth(1)).toContainText('Message 1:');
  expect(await articles.count()).toBeLessThan(40);
});
