import { expect, test } from '@playwright/test';

import { assistantMessages, lastReply, login, newUser, register, screenshot, send, url, words } from './fixtures';

test('the main journey: register, chat, reload mid-reply, stop, regenerate, rename, search, delete, log out', async ({
  page,
}) => {
  const user = newUser('ann');

  // Register (the form logs in on success) and log out, then log in again.
  await page.goto(url('/login'));
  await screenshot(page, 'login');
  await register(page, user);
  await screenshot(page, 'new-chat');
  await page.getByRole('link', { name: user.fullName }).click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await login(page, user);

  // A slow reply streams in word by word.
  await send(page, 'Count for me [[words=60]] [[delay=60]]');
  await expect(page).toHaveURL(/\/c\/[\w-]{12}$/);
  const reply = lastReply(page);
  await expect(reply).toContainText('w5');
  await expect(reply).toHaveAttribute('data-status', 'streaming');

  // Reload in the middle: the reply continues to its end, in order, nothing lost or doubled.
  await page.reload();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'streaming');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete', { timeout: 20_000 });
  await expect(lastReply(page).locator('.markdown')).toHaveText(words(60));
  await screenshot(page, 'chat');
  // The announcement for screen readers comes once, at the end.
  await expect(page.getByRole('status').filter({ hasText: 'The reply is complete.' })).toHaveCount(1);

  // Stop a reply: it keeps what was streamed.
  await send(page, 'Another one [[words=200]] [[delay=80]]');
  await expect(lastReply(page)).toContainText('w3');
  await page.getByRole('button', { name: /Stop the reply/ }).click();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'cancelled');
  await expect(lastReply(page)).toContainText('Stopped.');
  const kept = (await lastReply(page).locator('.markdown').textContent()) ?? '';
  expect(kept).toMatch(/^w1 w2 w3/);
  expect(kept).not.toContain('w200');

  // Esc stops too.
  await send(page, 'And again [[words=200]] [[delay=80]]');
  await expect(lastReply(page)).toContainText('w2');
  await page.keyboard.press('Escape');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'cancelled');

  // Regenerate: a second version of the answer, shown with its sibling counter.
  await send(page, 'Say [[reply=first answer]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await lastReply(page).getByRole('button', { name: 'Regenerate reply' }).click();
  await expect(lastReply(page).getByLabel('Version 2 of 2')).toBeVisible();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await lastReply(page).getByRole('button', { name: 'Previous version' }).click();
  await expect(lastReply(page).getByLabel('Version 1 of 2')).toBeVisible();

  // Edit a sent message and resend: a new branch with its own answer.
  const lastQuestion = page.locator('article.from-user').last();
  await lastQuestion.getByRole('button', { name: 'Edit message' }).click();
  await page.getByLabel('Edit your message').fill('Say [[reply=edited answer]]');
  await page.getByRole('button', { name: 'Save & send' }).click();
  await expect(page.locator('article.from-user').last()).toContainText('edited answer');
  await expect(lastReply(page)).toHaveText(/edited answer/);
  await expect(page.locator('article.from-user').last().getByLabel('Version 2 of 2')).toBeVisible();

  // Rename inline from the sidebar.
  const sidebar = page.getByRole('navigation', { name: 'Conversations' });
  const current = sidebar.locator('.conversation-item').filter({ has: page.locator('a.active') });
  await current.getByRole('button', { name: /Actions for/ }).click();
  await page.getByRole('menuitem', { name: 'Rename' }).click();
  await page.getByLabel('Conversation title').fill('Counting practice');
  await page.getByLabel('Conversation title').press('Enter');
  await expect(sidebar.getByRole('link', { name: 'Counting practice' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: 'Counting practice' })).toBeVisible();

  // A second conversation, then search by title.
  await page.getByRole('link', { name: 'New chat' }).click();
  await send(page, 'Hello there');
  await expect(lastReply(page)).toContainText('Echo: Hello there');
  await sidebar.getByLabel('Search conversations').fill('counting');
  await expect(sidebar.locator('.conversation-item')).toHaveCount(1);
  await expect(sidebar.getByRole('link', { name: 'Counting practice' })).toBeVisible();
  await screenshot(page, 'sidebar-search');

  // Delete with confirmation.
  await sidebar.getByRole('button', { name: 'Actions for Counting practice' }).click();
  await page.getByRole('menuitem', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog')).toContainText('Delete conversation?');
  await screenshot(page, 'delete-dialog');
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(sidebar.getByText('No conversation matches.')).toBeVisible();
  await sidebar.getByLabel('Search conversations').fill('');
  await expect(sidebar.locator('.conversation-item')).toHaveCount(1);

  // Log out: the session is revoked, protected pages send us to the login page.
  await page.getByRole('link', { name: user.fullName }).click();
  await screenshot(page, 'account');
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(url('/'));
  await expect(page).toHaveURL(/\/login$/);
  expect(await assistantMessages(page).count()).toBe(0);
});

