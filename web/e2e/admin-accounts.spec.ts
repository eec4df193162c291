import { expect, test, type Page } from '@playwright/test';

import { registerByApi } from './auth-api';
import { ADMIN, login, newUser, screenshot, url } from './fixtures';

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

async function usersPage(browser: import('@playwright/test').Browser) {
  const admin = await (await browser.newContext()).newPage();
  await login(admin, ADMIN);
  await admin.getByRole('link', { name: 'Users' }).click();
  await expect(admin.getByRole('heading', { name: 'Users' })).toBeVisible();
  return admin;
}

test('an administrator creates users, with a generated password shown once or a typed one', async ({ browser }) => {
  const admin = await usersPage(browser);
  const made = newUser('made');
  await admin.getByRole('button', { name: 'Create user' }).click();
  const dialog = admin.getByRole('dialog', { name: 'Create a user' });
  await dialog.getByLabel('Username').fill(made.username);
  await dialog.getByLabel('Email').fill(made.email);
  await dialog.getByLabel('Full name').fill(made.fullName);
  await dialog.getByLabel('manager', { exact: true }).check();
  await expect(dialog.getByLabel('Generate one (shown once, to copy)')).toBeChecked();
  await screenshot(admin, 'admin-create-user');
  await dialog.getByRole('button', { name: 'Create user' }).click();

  const done = admin.getByRole('dialog', { name: 'User created' });
  const secret = done.getByLabel('Their password — shown only now');
  await expect(secret).toHaveValue(/^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}$/);
  const generated = await secret.inputValue();
  await screenshot(admin, 'admin-user-created');
  await done.getByRole('button', { name: 'Done' }).click();
  await expect(admin.getByRole('dialog')).toHaveCount(0);
  // Shown once: opening the form again starts blank, with no trace of it.
  await admin.getByRole('button', { name: 'Create user' }).click();
  await expect(admin.getByRole('dialog', { name: 'Create a user' }).getByLabel('Username')).toHaveValue('');
  await expect(admin.locator('#generated-password')).toHaveCount(0);
  await admin.keyboard.press('Escape');
  await expect(admin.getByRole('dialog')).toHaveCount(0);

  await admin.getByLabel('Search users').fill(made.username);
  const row = admin.locator(`tr[data-username="${made.username}"]`);
  await expect(row.getByLabel(`manager role for ${made.username}`)).toBeChecked();
  await expect(row.getByLabel(`user role for ${made.username}`)).toBeChecked();
  const newcomer = await (await browser.newContext()).newPage();
  await logInAs(newcomer, made.email, generated);
  await expectSignedIn(newcomer);
  await expect(newcomer.getByRole('link', { name: 'Users' })).toBeVisible();

  // A typed password; a taken email is said under its field.
  const typed = newUser('typed');
  await admin.getByRole('button', { name: 'Create user' }).click();
  const form = admin.getByRole('dialog', { name: 'Create a user' });
  await form.getByLabel('Username').fill(typed.username);
  await form.getByLabel('Email').fill(made.email);
  await form.getByLabel('Type one').check();
  await form.getByLabel('Password for the user').fill(typed.password);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.locator('#field-email-error')).toHaveText('Email already registered');
  await form.getByLabel('Email').fill(typed.email);
  await form.getByLabel('Password for the user').fill('short');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.locator('#field-password-error')).toContainText('at least 8 characters');
  await form.getByLabel('Password for the user').fill(typed.password);
  await form.getByRole('button', { name: 'Create user' }).click();
  const created = admin.getByRole('dialog', { name: 'User created' });
  await expect(created).toContainText(typed.username);
  await expect(created.getByLabel('Their password — shown only now')).toHaveCount(0);
  await created.getByRole('button', { name: 'Done' }).click();
  const typedPage = await (await browser.newContext()).newPage();
  await logInAs(typedPage, typed.username, typed.password);
  await expectSignedIn(typedPage);
});

test('an administrator resets a password with their own, and the user is logged out everywhere', async ({
  browser,
}) => {
  const user = newUser('reset');
  await registerByApi(user);
  const victim = await (await browser.newContext()).newPage();
  await login(victim, user);

  const admin = await usersPage(browser);
  await admin.getByLabel('Search users').fill(user.username);
  const row = admin.locator(`tr[data-username="${user.username}"]`);
  await row.getByRole('button', { name: 'Reset password' }).click();
  const dialog = admin.getByRole('dialog', { name: `Reset the password of ${user.username}` });
  // The user's password is not the administrator's: refused, and said under the field.
  await dialog.getByLabel('Your password', { exact: true }).fill(user.password);
  await dialog.getByRole('button', { name: 'Reset password' }).click();
  await expect(dialog.locator('#field-current_password-error')).toHaveText('Your current password is incorrect');
  await screenshot(admin, 'admin-reset-wrong-password');
  await dialog.getByLabel('Your password', { exact: true }).fill(ADMIN.password);
  await dialog.getByRole('button', { name: 'Reset password' }).click();
  const done = admin.getByRole('dialog', { name: 'Password reset' });
  const generated = await done.getByLabel('Their password — shown only now').inputValue();
  expect(generated).toMatch(/^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}$/);
  await done.getByRole('button', { name: 'Done' }).click();
  // The administrator's own row offers no reset (that is the account page's job).
  await admin.getByLabel('Search users').fill(ADMIN.username);
  await expect(
    admin.locator(`tr[data-username="${ADMIN.username}"]`).getByRole('button', { name: 'Reset password' }),
  ).toBeDisabled();

  await victim.goto(url('/account'));
  await expect(victim).toHaveURL(/\/login$/);
  await logInAs(victim, user.username, user.password);
  await expect(victim.getByRole('alert')).toHaveText('Incorrect username or password');
  await logInAs(victim, user.username, generated);
  await expectSignedIn(victim);
});
