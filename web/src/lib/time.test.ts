import { beforeAll, describe, expect, it, vi } from 'vitest';

import { fullTime, shortTime } from './time';

beforeAll(() => {
  vi.stubEnv('TZ', 'Europe/Berlin');
});

const at = (s: string) => new Date(s);

describe('shortTime', () => {
  const now = at('2026-03-12T15:00:00+01:00');

  it('shows the clock for today, "Yesterday" for yesterday (local days)', () => {
    expect(shortTime(at('2026-03-12T14:05:00+01:00'), now, 'en-GB')).toBe('14:05');
    expect(shortTime(at('2026-03-12T00:00:00+01:00'), now, 'en-GB')).toBe('00:00');
    expect(shortTime(at('2026-03-11T23:59:00+01:00'), now, 'en-GB')).toBe('Yesterday, 23:59');
    // 23:30 UTC on the 11th is already the 12th in Berlin.
    expect(shortTime(at('2026-03-11T23:30:00Z'), now, 'en-GB')).toBe('00:30');
  });

  it('shows the date earlier this year, and the year before that', () => {
    expect(shortTime(at('2026-03-10T09:15:00+01:00'), now, 'en-GB')).toBe('10 Mar, 09:15');
    expect(shortTime(at('2025-12-31T09:15:00+01:00'), now, 'en-GB')).toBe('31 Dec 2025');
  });

  it('puts a time a little in the future (another clock) under today', () => {
    expect(shortTime(at('2026-03-12T15:00:05+01:00'), now, 'en-GB')).toBe('15:00');
  });
});

describe('fullTime', () => {
  it('names the day, the date and the time to the second', () => {
    const full = fullTime(at('2026-03-12T14:05:09+01:00'), 'en-GB');
    expect(full).toMatch(/^Thursday,? 12 March 2026 at 14:05:09$/);
  });
});