test('a second tab sees the same reply stream, and sidebar changes appear live', async ({ context }) => {
  const user = newUser('tabs');
  const first = await context.newPage();
  await register(first, user);
  await send(first, 'Stream to both [[words=40]] [[delay=50]]');
  await expect(first).toHaveURL(/\/c\//);

  const second = await context.newPage();
  await second.goto(first.url());
  await expect(lastReply(second)).toContainText('w1');
  await expect(lastReply(second)).toHaveAttribute('data-status', 'complete', { timeout: 20_000 });
  await expect(lastReply(second).locator('.markdown')).toHaveText(words(40));
  await expect(lastReply(first).locator('.markdown')).toHaveText(words(40));

  // A rename in one tab shows up in the other without a reload.
  const sidebar = first.getByRole('navigation', { name: 'Conversations' });
  await sidebar
    .locator('.conversation-item')
    .first()
    .getByRole('button', { name: /Actions for/ })
    .click();
  await first.getByRole('menuitem', { name: 'Pin' }).click();
  await expect(second.getByRole('navigation', { name: 'Conversations' }).getByLabel('Pinned')).toBeVisible();
});

test('registration shows the server’s reasons next to the fields', async ({ page }) => {
  const user = newUser('reg');
  await page.goto(url('/register'));
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#field-password-error')).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#field-email-error')).toBeVisible();
  await screenshot(page, 'register-errors');

  await register(page, user);
  await page.getByRole('link', { name: user.fullName }).click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.goto(url('/register'));
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Email').fill(`other-${user.email}`);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#field-username-error')).toContainText('already registered');
});

test('model output is rendered as Markdown, never as HTML', async ({ page }) => {
  await register(page, newUser('md'));
  const markdown = [
    '# Title',
    '',
    '| a | b |',
    '|---|---|',
    '| 1 | 2 |',
    '',
    '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script>',
    '',
    '[bad](javascript:window.__pwned=3) [good](https://example.org/)',
    '',
    '```rust',
    'fn main() {}',
    '```',
  ].join('\n');
  await send(page, `[[reply=${markdown}]]`);
  const reply = lastReply(page);
  await expect(reply).toHaveAttribute('data-status', 'complete');
  await expect(reply.locator('table td').first()).toHaveText('1');
  await expect(reply.locator('img')).toHaveCount(0);
  await expect(reply.locator('script')).toHaveCount(0);
  await expect(reply.locator('a[href^="javascript"]')).toHaveCount(0);
  const good = reply.getByRole('link', { name: 'good' });
  await expect(good).toHaveAttribute('target', '_blank');
  await expect(good).toHaveAttribute('rel', /noopener/);
  await expect(reply.locator('.code-block .hljs-keyword')).toHaveText('fn');
  await expect(reply.getByRole('button', { name: 'Copy code' })).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
});

test('a failed reply shows why and can be retried', async ({ page }) => {
  await register(page, newUser('fail'));
  await send(page, 'Break [[status=500]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'failed');
  await expect(lastReply(page)).toContainText('The reply failed');
  await screenshot(page, 'failed-reply');
  await lastReply(page).getByRole('button', { name: 'Retry' }).click();
  await expect(lastReply(page).getByLabel('Version 2 of 2')).toBeVisible();
});

test('the theme follows the system and the toggle overrides it', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await register(page, newUser('theme'));
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(await background()).toBe('rgb(22, 23, 27)');
  await send(page, 'Show code [[reply=```js\nconst x = 1;\n```]]');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await screenshot(page, 'chat-dark');
  // system → light → dark → system
  await page.getByRole('button', { name: /^Theme: system/ }).click();
  expect(await background()).toBe('rgb(255, 255, 255)');
  await page.reload();
  expect(await background()).toBe('rgb(255, 255, 255)');
  await page.getByRole('button', { name: /^Theme: light/ }).click();
  await page.getByRole('button', { name: /^Theme: dark/ }).click();
  expect(await background()).toBe('rgb(22, 23, 27)');
});
