/**
 * The composer's unsent text, one per conversation, in `sessionStorage`: it survives switching
 * conversations and a reload, stays in its tab, and is gone when the tab closes. Storage that
 * refuses (full, or blocked by the browser) only costs the draft, never the typing.
 */
const PREFIX = 'openchat.draft.';

/** What the drafts are kept in (the tab's `sessionStorage`; a fake one in tests). */
export type DraftStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

function session(): DraftStorage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function loadDraft(key: string, storage: DraftStorage | null = session()): string {
  try {
    return storage?.getItem(PREFIX + key) ?? '';
  } catch {
    return '';
  }
}

/** Keeps `text` as the draft for `key`; an empty text (sent, or erased) removes it. */
export function saveDraft(key: string, text: string, storage: DraftStorage | null = session()): void {
  try {
    if (text) storage?.setItem(PREFIX + key, text);
    else storage?.removeItem(PREFIX + key);
  } catch {
    // Full or blocked: the draft lives on in the page only.
  }
}
