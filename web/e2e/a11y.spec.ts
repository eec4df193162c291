import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';

import { ADMIN, lastReply, login, send, signInByApi, url } from './fixtures';

/**
 * Every page passes axe-core (WCAG 2.x A and AA plus axe's best practices) with no violation,
 * in both themes and on a phone; every icon-only control has a tooltip that says what its
 * accessible name says; every page names itself in the window title.
 */

async function audit(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const found = violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary?.replace(/\s+/g, ' ')}`),
  }));
  expect(found, `axe violations on ${what}`).toEqual([]);
  const untitled = await page.locator('button, a').evaluateAll((els) =>
    els
      .filter((el) => !el.textContent?.trim() && (el as HTMLElement).checkVisibility())
      .filter((el) => !el.getAttribute('aria-label') || el.getAttribute('title') !== el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 160)),
  );
  expect(untitled, `icon-only controls without a matching tooltip on ${what}`).toEqual([]);
  expect(await page.title(), `the window title of ${what}`).toMatch(/^.+ — Open ChatBot$/);
  // Attributes that are not HTML (a Markdown syntax-tree node once leaked as node="[object Object]").
  expect(await page.locator('[node]').count(), `elements with a "node" attribute on ${what}`).toBe(0);
}

/** A reply with what Markdown can hold: headings, code blocks, a table, a list, a quote, links. */
const RICH = [
  '## Result',
  '',
  'Some `inline code`, **bold** and a [link](https://example.org/).',
  '',
  '```rust',
  '// A comment',
  'fn main() { let s = "text"; println!("{}", 42); }',
  '```',
  '',
  '| language | year |',
  '|---|---|',
  '| Rust | 2015 |',
  '| Go | 2012 |',
  '',
  '- one',
  '- two',
  '',
  '> a quote',
  '',
  '```js',
  'const answer = 42; // the answer',
  'function f() { return "s"; }',
  '```',
].join('\n');

/** A conversation with a user message and a rich, highlighted reply. */
async function richConversation(page: Page): Promise<void> {
  await page.goto(url('/'));
  await send(page, `Show me everything [[reply=${RICH}]]`);
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await expect(lastReply(page).locator('.hljs-keyword').first()).toBeVisible();
  await expect(lastReply(page).locator('table')).toBeVisible();
  await expect(page).toHaveTitle(/ — Open ChatBot$/);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme });

    test(`login and registration pages (${colorScheme})`, async ({ page }) => {
      await page.goto(url('/login'));
      await expect(page.getByRole('heading', { name: 'Log in to Open ChatBot' })).toBeVisible();
      await expect(page).toHaveTitle('Log in — Open ChatBot');
      await audit(page, 'the login page');
      // A failed login's message too.
      await page.getByLabel('Username').fill('nobody-here');
      await page.getByLabel('Password').fill('wrong-password-1');
      await page.getByRole('button', { name: 'Log in' }).click();
      await expect(page.getByRole('alert')).toBeVisible();
      await audit(page, 'the login page with an error');

      await page.goto(url('/register'));
      await expect(page).toHaveTitle('Create an account — Open ChatBot');
      await audit(page, 'the registration page');
    });

    test(`the chat pages, account and settings (${colorScheme})`, async ({ page }) => {
      await signInByApi(page, `a11y${colorScheme}`);
      await page.goto(url('/'));
      await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();
      await expect(page).toHaveTitle('New chat — Open ChatBot');
      await audit(page, 'the new chat page');

      // A reply while it streams, then stopped.
      await send(page, 'Slowly [[words=200]] [[delay=100]]');
      await expect(lastReply(page)).toContainText('w2');
      await audit(page, 'a reply while it streams');
      await page.keyboard.press('Escape');
      await expect(lastReply(page)).toHaveAttribute('data-status', 'cancelled');
      await audit(page, 'a stopped reply');

      await richConversation(page);
      await audit(page, 'a conversation with code and a table');

      // The conversation menu, open.
      const sidebar = page.getByRole('navigation', { name: 'Conversations' });
      await sidebar
        .getByRole('button', { name: /^Actions for/ })
        .first()
        .click();
      await expect(page.getByRole('menu')).toBeVisible();
      await audit(page, 'the conversation menu');
      await page.keyboard.press('Escape');

      // Search results with their excerpts.
      await sidebar.getByLabel('Search conversations').fill('inline code');
      await expect(sidebar.locator('.snippet mark').first()).toBeVisible();
      await audit(page, 'search results');
      await sidebar.getByLabel('Search conversations').fill('');

      await page.goto(url('/account'));
      await expect(page.getByRole('heading', { name: 'Account' })).toBeVisible();
      await expect(page).toHaveTitle('Account — Open ChatBot');
      await audit(page, 'the account page');

      await page.goto(url('/settings'));
      await expect(page.getByLabel('Default model')).toBeVisible();
      await expect(page).toHaveTitle('Settings — Open ChatBot');
      await audit(page, 'the settings page');
    });

    test(`administration (${colorScheme})`, async ({ page }) => {
      await login(page, ADMIN);
      await page.goto(url('/admin'));
      await expect(page.locator('table.users')).toBeVisible();
      await expect(page).toHaveTitle('Administration — Open ChatBot');
      await audit(page, 'the administration page');
    });
  });
}

test.describe('phone layout', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  for (const colorScheme of ['light', 'dark'] as const) {
    test(`new chat, the drawer, a conversation and settings on a phone (${colorScheme})`, async ({ page }) => {
      await page.emulateMedia({ colorScheme });
      await signInByApi(page, `a11yphone${colorScheme}`);
      await page.goto(url('/'));
      await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();
      await audit(page, 'the new chat page on a phone');

      await richConversation(page);
      await audit(page, 'a conversation on a phone');

      await page.getByRole('button', { name: 'Open the conversation list' }).click();
      await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
      await audit(page, 'the open drawer on a phone');
      await page.keyboard.press('Escape');

      await page.goto(url('/settings'));
      await expect(page.getByLabel('Default model')).toBeVisible();
      await audit(page, 'the settings page on a phone');
    });
  }
});
