/**
 * The version of a conversation the user chose to look at (‹ 1/2 ›), remembered across reloads
 * and tabs. A choice holds until the conversation gets a newer message (from this tab or any
 * other): then the newest branch is shown again.
 */
export interface BranchChoice {
  /** The newest message of the chosen branch. */
  leaf: string;
  /** The conversation's newest position when the choice was made. */
  newest: number;
}

const key = (conversationId: string) => `openchat.branch.${conversationId}`;

export function loadChoice(conversationId: string): BranchChoice | null {
  try {
    const raw = localStorage.getItem(key(conversationId));
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<BranchChoice>;
    return typeof parsed.leaf === 'string' && typeof parsed.newest === 'number'
      ? { leaf: parsed.leaf, newest: parsed.newest }
      : null;
  } catch {
    return null;
  }
}

export function saveChoice(conversationId: string, choice: BranchChoice | null): void {
  try {
    if (choice) localStorage.setItem(key(conversationId), JSON.stringify(choice));
    else localStorage.removeItem(key(conversationId));
  } catch {
    // Storage full or refused (private mode): the choice lasts as long as the page.
  }
}

/** The leaf to show: the choice while it stands, else none (the newest branch). */
export function chosenLeaf(choice: BranchChoice | null, newest: number, has: (id: string) => boolean): string | null {
  return choice && choice.newest >= newest && has(choice.leaf) ? choice.leaf : null;
}
