import { expect, test, type Page } from '@playwright/test';

import { lastReply, newReply, replyById, send, signInByApi, url } from './fixtures';

/**
 * Stop keeps exactly the text streamed so far, whatever the timing: from before the first delta
 * to deep into the reply, by the button and by Esc, right after a regenerate or an edit, and
 * after a reload. What the page shows, what the server stored and what a reload shows agree.
 */

// The socket's frames (a run of deltas as one line: generation, first and last seq, words), printed
// and attached when a test fails: a timing bug seen once in CI must leave its evidence.
const frames: string[] = [];
test.beforeEach(({ page }) => {
  frames.length = 0;
  let run: { generation: string; first: number; last: number; words: number } | null = null;
  const flush = () => {
    if (run) frames.push(`< deltas ${run.generation} seq ${run.first}..${run.last} (${run.words} words)`);
    run = null;
  };
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      flush();
      frames.push(`> ${String(f.payload).slice(0, 300)}`);
    });
    ws.on('framereceived', (f) => {
      const text = String(f.payload);
      if (text.includes('"type":"delta"')) {
        const delta = JSON.parse(text) as { generation_id: string; seq: number; text: string };
        if (run?.generation !== delta.generation_id) flush();
        run ??= { generation: delta.generation_id, first: delta.seq, last: delta.seq, words: 0 };
        run.last = delta.seq;
        run.words += delta.text.split(/\s+/).filter(Boolean).length;
        return;
      }
      flush();
      frames.push(`< ${text.slice(0, 300)}`);
    });
  });
});
test.afterEach(async ({ page: _ }, info) => {
  if (info.status !== info.expectedStatus) {
    await info.attach('websocket frames', { body: frames.join('\n') });
    console.log(`websocket frames of "${info.title}":\n${frames.join('\n')}`);
  }
});

interface StoredMessage {
  id: string;
  content: string;
  status: string;
}

async function stored(token: string, conversationId: string): Promise<StoredMessage[]> {
  const response = await fetch(`${process.env.OPENCHAT_CHAT_URL}/api/v1/conversations/${conversationId}/messages`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await response.json()) as StoredMessage[];
}

const conversationOf = (page: Page) => /\/c\/([\w-]{12})/.exec(page.url())![1]!;

/** The stopped reply: shown as stopped, with the same text as the server kept, also after a reload. */
async function expectKept(page: Page, token: string, replyId?: string): Promise<string> {
  // Pin the reply by id: the list is virtualised, so "the last article" may change under us.
  const id = replyId ?? (await lastReply(page).getAttribute('data-message-id'))!;
  const reply = replyById(page, id);
  await expect(reply).toHaveAttribute('data-status', 'cancelled');
  await expect(reply).toContainText('Stopped.');
  const message = (await stored(token, conversationOf(page))).find((m) => m.id === id)!;
  expect(message.status).toBe('cancelled');
  const markdown = reply.locator('.markdown');
  if (message.content.trim()) await expect(markdown).toHaveText(message.content.trim());
  else await expect(markdown).toHaveCount(0);
  // The kept text is a prefix of the reply: w1 w2 … wN.
  const words = message.content.trim().split(/\s+/).filter(Boolean);
  expect(words).toEqual(words.map((_, i) => `w${i + 1}`));
  return message.content;
}

async function stopBy(page: Page, how: 'button' | 'esc') {
  if (how === 'button') await page.getByRole('button', { name: /Stop the reply/ }).click();
  else await page.keyboard.press('Escape');
}

