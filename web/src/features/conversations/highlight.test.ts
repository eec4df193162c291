import { describe, expect, it } from 'vitest';

import { highlight, wordsOf } from './highlight';

const marked = (text: string, words: string[]) =>
  highlight(text, words)
    .map((p) => (p.match ? `[${p.text}]` : p.text))
    .join('');

describe('highlight', () => {
  it('marks every occurrence of every word, in any case', () => {
    expect(marked('The Capital of France: capital city', ['capital', 'france'])).toBe(
      'The [Capital] of [France]: [capital] city',
    );
  });

  it('takes regular-expression characters literally', () => {
    expect(marked('50% off (today) a.b', ['50%', '(today)', '.'])).toBe('[50%] off [(today)] a[.]b');
    expect(marked('C:\\temp', ['\\'])).toBe('C:[\\]temp');
  });

  it('prefers the longer of overlapping words, and keeps the text whole', () => {
    expect(marked('rustacean', ['rust', 'rustacean'])).toBe('[rustacean]');
    expect(highlight('no match here', ['zzz'])).toEqual([{ text: 'no match here', match: false }]);
    expect(highlight('', ['a'])).toEqual([]);
  });
});

describe('wordsOf', () => {
  it('splits on any whitespace', () => {
    expect(wordsOf('  capital \t of\nFrance ')).toEqual(['capital', 'of', 'France']);
    expect(wordsOf('   ')).toEqual([]);
  });
});
