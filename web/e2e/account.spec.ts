import { expect, test, type Page } from '@playwright/test';

import { registerByApi, tokenByApi, updateUserByApi } from './auth-api';
import { ADMIN, login, newUser, register, screenshot, url } from './fixtures';

const HOME = 'How can I help?';

async function logInAs(page: Page, name: string, password: string) {
  await page.goto(url('/login'));
  await page.getByLabel('Username or email').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Signed in: the app's shell is shown (wherever the login led, e.g. back to the page that sent us to it). */
async function expectSignedIn(page: Page) {
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  await expect(page).not.toHaveURL(/\/login$/);
}

test('changing the password asks for the current one; this session goes on, the others end', async ({ browser }) => {
  const user = newUser('pw');
  const here = await (await browser.newContext()).newPage();
  await register(here, user);
  const elsewhere = await (await browser.newContext()).newPage();
  await login(elsewhere, user);

  await here.goto(url('/account'));
  const form = here.locator('form', { has: here.getByRole('heading', { name: 'Change password' }) });
  const fill = async (current: string, next: string, repeat = next) => {
    await form.getByLabel('Current password', { exact: true }).fill(current);
    await form.getByLabel('New password', { exact: true }).fill(next);
    await form.getByLabel('Repeat the new password', { exact: true }).fill(repeat);
    await form.getByRole('button', { name: 'Change password' }).click();
  };
  // Someone at an unlocked screen who does not know the password cannot change it.
  await fill('not-the-password', 'another-secret-42');
  await expect(here.locator('#field-current_password-error')).toHaveText('Your current password is incorrect');
  await expect(form.getByLabel('Current password', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  await screenshot(here, 'account-wrong-password');
  await fill(user.password, 'another-secret-42', 'another-secret-43');
  await expect(here.locator('#field-confirm-error')).toHaveText('The two new passwords differ.');
  await fill(user.password, 'short');
  await expect(here.locator('#field-new_password-error')).toContainText('at least 8 characters');

  await fill(user.password, 'another-secret-42');
  const note = form.getByRole('status');
  await expect(note).toHaveText('Password changed. Your other sessions were logged out.');
  await expect(form.getByLabel('Current password', { exact: true })).toHaveValue('');
  // This tab stays signed in, also after a reload…
  await here.reload();
  await expect(here.getByRole('heading', { name: 'Account' })).toBeVisible();
  await here.goto(url('/'));
  await expect(here.getByRole('heading', { name: HOME })).toBeVisible();
  // …while the other browser's session has ended.
  await elsewhere.goto(url('/account'));
  await expect(elsewhere).toHaveURL(/\/login$/);

  await logInAs(elsewhere, user.username, user.password);
  await expect(elsewhere.getByRole('alert')).toHaveText('Incorrect username or password');
  await logInAs(elsewhere, user.username, 'another-secret-42');
  await expectSignedIn(elsewhere);
});

test('the profile’s errors sit under their fields, and “Profile saved.” does not linger', async ({ page }) => {
  const other = newUser('taken');
  await registerByApi(other);
  const user = newUser('prof');
  await register(page, user);
  await page.goto(url('/account'));
  const form = page.locator('form', { has: page.getByRole('heading', { name: 'Profile' }) });
  const email = form.getByLabel('Email');
  const note = form.getByRole('status');

  await email.fill(other.email);
  await form.getByRole('button', { name: 'Save profile' }).click();
  await expect(page.locator('#field-email-error')).toHaveText('Email already registered');
  await expect(email).toHaveAttribute('aria-invalid', 'true');
  await expect(form.locator('.form-error')).toHaveCount(0);
  await screenshot(page, 'account-email-taken');

  await email.fill(`new-${user.email}`);
  await form.getByRole('button', { name: 'Save profile' }).click();
  await expect(note).toHaveText('Profile saved.');
  await expect(page.locator('#field-email-error')).toHaveCount(0);
  // Editing again makes the note untrue: it goes at once.
  await form.getByLabel('Full name').fill('Someone Else');
  await expect(note).toHaveText('');
  // Saved again, it goes by itself after a few seconds.
  await form.getByRole('button', { name: 'Save profile' }).click();
  await expect(note).toHaveText('Profile saved.');
  await expect(note).toHaveText('', { timeout: 8_000 });
  await page.reload();
  await expect(form.getByLabel('Full name')).toHaveValue('Someone Else');
  await expect(email).toHaveValue(`new-${user.email}`);
});

test('one logs in with the username or the email; a disabled account’s login says so', async ({ page }) => {
  const user = newUser('mail');
  await registerByApi(user);
  await logInAs(page, user.email.toUpperCase(), user.password);
  await expectSignedIn(page);
  await page.goto(url('/account'));
  await expect(page.getByText(`Signed in as ${user.username}`)).toBeVisible();
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  const admin = await tokenByApi(ADMIN.username, ADMIN.password);
  await updateUserByApi(admin, user.username, { is_active: false });
  // A wrong password learns nothing about the account…
  await logInAs(page, user.email, 'not-the-password');
  await expect(page.getByRole('alert')).toHaveText('Incorrect username or password');
  // …the right one is told why it cannot come in.
  await logInAs(page, user.username, user.password);
  await expect(page.getByRole('alert')).toHaveText('This account is disabled; ask an administrator to enable it');
  await screenshot(page, 'login-disabled');
  await updateUserByApi(admin, user.username, { is_active: true });
  await logInAs(page, user.email, user.password);
  await expectSignedIn(page);
});