test('stopping at any point keeps exactly the streamed text', async ({ page }) => {
  test.setTimeout(180_000);
  const token = await signInByApi(page, 'stop');
  await page.goto(url('/'));
  const points = [1, 2, 3, 4, 6, 9, 13, 19, 28, 40];
  for (const [i, n] of points.entries()) {
    const id = await send(page, `Count [[words=2000]] [[delay=15]]`);
    await expect(replyById(page, id)).toContainText(`w${n}`);
    await stopBy(page, i % 2 === 0 ? 'button' : 'esc');
    const kept = await expectKept(page, token, id);
    expect(
      kept.trim().split(/\s+/).length,
      `reply ${id} (stop at w${n}) kept "${kept.slice(0, 80)}…"`,
    ).toBeGreaterThanOrEqual(n);
  }
  // A reload shows the same stopped replies (those in view: the list is virtualised).
  const kept = new Map((await stored(token, conversationOf(page))).map((m) => [m.id, m]));
  await page.reload();
  const replies = page.locator('article.from-assistant');
  await expect(replies.last()).toHaveAttribute('data-status', 'cancelled');
  for (const reply of await replies.all()) {
    const message = kept.get((await reply.getAttribute('data-message-id'))!)!;
    expect(message.status).toBe('cancelled');
    await expect(reply).toHaveAttribute('data-status', 'cancelled');
    await expect(reply.locator('.markdown')).toHaveText(message.content.trim());
  }
});

test('a stop racing the first delta, and stops right after a regenerate or an edit', async ({ page }) => {
  test.setTimeout(180_000);
  const token = await signInByApi(page, 'race');
  await page.goto(url('/'));
  for (let i = 0; i < 4; i++) {
    // Before any text: the stop button appears with the reply and is pressed at once.
    const id = await send(page, `Slow start [[words=50]] [[delay=300]]`);
    await stopBy(page, i % 2 === 0 ? 'button' : 'esc');
    const kept = await expectKept(page, token, id);
    expect(kept.length).toBeLessThan(40);
  }
  for (let i = 0; i < 4; i++) {
    // Regenerate, then stop as soon as the new version streams. Each reply is pinned by its id:
    // the reply before it holds the same words, so "the last reply" could pass for it.
    const first = await send(page, `Count [[words=1500]] [[delay=20]]`);
    await expect(replyById(page, first)).toContainText('w2');
    await stopBy(page, 'button');
    await expectKept(page, token, first);
    const regenerated = await newReply(page, () =>
      replyById(page, first).getByRole('button', { name: 'Regenerate reply' }).click(),
    );
    await expect(replyById(page, regenerated).getByLabel(/Version 2 of 2/)).toBeVisible();
    await expect(replyById(page, regenerated)).toContainText(`w${1 + i}`);
    await stopBy(page, i % 2 === 0 ? 'esc' : 'button');
    await expectKept(page, token, regenerated);
    // Edit the question, then stop the new branch's reply.
    const edited = await newReply(page, async () => {
      await page.locator('article.from-user').last().getByRole('button', { name: 'Edit message' }).click();
      await page.getByLabel('Edit your message').fill(`Edited ${i} [[words=1500]] [[delay=20]]`);
      await page.getByRole('button', { name: 'Save & send' }).click();
    });
    await expect(page.locator('article.from-user').last()).toContainText(`Edited ${i}`);
    await expect(replyById(page, edited)).toContainText(`w${1 + i}`);
    await stopBy(page, i % 2 === 0 ? 'button' : 'esc');
    await expectKept(page, token, edited);
  }
  await page.reload();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'cancelled');
  await expectKept(page, token);
});

test('a reply cut by the length limit says so and continues where it stopped', async ({ page }) => {
  const token = await signInByApi(page, 'cut');
  await page.goto(url('/'));
  await send(page, 'Tell a story [[reply=It was a dark and stormy]] [[length]]');
  const reply = lastReply(page);
  await expect(reply).toHaveAttribute('data-status', 'length');
  await expect(reply).toContainText('The reply was cut off at the length limit.');
  await page.reload();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'length');
  await lastReply(page).getByRole('button', { name: 'Continue' }).click();
  await expect(lastReply(page)).toHaveAttribute('data-status', 'complete');
  // The fake model echoes the continuation's question: the text extends the same message.
  await expect(lastReply(page).locator('.markdown')).toHaveText(/^It was a dark and stormy.+/);
  await expect(page.locator('article.from-assistant')).toHaveCount(1);
  const [, message] = await stored(token, conversationOf(page));
  expect(message!.status).toBe('complete');
  expect(message!.content.startsWith('It was a dark and stormy')).toBe(true);
  await page.reload();
  await expect(lastReply(page).locator('.markdown')).toHaveText(message!.content.trim());
});
