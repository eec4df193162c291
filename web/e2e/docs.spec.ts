import { expect, test, type BrowserContext, type Page } from '@playwright/test';

/**
 * The API reference at `/docs` on both services works on a machine without internet: the
 * browser may reach only loopback addresses, every other request is aborted and recorded, and
 * the page must still list the operations and run one ("Try it out" against the same server).
 */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface Offline {
  /** Requests (and WebSocket connections) to anything but loopback: must stay empty. */
  remote: string[];
  /** Content-Security-Policy violations the page reported: must stay empty too. */
  violations: string[];
}

async function offline(context: BrowserContext): Promise<Offline> {
  const seen: Offline = { remote: [], violations: [] };
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname)) return route.continue();
    seen.remote.push(url.href);
    return route.abort('internetdisconnected');
  });
  await context.routeWebSocket(/.*/, (ws) => {
    const url = new URL(ws.url());
    if (LOOPBACK.has(url.hostname)) return ws.connectToServer();
    seen.remote.push(url.href);
    return ws.close();
  });
  // A request the policy refuses never reaches the routes above: the page reports it instead.
  await context.exposeFunction('reportViolation', (text: string) => seen.violations.push(text));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { reportViolation: (text: string) => void }).reportViolation;
      report(`${event.effectiveDirective} refused ${event.blockedURI}`);
    });
  });
  return seen;
}

/** The summary row of one operation, e.g. `POST /auth/token`. */
function operation(page: Page, method: string, path: string) {
  return page.locator(`.opblock-${method.toLowerCase()} .opblock-summary-path[data-path="${path}"]`);
}

const services = [
  {
    name: 'auth server',
    env: 'OPENCHAT_AUTH_URL',
    title: 'Open ChatBot auth server API',
    operations: [
      ['POST', '/auth/token'],
      ['GET', '/users/me'],
      ['PUT', '/users/{username}'],
    ],
  },
  {
    name: 'chat service',
    env: 'OPENCHAT_CHAT_URL',
    title: 'Open ChatBot chat service API',
    operations: [
      ['GET', '/api/v1/conversations/'],
      ['POST', '/api/v1/conversations/'],
      ['GET', '/api/v1/models'],
    ],
  },
] as const;

for (const service of services) {
  test(`the ${service.name}'s API reference works without internet`, async ({ browser }) => {
    const base = process.env[service.env];
    if (!base) throw new Error(`${service.env} is not set: run through playwright.config.ts`);
    const context = await browser.newContext();
    const seen = await offline(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));

    const response = await page.goto(`${base}/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await expect(page).toHaveTitle(service.title);
    for (const [method, path] of service.operations) {
      await expect(operation(page, method, path)).toBeVisible();
    }

    // "Try it out" calls the same server, which the policy allows.
    await operation(page, 'GET', '/health').click();
    const health = page.locator('.opblock-get').filter({ has: page.locator('[data-path="/health"]') });
    await health.getByRole('button', { name: 'Try it out' }).click();
    await health.getByRole('button', { name: 'Execute' }).click();
    const served = health.locator('.live-responses-table tbody tr').first();
    await expect(served.locator('.response-col_status')).toHaveText('200');
    await expect(served).toContainText('"status": "healthy"');

    expect(seen.remote, 'requests to anything but loopback').toEqual([]);
    expect(seen.violations, 'Content-Security-Policy violations').toEqual([]);
    expect(errors, 'script errors').toEqual([]);
    await context.close();
  });
}
