/** A search excerpt cut into plain and matched parts, for <mark>ing the words found. */
export interface Part {
  text: string;
  match: boolean;
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The query's words (as the server splits them: on whitespace). */
export function wordsOf(query: string): string[] {
  return query.split(/\s+/).filter(Boolean);
}

/** `text` split where any of `words` occurs (case-insensitively); longer words win. */
export function highlight(text: string, words: string[]): Part[] {
  const unique = [...new Set(words.filter(Boolean))].sort((a, b) => b.length - a.length);
  if (unique.length === 0 || !text) return text ? [{ text, match: false }] : [];
  const pattern = new RegExp(`(${unique.map(escape).join('|')})`, 'giu');
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) parts.push({ text: text.slice(last, m.index), match: false });
    parts.push({ text: m[0], match: true });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), match: false });
  return parts;
}
