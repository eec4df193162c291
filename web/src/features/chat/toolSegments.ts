import type { ToolCall } from '../../api/types.gen';

/** "1.2 s", "850 ms". */
export function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** A reply's text cut where its tool calls happened (`offset`: bytes of UTF-8 before each). */
export function segments(text: string, calls: ToolCall[]): { text: string; calls: ToolCall[] }[] {
  if (calls.length === 0) return [{ text, calls: [] }];
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder();
  const out: { text: string; calls: ToolCall[] }[] = [];
  let from = 0;
  for (const call of [...calls].sort((a, b) => a.offset - b.offset)) {
    const at = Math.min(Math.max(call.offset, from), bytes.length);
    const last = out.at(-1);
    if (last && at === from) last.calls.push(call);
    else out.push({ text: decoder.decode(bytes.subarray(from, at)), calls: [call] });
    from = at;
  }
  out.push({ text: decoder.decode(bytes.subarray(from)), calls: [] });
  return out;
}
