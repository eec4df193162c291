import { expect, test, type Page } from '@playwright/test';

import { startPlatform, type Platform } from './platform';

/**
 * The model picker against a realistic catalogue: the fake provider lists OpenAI's whole
 * catalogue plus fine-tunes — 300 ids in a shuffled order, chat and non-chat — as a proxy in
 * front of OpenAI would. Its own platform: the test changes the provider's list.
 */

const ADMIN = { username: 'modeladmin', email: 'modeladmin@example.com', password: 'admin-password-42' };
let platform: Platform;

test.beforeAll(async () => {
  platform = await startPlatform({
    fakeEnv: { FAKE_LLM_CATALOGUE: '300' },
    env: {
      OPENCHAT_BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      OPENCHAT_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      OPENCHAT_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    },
  });
});

test.afterAll(async () => {
  await platform?.close();
});

async function logIn(page: Page) {
  await page.goto(`${platform.web}/login`);
  await page.getByLabel(/Username/).fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'How can I help?' })).toBeVisible();
}

const picker = (page: Page) => page.getByRole('button', { name: /^Model:/ });

test('300 models: grouped, searchable, a chat model by default, the conversation’s model in full', async ({ page }) => {
  await logIn(page);
  // The default is the preferred chat model, not whatever the provider listed first.
  await expect(picker(page)).toHaveAccessibleName('Model: gpt-4.1-mini openai');
  await picker(page).click();
  const search = page.getByRole('combobox', { name: 'Search models' });
  await expect(search).toBeFocused();
  const options = page.getByRole('option');
  // Non-chat models (speech, embeddings, images, moderation) are not offered.
  const offered = await options.allTextContents();
  expect(offered.length).toBeGreaterThan(100);
  expect(offered.length).toBeLessThan(300);
  for (const id of ['whisper-1', 'tts-1-hd', 'text-embedding-3-small', 'dall-e-3', 'omni-moderation-latest']) {
    expect(offered).not.toContain(id);
  }
  await expect(page.getByRole('group', { name: 'openai' })).toBeVisible();
  // Typing filters; arrows and Enter pick.
  await search.fill('o3 mini');
  await expect(options).toHaveCount(1);
  await expect(options.first()).toHaveText('o3-mini');
  await search.press('Enter');
  await expect(picker(page)).toHaveAccessibleName('Model: o3-mini openai');
  await expect(picker(page)).toBeFocused();
  // Esc closes without changing anything.
  await picker(page).click();
  await page.getByRole('combobox', { name: 'Search models' }).fill('4o');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Escape');
  await expect(page.getByRole('listbox')).toHaveCount(0);
  await expect(picker(page)).toHaveAccessibleName('Model: o3-mini openai');

  // The new conversation uses the chosen model, and its page names it in full.
  const box = page.getByLabel('Message', { exact: true });
  await box.fill('Which model? [[reply=This one.]]');
  await box.press('Enter');
  await expect(page.locator('article.from-assistant')).toHaveAttribute('data-status', 'complete');
  await expect(picker(page)).toHaveAccessibleName('Model: o3-mini openai');
  const long = 'ft:gpt-4o-mini:acme:run-0000';
  await picker(page).click();
  await page.getByRole('combobox', { name: 'Search models' }).fill(long);
  await page.getByRole('option', { name: long }).click();
  await expect(picker(page)).toHaveAccessibleName(`Model: ${long} openai`);
  await expect(picker(page).locator('.model-name')).toHaveText(long);
  const box2 = await picker(page)
    .locator('.model-name')
    .evaluate((el) => el.scrollWidth <= el.clientWidth + 1);
  expect(box2, 'the full name is visible, not cut off').toBe(true);
  await page.reload();
  await expect(picker(page)).toHaveAccessibleName(`Model: ${long} openai`);
});

test('a conversation whose model disappeared says so and offers another; admins refresh lists', async ({ page }) => {
  await logIn(page);
  await picker(page).click();
  await page.getByRole('combobox', { name: 'Search models' }).fill('gpt-4o-2024-11-20');
  await page.getByRole('option', { name: 'gpt-4o-2024-11-20' }).click();
  const box = page.getByLabel('Message', { exact: true });
  await box.fill('Hello [[reply=Hi.]]');
  await box.press('Enter');
  await expect(page.locator('article.from-assistant')).toHaveAttribute('data-status', 'complete');

  // The provider drops that model; the administrator has the lists read again.
  const response = await fetch(`${platform.fake}/fake/models`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(['gpt-4.1-mini', 'gpt-4o', 'whisper-1']),
  });
  expect(response.status).toBe(204);
  await picker(page).click();
  await page.getByRole('button', { name: 'Refresh model lists' }).click();
  await expect(page.getByRole('option')).toHaveCount(2);
  await page.keyboard.press('Escape');
  await expect(page.getByText('The model “gpt-4o-2024-11-20” is no longer available')).toBeVisible();
  await expect(picker(page)).toHaveAccessibleName('Model: gpt-4o-2024-11-20 unavailable');
  await page.getByRole('button', { name: 'Use gpt-4.1-mini' }).click();
  await expect(picker(page)).toHaveAccessibleName('Model: gpt-4.1-mini openai');
  await expect(page.getByText(/is no longer available/)).toHaveCount(0);
});
