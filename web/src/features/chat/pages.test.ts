import { describe, expect, it } from 'vitest';

import { hasOlder } from './pages';

describe('hasOlder', () => {
  const page = (first: number, length: number) => Array.from({ length }, (_, i) => ({ position: first + i }));

  it('is false for a conversation read from its first message', () => {
    expect(hasOlder(page(1, 3), 200)).toBe(false);
    expect(hasOlder([], 200)).toBe(false);
  });

  it('is true for a full page and for a page the server cut by bytes', () => {
    expect(hasOlder(page(5, 200), 200)).toBe(true);
    // Three messages of a long conversation, cut by the page's byte bound.
    expect(hasOlder(page(40, 3), 200)).toBe(true);
  });
});
