import { expect, test } from '@playwright/test';

import { ADMIN, login, replyById, screenshot, send, signInByApi, url } from './fixtures';

/**
 * Tools: a user registers the example MCP server (`mcp-time`, on a loopback port the
 * administrator allows), tests the connection, and asks for the time in Tokyo; the fake model
 * calls the tool, the call and its result show in the reply as they happen, and a reload keeps
 * them.
 */
test('a registered MCP server’s tool is called in a reply, shown, and kept on reload', async ({ page }) => {
  const server = process.env.OPENCHAT_MCP_TIME_URL;
  test.skip(!server, 'needs the example MCP server of the local platform');
  await signInByApi(page, 'tools');
  await page.goto(url('/tools'));
  await expect(page.getByRole('heading', { name: 'Tools', level: 1 })).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill('Clock');
  await page.getByLabel('Server URL').fill(server!);
  await page.getByRole('button', { name: 'Add server' }).click();
  await expect(page.getByText('“Clock” added.')).toBeVisible();
  const row = page.locator('li.server', { hasText: 'Clock' });
  await row.getByRole('button', { name: 'Test connection' }).click();
  await expect(row.getByRole('status')).toContainText('Connected to mcp-time');
  await expect(row.getByRole('status')).toContainText('3 tools');
  await expect(row).toContainText('get_current_time');
  await screenshot(page, 'tools');

  // A URL on an internal address is refused, with the reason under the field.
  await page.getByLabel('Name', { exact: true }).fill('Sneaky');
  await page.getByLabel('Server URL').fill('https://169.254.169.254/latest');
  await page.getByRole('button', { name: 'Add server' }).click();
  await expect(page.locator('#field-server_url-error')).toContainText('internal address');

  await page.goto(url('/'));
  const id = await send(page, 'What time is it in Tokyo? [[call=get_current_time {"timezone": "Asia/Tokyo"}]]');
  const check = async () => {
    const reply = replyById(page, id);
    const call = reply.locator('details.tool-call');
    await expect(call).toHaveAttribute('data-state', 'done');
    await expect(call.locator('summary')).toContainText('get_current_time');
    await expect(call.locator('summary')).toContainText('Clock');
    await call.locator('summary').click();
    await expect(call).toContainText('"timezone": "Asia/Tokyo"');
    await expect(call).toContainText('+09:00[Asia/Tokyo]');
    // The model answered with the tool's result.
    await expect(reply.locator('.markdown')).toContainText('Tool results:');
    await expect(reply).toHaveAttribute('data-status', 'complete');
  };
  await check();
  await screenshot(page, 'tool-call');
  await page.reload();
  await check();

  // This conversation switches its tools off: the next reply is not offered any.
  await page.getByRole('button', { name: 'Tools: all' }).click();
  const panel = page.getByRole('form', { name: 'Tools' });
  await panel.getByLabel('Every active MCP server').uncheck();
  await panel.getByLabel('Clock').uncheck();
  await panel.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('button', { name: 'Tools: off' })).toBeVisible();
  const next = await send(page, 'And now? [[call=get_current_time {"timezone": "Asia/Tokyo"}]]');
  await expect(replyById(page, next)).toHaveAttribute('data-status', 'complete');
  await expect(replyById(page, next)).toContainText('Echo: And now?');
  await expect(replyById(page, next).locator('details.tool-call')).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('button', { name: 'Tools: off' })).toBeVisible();
});

/**
 * A tool the user asked to approve first: the call waits in the reply with its arguments and a
 * question; a reload keeps it waiting; "Run" runs it, "Don't run" tells the model it was declined.
 */
