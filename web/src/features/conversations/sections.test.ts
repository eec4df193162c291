import { beforeAll, describe, expect, it, vi } from 'vitest';

import { sectionOf, sectionsOf } from './sections';

// A zone with daylight saving time: the days around its changes have 23 and 25 hours.
beforeAll(() => {
  vi.stubEnv('TZ', 'Europe/Berlin');
});

const t = (s: string) => Date.parse(s);

describe('sectionOf', () => {
  const now = new Date('2026-06-15T10:00:00+02:00');

  it('splits at local midnight, not at 24-hour steps from now', () => {
    expect(sectionOf(t('2026-06-15T00:00:00+02:00'), now)).toBe('today');
    expect(sectionOf(t('2026-06-14T23:59:59.999+02:00'), now)).toBe('yesterday');
    // 22:30 UTC on the 14th is 00:30 on the 15th in Berlin.
    expect(sectionOf(t('2026-06-14T22:30:00Z'), now)).toBe('today');
    expect(sectionOf(t('2026-06-14T00:00:00+02:00'), now)).toBe('yesterday');
    expect(sectionOf(t('2026-06-13T23:59:59+02:00'), now)).toBe('week');
  });

  it('has a week and a month before that, then older', () => {
    expect(sectionOf(t('2026-06-08T00:00:00+02:00'), now)).toBe('week');
    expect(sectionOf(t('2026-06-07T23:59:59+02:00'), now)).toBe('month');
    expect(sectionOf(t('2026-05-16T00:00:00+02:00'), now)).toBe('month');
    expect(sectionOf(t('2026-05-15T23:59:59+02:00'), now)).toBe('older');
    expect(sectionOf(t('2020-01-01T00:00:00Z'), now)).toBe('older');
  });

  it('counts calendar days across daylight-saving changes', () => {
    // 25 October 2026 has 25 hours in Berlin: 00:10 that day is yesterday at 00:30 the next.
    const afterLongDay = new Date('2026-10-26T00:30:00+01:00');
    expect(sectionOf(t('2026-10-25T00:10:00+02:00'), afterLongDay)).toBe('yesterday');
    expect(sectionOf(t('2026-10-24T23:50:00+02:00'), afterLongDay)).toBe('week');
    // 29 March 2026 has 23 hours.
    const afterShortDay = new Date('2026-03-30T00:30:00+02:00');
    expect(sectionOf(t('2026-03-29T00:00:00+01:00'), afterShortDay)).toBe('yesterday');
    expect(sectionOf(t('2026-03-28T23:59:00+01:00'), afterShortDay)).toBe('week');
  });

  it('puts a time ahead of the clock under today, and an unreadable one under older', () => {
    expect(sectionOf(t('2026-06-15T10:05:00+02:00'), now)).toBe('today');
    expect(sectionOf(Number.NaN, now)).toBe('older');
  });
});

describe('sectionsOf', () => {
  const now = new Date('2026-06-15T10:00:00+02:00');
  const c = (id: string, updated_at: string, pinned = false) => ({ id, updated_at, pinned });

  it('puts pinned first whatever their date, then by day, keeping the given order inside each', () => {
    const list = [
      c('a', '2026-06-15T09:00:00+02:00'),
      c('b', '2026-06-15T08:00:00+02:00', true),
      c('c', '2026-06-15T07:00:00+02:00'),
      c('d', '2026-06-14T12:00:00+02:00'),
      c('e', '2026-06-01T12:00:00+02:00'),
      c('f', '2025-01-01T12:00:00+02:00', true),
      c('g', 'not a date'),
    ];
    const sections = sectionsOf(list, now);
    expect(sections.map((s) => [s.title, s.items.map((i) => i.id)])).toEqual([
      ['Pinned', ['b', 'f']],
      ['Today', ['a', 'c']],
      ['Yesterday', ['d']],
      ['Previous 30 days', ['e']],
      ['Older', ['g']],
    ]);
  });

  it('has no sections for nothing', () => {
    expect(sectionsOf([], now)).toEqual([]);
  });
});
