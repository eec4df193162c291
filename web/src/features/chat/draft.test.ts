import { describe, expect, it } from 'vitest';

import { loadDraft, saveDraft, type DraftStorage } from './draft';

function memory(): DraftStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

describe('drafts', () => {
  it('keeps one draft per conversation', () => {
    const s = memory();
    saveDraft('a', 'half a question', s);
    saveDraft('b', 'another', s);
    expect(loadDraft('a', s)).toBe('half a question');
    expect(loadDraft('b', s)).toBe('another');
    expect(loadDraft('c', s)).toBe('');
  });

  it('forgets a draft once it is empty (sent or erased)', () => {
    const s = memory();
    saveDraft('a', 'text', s);
    saveDraft('a', '', s);
    expect(loadDraft('a', s)).toBe('');
    expect(s.map.size).toBe(0);
  });

  it('never throws when the storage refuses, or there is none', () => {
    const broken: DraftStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
    };
    expect(() => saveDraft('a', 'text', broken)).not.toThrow();
    expect(loadDraft('a', broken)).toBe('');
    expect(loadDraft('a', null)).toBe('');
    expect(() => saveDraft('a', 'text', null)).not.toThrow();
  });
});