test('a tool that asks first waits for the user’s answer, across a reload', async ({ page, browser }) => {
  const server = process.env.OPENCHAT_MCP_TIME_URL;
  test.skip(!server, 'needs the example MCP server of the local platform');
  await signInByApi(page, 'approve');
  await page.goto(url('/tools'));
  await page.getByLabel('Name', { exact: true }).fill('Clock');
  await page.getByLabel('Server URL').fill(server!);
  await page.getByRole('button', { name: 'Add server' }).click();
  const row = page.locator('li.server', { hasText: 'Clock' });
  await row.getByRole('button', { name: 'Test connection' }).click();
  await row.getByLabel('Ask before running get_current_time').check();
  await expect(row.locator('.server-asks')).toContainText('get_current_time');
  await page.reload();
  await expect(page.locator('li.server', { hasText: 'Clock' }).locator('.server-asks')).toContainText(
    'get_current_time',
  );

  await page.goto(url('/'));
  const ask = 'Tokyo? [[call=get_current_time {"timezone": "Asia/Tokyo"}]]';
  const id = await send(page, ask);
  const reply = replyById(page, id);
  const call = reply.locator('details.tool-call');
  const question = reply.getByRole('group', { name: 'Run get_current_time?' });
  await expect(call).toHaveAttribute('data-state', 'waiting');
  await expect(call).toContainText('"timezone": "Asia/Tokyo"');
  await expect(question).toBeVisible();
  await screenshot(page, 'tool-approval');
  await page.reload();
  await expect(call).toHaveAttribute('data-state', 'waiting');
  await question.getByRole('button', { name: 'Run', exact: true }).click();
  await expect(call).toHaveAttribute('data-state', 'done');
  await expect(question).toHaveCount(0);
  await expect(reply).toHaveAttribute('data-status', 'complete');
  await expect(reply.locator('.markdown')).toContainText('+09:00[Asia/Tokyo]');

  const next = await send(page, ask);
  const declined = replyById(page, next);
  await declined.getByRole('button', { name: 'Don’t run' }).click();
  await expect(declined.locator('details.tool-call')).toHaveAttribute('data-state', 'declined');
  await expect(declined.locator('details.tool-call summary')).toContainText('Not run');
  await expect(declined).toHaveAttribute('data-status', 'complete');
  await expect(declined.locator('.markdown')).toContainText('The user declined to run this tool.');
  await page.reload();
  await expect(replyById(page, next).locator('details.tool-call')).toHaveAttribute('data-state', 'declined');

  // An administrator finds the declined call in the audit on the Tools page; the user has none.
  await page.goto(url('/tools'));
  await expect(page.getByRole('heading', { name: 'MCP servers' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Tool calls' })).toHaveCount(0);
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await login(admin, ADMIN);
  await admin.goto(url('/tools'));
  await admin.getByLabel('Outcome').selectOption('declined');
  const audited = admin.locator('table.tool-audit tr[data-outcome="declined"]', { hasText: 'get_current_time' });
  await expect(audited.first()).toContainText('Clock');
  await screenshot(admin, 'tool-audit');
  await adminContext.close();
});

/**
 * A server that must know the user ("Tell the server who I am"): the example server started with
 * `--issuer` takes only tokens the auth server minted for it, so the connection test and the
 * reply's call reach it only through the chat service's exchange, and it tells who called.
 */
test('a server that must know the user learns who they are from a token made for it', async ({ page }) => {
  const server = process.env.OPENCHAT_MCP_IDENTITY_URL;
  test.skip(!server, 'needs the example MCP server of the local platform');
  await signInByApi(page, 'whoami');
  await page.goto(url('/tools'));
  await page.getByLabel('Name', { exact: true }).fill('Badge');
  await page.getByLabel('Server URL').fill(server!);
  await page.getByLabel('Tell the server who I am').check();
  await page.getByRole('button', { name: 'Add server' }).click();
  await expect(page.getByText('“Badge” added.')).toBeVisible();
  const row = page.locator('li.server', { hasText: 'Badge' });
  await expect(row).toContainText('knows who you are');
  await row.getByRole('button', { name: 'Test connection' }).click();
  await expect(row.getByRole('status')).toContainText('Connected to mcp-time');
  await expect(row).toContainText('whoami');

  await page.goto(url('/'));
  const id = await send(page, 'Who am I? [[call=whoami {}]]');
  const call = replyById(page, id).locator('details.tool-call');
  await expect(call).toHaveAttribute('data-state', 'done');
  await call.locator('summary').click();
  await expect(call).toContainText(/You are whoami\S* \(user /);
});

test('a server with accounts of its own: the user connects theirs, and its tools run as them', async ({ page }) => {
  const server = process.env.OPENCHAT_MCP_OAUTH_URL;
  test.skip(!server, 'needs the example MCP server of the local platform');
  await signInByApi(page, 'connects');
  await page.goto(url('/tools'));
  await page.getByLabel('Name', { exact: true }).fill('Accounts');
  await page.getByLabel('Server URL').fill(server!);
  await page.getByLabel('Each user signs in to it').check();
  await page.getByRole('button', { name: 'Add server' }).click();
  await expect(page.getByText('“Accounts” added.')).toBeVisible();
  const row = page.locator('li.server', { hasText: 'Accounts' });
  await expect(row).toContainText('needs your sign-in');

  // "Connect" leaves for the server's own sign-in page, and comes back signed in.
  await row.getByRole('button', { name: 'Connect', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to mcp-time' })).toBeVisible();
  await page.getByLabel('Your name on mcp-time').fill('mallory-at-time');
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(url('/tools'));
  await expect(row).toContainText('signed in');
  await row.getByRole('button', { name: 'Test connection' }).click();
  await expect(row.getByRole('status')).toContainText('Connected to mcp-time');

  await page.goto(url('/'));
  const id = await send(page, 'Who am I there? [[call=whoami {}]]');
  const call = replyById(page, id).locator('details.tool-call');
  await expect(call).toHaveAttribute('data-state', 'done');
  await call.locator('summary').click();
  await expect(call).toContainText('You are mallory-at-time');

  // Declining at the server says so, and "Disconnect" forgets the sign-in.
  await page.goto(url('/tools'));
  await row.getByRole('button', { name: 'Disconnect' }).click();
  await expect(row).toContainText('needs your sign-in');
  await row.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.getByRole('button', { name: 'Deny' }).click();
  await expect(page.getByRole('alert')).toContainText('you declined it');
});
