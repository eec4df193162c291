import { describe, expect, it } from 'vitest';

import type { Message } from '../../api/types.gen';
import { activePath, newestDescendant } from './branches';

let position = 0;
const m = (id: string, parent: string | null): Message => ({
  id,
  position: ++position,
  conversation_id: 'c',
  role: id.startsWith('u') ? 'user' : 'assistant',
  content: id,
  status: 'complete',
  created_at: '2026-11-25T10:00:00.000Z',
  parent_id: parent,
});

// u1 → a1, then a regeneration a1b; then u2 under a1b; then an edit of u2 (u2b) with its answer.
const all = [
  m('u1', null),
  m('a1', 'u1'),
  m('a1b', 'u1'),
  m('u2', 'a1b'),
  m('a2', 'u2'),
  m('u2b', 'a1b'),
  m('a2b', 'u2b'),
];

describe('branches', () => {
  it('shows the newest branch by default', () => {
    const path = activePath(all, null);
    expect(path.map((p) => p.message.id)).toEqual(['u1', 'a1b', 'u2b', 'a2b']);
    expect(path[1]).toMatchObject({ siblings: ['a1', 'a1b'], index: 1 });
    expect(path[2]).toMatchObject({ siblings: ['u2', 'u2b'], index: 1 });
  });

  it('follows a chosen sibling down to its newest message', () => {
    expect(activePath(all, newestDescendant(all, 'u2')).map((p) => p.message.id)).toEqual(['u1', 'a1b', 'u2', 'a2']);
    expect(activePath(all, newestDescendant(all, 'a1')).map((p) => p.message.id)).toEqual(['u1', 'a1']);
  });

  it('starts at the oldest loaded message when older pages are not loaded yet', () => {
    const page = all.slice(3);
    expect(activePath(page, null).map((p) => p.message.id)).toEqual(['u2b', 'a2b']);
  });
});
