import { expect, test, type Page } from '@playwright/test';

import { signInByApi, url } from './fixtures';

/**
 * Two tabs of one session must not log each other out when both refresh the access token at
 * once — also where `navigator.locks` does not exist (it is only there in secure contexts, so
 * not over plain HTTP on a LAN address, where teams often run this). Both tabs used to send the
 * same refresh token; the server took the second use for a stolen token and ended the session.
 * Here the Web Locks API is removed from every page, and a third page marks the shared access
 * token expired, so both tabs learn it from the same `storage` event and refresh at once.
 */

const signedIn = (page: Page) => expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();

const accessToken = (page: Page) =>
  page.evaluate(
    () => (JSON.parse(localStorage.getItem('openchat.session') ?? '{}') as { accessToken?: string }).accessToken,
  );

test('two tabs without Web Locks refresh one session without logging each other out', async ({ context }) => {
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
  });
  const first = await context.newPage();
  await signInByApi(first, 'tabs');
  await first.goto(url('/'));
  await signedIn(first);
  expect(await first.evaluate(() => navigator.locks)).toBeUndefined();
  const second = await context.newPage();
  await second.goto(url('/'));
  await signedIn(second);
  // A page of the same origin that only writes to storage (its own session is not running).
  const writer = await context.newPage();
  await writer.goto(url('/favicon.svg'));

  for (let round = 0; round < 10; round++) {
    const before = await accessToken(first);
    await writer.evaluate(() => {
      const session = JSON.parse(localStorage.getItem('openchat.session') ?? 'null') as { expiresAt: number } | null;
      if (!session) throw new Error('signed out');
      session.expiresAt = Date.now() - 1000;
      localStorage.setItem('openchat.session', JSON.stringify(session));
    });
    // One of the tabs refreshed; the other took the new tokens from storage.
    await expect.poll(() => accessToken(first)).not.toBe(before);
    await signedIn(first);
    await signedIn(second);
  }
  // Both tabs are still signed in, and the session works on the server.
  for (const tab of [first, second]) {
    await tab.reload();
    await signedIn(tab);
  }
  await second.goto(url('/account'));
  await expect(second.getByRole('heading', { name: 'Account', exact: true })).toBeVisible();
  await expect(second.getByLabel('Email')).not.toHaveValue('');
});
