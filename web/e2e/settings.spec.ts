import { expect, test } from '@playwright/test';

import { lastReply, screenshot, send, signInByApi, url } from './fixtures';

test('settings: a default model and system prompt, kept by the server, used by new chats', async ({ page }) => {
  const token = await signInByApi(page, 'settings');
  await page.goto(url('/'));
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await expect(page).toHaveURL(url('/settings'));
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  const model = page.getByLabel('Default model');
  const prompt = page.getByLabel('Default system prompt');
  await expect(model).toHaveValue('');
  await expect(prompt).toHaveValue('');

  await model.selectOption('fake-model-large');
  await prompt.fill('Answer like a pirate.');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Settings saved.' })).toBeVisible();
  await screenshot(page, 'settings');
  // The note goes as soon as something changes again.
  await prompt.fill('Answer like a pirate, briefly.');
  await expect(page.getByText('Settings saved.')).toHaveCount(0);
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();

  // Stored on the server: a reload (or another device) shows them.
  await page.reload();
  await expect(model).toHaveValue('fake-model-large');
  await expect(prompt).toHaveValue('Answer like a pirate, briefly.');

  // A new chat starts with them selected, and the conversation is created with them.
  await page.getByRole('link', { name: 'New chat' }).click();
  const picker = page.getByRole('button', { name: /^Model:/ });
  await expect(picker.locator('.model-name')).toHaveText('fake-model-large');
  await expect(page.getByRole('button', { name: /System prompt •/ })).toBeVisible();
  await send(page, 'Ahoy?');
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  await expect(lastReply(page).locator('.message-model')).toHaveText('fake-model-large');
  const id = new URL(page.url()).pathname.split('/').pop();
  const conversation = await (
    await fetch(`${process.env.OPENCHAT_CHAT_URL}/api/v1/conversations/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).json();
  expect(conversation.model).toBe('fake-model-large');
  expect(conversation.system_prompt).toBe('Answer like a pirate, briefly.');

  // Changed for one chat only, on the new chat page: that chat gets the change.
  await page.getByRole('link', { name: 'New chat' }).click();
  await picker.click();
  await page.getByRole('option', { name: 'fake-model', exact: true }).click();
  await expect(picker.locator('.model-name')).toHaveText('fake-model');
  await send(page, 'Plain please');
  await expect(lastReply(page).locator('.message-model')).toHaveText('fake-model');

  // Back to the server's defaults.
  await page.goto(url('/settings'));
  await model.selectOption('');
  await prompt.fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();
  await page.getByRole('link', { name: 'New chat' }).click();
  await expect(page.getByRole('button', { name: 'System prompt', exact: true })).toBeVisible();
});
