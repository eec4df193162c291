import { describe, expect, it } from 'vitest';

import type { ToolCall } from '../../api/types.gen';
import { duration, segments } from './toolSegments';

const call = (id: string, offset: number): ToolCall => ({
  id,
  name: 't',
  server: 's',
  arguments: '{}',
  offset,
  result: null,
  error: null,
  duration_ms: null,
});

describe('tool call segments', () => {
  it('cuts the text where the calls happened, counting UTF-8 bytes', () => {
    // "Café " is 6 bytes: the call comes after it.
    const parts = segments('Café and then more', [call('a', 6)]);
    expect(parts).toEqual([
      { text: 'Café ', calls: [call('a', 6)] },
      { text: 'and then more', calls: [] },
    ]);
  });

  it('keeps calls made together in one place, and calls before any text first', () => {
    const parts = segments('answer', [call('b', 0), call('a', 0)]);
    expect(parts.map((p) => [p.text, p.calls.map((c) => c.id)])).toEqual([
      ['', ['b', 'a']],
      ['answer', []],
    ]);
    expect(segments('plain', [])).toEqual([{ text: 'plain', calls: [] }]);
  });

  it('puts a call past the end of the text at its end', () => {
    expect(segments('ab', [call('a', 99)])).toEqual([
      { text: 'ab', calls: [call('a', 99)] },
      { text: '', calls: [] },
    ]);
  });

  it('says durations the way people read them', () => {
    expect(duration(850)).toBe('850 ms');
    expect(duration(1234)).toBe('1.2 s');
    expect(duration(61_000)).toBe('61 s');
  });
});
