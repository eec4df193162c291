import type { Message } from '../../api/types.gen';

/** A message on the shown branch, with its siblings (other answers or edits of the same turn). */
export interface PathEntry {
  message: Message;
  siblings: string[];
  index: number;
}

/**
 * The branch to show: from `leaf` (default: the newest message) up through its parents.
 * Messages arrive oldest first; an edit or a regeneration is the newest, so it is shown.
 */
export function activePath(messages: Message[], leaf: string | null): PathEntry[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const children = new Map<string | null, string[]>();
  for (const m of messages) {
    const key = m.parent_id && byId.has(m.parent_id) ? m.parent_id : m.parent_id ? `missing:${m.parent_id}` : null;
    const list = children.get(key) ?? [];
    list.push(m.id);
    children.set(key, list);
  }
  let current = (leaf && byId.get(leaf)) || messages[messages.length - 1];
  const path: PathEntry[] = [];
  const visited = new Set<string>();
  while (current && !visited.has(current.id)) {
    visited.add(current.id);
    const key =
      current.parent_id && byId.has(current.parent_id)
        ? current.parent_id
        : current.parent_id
          ? `missing:${current.parent_id}`
          : null;
    const siblings = children.get(key) ?? [current.id];
    path.push({ message: current, siblings, index: siblings.indexOf(current.id) });
    current = current.parent_id ? byId.get(current.parent_id) : undefined;
  }
  return path.reverse();
}

/** The newest message under `id` (itself when it has no descendants). */
export function newestDescendant(messages: Message[], id: string): string {
  const under = new Set([id]);
  let newest = id;
  for (const m of messages) {
    if (m.parent_id && under.has(m.parent_id)) {
      under.add(m.id);
      newest = m.id;
    }
  }
  return newest;
}
