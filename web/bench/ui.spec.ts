import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

import { expect, test } from '@playwright/test';

import { newConversation, signInByApi, storeMessage, url } from '../e2e/fixtures';

/** Figures for docs/benchmarks.md; printed, never asserted against a time. */
const figures: Record<string, string> = {};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

test('bundle size', () => {
  const html = readFileSync('dist/index.html', 'utf8');
  const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  let js = 0;
  let css = 0;
  for (const file of initial) {
    const size = gzipSync(readFileSync(`dist/${file}`), { level: 9 }).length;
    if (file.endsWith('.js')) js += size;
    else css += size;
  }
  figures['initial JS (gzip)'] =
    `${(js / 1024).toFixed(1)} KiB in ${initial.filter((f) => f.endsWith('.js')).length} files`;
  figures['initial CSS (gzip)'] = `${(css / 1024).toFixed(1)} KiB`;
});

test('navigation to an interactive chat page', async ({ page }) => {
  const token = await signInByApi(page);
  const c = await newConversation(token, 'Timing');
  for (let i = 0; i < 20; i++) await storeMessage(token, c.id, `Message ${i} with **some** markdown and \`code\``);
  const times: number[] = [];
  for (let run = 0; run < 15; run++) {
    await page.goto('about:blank');
    await page.goto(url(`/c/${c.id}`), { waitUntil: 'commit' });
    // Checked every frame, in the page: milliseconds since navigation started.
    const ready = await page.waitForFunction(
      () => {
        const last = [...document.querySelectorAll('article.from-user')].pop();
        const box = document.querySelector<HTMLTextAreaElement>('#composer-input');
        return last?.textContent?.includes('Message 19') && box && !box.disabled ? performance.now() : false;
      },
      undefined,
      { polling: 'raf' },
    );
    times.push(Math.round((await ready.jsonValue()) as number));
  }
  figures['navigation → interactive chat (20 messages)'] =
    `median ${median(times)} ms, p90 ${pct(times, 90)} ms (15 runs)`;
});

test('a conversation of 2 000 messages opens and scrolls without jank', async ({ page }) => {
  const token = await signInByApi(page);
  const c = await newConversation(token, 'Long');
  const body = (i: number) =>
    `Message ${i}: a paragraph long enough to wrap onto a second line in the chat column, with a list:\n\n- one\n- two`;
  // One after another, so the newest is the last.
  for (let i = 0; i < 2000; i++) await storeMessage(token, c.id, body(i));
  await page.goto(url(`/c/${c.id}`), { waitUntil: 'commit' });
  const opened = await page.waitForFunction(
    () =>
      [...document.querySelectorAll('article')].pop()?.textContent?.includes('Message 1999')
        ? performance.now()
        : false,
    undefined,
    { polling: 'raf' },
  );
  const open = Math.round((await opened.jsonValue()) as number);

  // Scroll to the very top with the wheel, recording every frame's duration.
  await page.evaluate(() => {
    const w = window as unknown as { frames_: number[] };
    w.frames_ = [];
    let last = performance.now();
    const tick = (now: number) => {
      w.frames_.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const scroller = page.locator('.message-scroller');
  await scroller.hover();
  const scrollStart = Date.now();
  let reachedTop = false;
  for (let i = 0; i < 3000 && !reachedTop; i++) {
    await page.mouse.wheel(0, -1200);
    if (i % 20 === 0) {
      reachedTop = await page.evaluate(() => {
        const el = document.querySelector('.message-scroller')!;
        return el.scrollTop === 0 && !!document.querySelector('article')?.textContent?.includes('Message 0:');
      });
    }
  }
  const scrolled = Date.now() - scrollStart;
  const frames = await page.evaluate(() => (window as unknown as { frames_: number[] }).frames_.slice(1));
  // The list is virtualised: what is in the DOM at the end is the first screenful, not 2 000.
  const rendered = await page.locator('article').count();
  const long = frames.filter((f) => f > 50).length;
  figures['2 000 messages: open'] = `${open} ms to the newest message`;
  figures['2 000 messages: scroll to the top'] =
    `${scrolled} ms, ${rendered} messages in the DOM at the top, frames p50 ${median(frames).toFixed(1)} ms / p95 ${pct(frames, 95).toFixed(1)} ms / max ${Math.max(...frames).toFixed(0)} ms, ${long} of ${frames.length} frames over 50 ms`;
  expect(reachedTop).toBe(true);
});

test.afterAll(() => {
  console.log('\n== web UI figures');
  for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${v}`);
});
