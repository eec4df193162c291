import { expect, type Locator, type Page } from '@playwright/test';

export const ADMIN = { username: 'e2eadmin', email: 'admin@example.com', password: 'admin-password-42' };

export interface TestUser {
  username: string;
  email: string;
  password: string;
  fullName: string;
}

let counter = 0;
export function newUser(prefix = 'user'): TestUser {
  counter += 1;
  const id = `${prefix}${Date.now().toString(36)}${process.pid % 1000}${counter}`;
  return {
    username: id,
    email: `${id}@example.com`,
    password: 'correct-horse-42',
    fullName: `Test ${prefix} ${counter}`,
  };
}

/** The web UI's address (set by the global setup). */
export function url(path = '/'): string {
  const base = process.env.OPENCHAT_WEB_URL;
  if (!base) throw new Error('OPENCHAT_WEB_URL is not set: run through playwright.config.ts');
  return new URL(path, base).toString();
}

export async function register(page: Page, user: TestUser): Promise<void> {
  await page.goto(url('/register'));
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Full name').fill(user.fullName);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();
}

export async function login(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.goto(url('/login'));
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();
}

export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

export function assistantMessages(page: Page): Locator {
  return page.locator('article.from-assistant');
}

export function lastReply(page: Page): Locator {
  return assistantMessages(page).last();
}

/** "w1 w2 … wN": what the fake provider answers to `[[words=N]]`. */
export function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(' ');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: false });
}
