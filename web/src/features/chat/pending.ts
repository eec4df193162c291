/** The first message of a conversation created a moment ago, sent once its page is open. */
const pending = new Map<string, string>();

export const setPendingMessage = (conversationId: string, content: string) => pending.set(conversationId, content);

export function takePendingMessage(conversationId: string): string | undefined {
  const content = pending.get(conversationId);
  pending.delete(conversationId);
  return content;
}
