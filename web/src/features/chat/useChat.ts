import { createContext, useCallback, useContext, useSyncExternalStore } from 'react';

import type { SocketStatus } from '../../lib/socket';
import type { ChatStore } from './store';
import type { ConversationStream } from './stream';

export const ChatStoreContext = createContext<ChatStore | null>(null);

export function useChatStore(): ChatStore {
  const store = useContext(ChatStoreContext);
  if (!store) throw new Error('useChatStore outside ChatStoreContext');
  return store;
}

export function useStream(conversationId: string | undefined): ConversationStream {
  const store = useChatStore();
  const get = useCallback(() => store.get(conversationId ?? ''), [store, conversationId]);
  return useSyncExternalStore(store.subscribe, get);
}

export function useConnection(): SocketStatus {
  const store = useChatStore();
  return useSyncExternalStore(store.subscribe, store.connection);
}

export function useSocketError(): string | null {
  const store = useChatStore();
  return useSyncExternalStore(store.subscribe, store.takeError);
}
