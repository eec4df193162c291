import { describe, expect, it } from 'vitest';

import { generatePassword } from './password';

describe('generatePassword', () => {
  it('gives four groups of four unambiguous characters', () => {
    for (let i = 0; i < 200; i++) {
      expect(generatePassword()).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{4}(-[a-km-zA-HJ-NP-Z2-9]{4}){3}$/);
    }
  });

  it('never repeats itself and uses the whole alphabet', () => {
    const seen = new Set<string>();
    const letters = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const p = generatePassword();
      seen.add(p);
      for (const c of p.replaceAll('-', '')) letters.add(c);
    }
    expect(seen.size).toBe(2000);
    expect(letters.size).toBe(56);
  });
});
