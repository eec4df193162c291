import { expect, test } from '@playwright/test';

import { ADMIN, login, newUser, register, screenshot, url } from './fixtures';

test('an administrator promotes a user, who then sees the user list read-only', async ({ browser }) => {
  const user = newUser('promo');
  const userContext = await browser.newContext();
  const userPage = await userContext.newPage();
  await register(userPage, user);
  await expect(userPage.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await userPage.goto(url('/admin'));
  await expect(userPage.getByRole('alert')).toContainText('Only administrators and managers');

  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await login(admin, ADMIN);
  await admin.getByRole('link', { name: 'Users' }).click();
  await admin.getByLabel('Search users').fill(user.username);
  const row = admin.locator(`tr[data-username="${user.username}"]`);
  await expect(row).toBeVisible();
  await screenshot(admin, 'admin');
  // The box shows the new role at once; the reload waits for the server to have stored it.
  const saved = admin.waitForResponse(
    (r) => r.url().endsWith(`/roles/${user.username}`) && r.request().method() === 'PUT',
  );
  await row.getByLabel(`manager role for ${user.username}`).check();
  await expect(row.getByLabel(`manager role for ${user.username}`)).toBeChecked();
  expect((await saved).status()).toBe(200);
  await admin.reload();
  await admin.getByLabel('Search users').fill(user.username);
  await expect(
    admin.locator(`tr[data-username="${user.username}"]`).getByLabel(`manager role for ${user.username}`),
  ).toBeChecked();

  // The role change made the user's old access token invalid; the app refreshes it silently
  // and the new token carries the new role: the user now sees users, read-only.
  await userPage.goto(url('/'));
  await userPage.getByRole('link', { name: 'Users' }).click();
  await expect(userPage.getByText('You are a manager')).toBeVisible();
  await expect(
    userPage.locator(`tr[data-username="${ADMIN.username}"]`).getByLabel(`admin role for ${ADMIN.username}`),
  ).toBeDisabled();

  // Disable and delete stay with administrators.
  const victim = newUser('gone');
  const victimPage = await (await browser.newContext()).newPage();
  await register(victimPage, victim);
  await admin.getByLabel('Search users').fill(victim.username);
  const victimRow = admin.locator(`tr[data-username="${victim.username}"]`);
  await victimRow.getByRole('button', { name: 'Delete' }).click();
  await admin.getByRole('button', { name: 'Delete user' }).click();
  await expect(victimRow).toHaveCount(0);
});
