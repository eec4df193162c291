/**
 * Whether older messages remain before a page of `pageSize`: a full page, or one whose first
 * message is not the conversation's first (positions count from 1) — the server also cuts a
 * page by bytes, so a short page is not always the last.
 */
export function hasOlder(messages: readonly { position: number }[], pageSize: number): boolean {
  return messages.length === pageSize || (messages[0]?.position ?? 1) > 1;
}
