import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';

import { query, request } from '../../api/http';
import type { Message, ModelList, PostedMessage } from '../../api/types.gen';

/** Messages are read newest page first; older pages load when the user scrolls up. */
export const PAGE_SIZE = 200;

export function fetchMessages(conversationId: string, before?: string): Promise<Message[]> {
  return request<Message[]>(
    'chat',
    `/api/v1/conversations/${conversationId}/messages${query({ before, limit: PAGE_SIZE })}`,
  );
}

/** Sends a message; `parentId` is the last message of the branch on screen, which it answers. */
export function postMessage(conversationId: string, content: string, parentId?: string): Promise<PostedMessage> {
  return request<PostedMessage>('chat', `/api/v1/conversations/${conversationId}/messages`, {
    method: 'POST',
    json: { content, role: 'user', ...(parentId ? { parent_id: parentId } : {}) },
  });
}

const modelsKey = ['models'] as const;

export function useModels() {
  return useQuery({
    queryKey: modelsKey,
    queryFn: ({ signal }) => request<ModelList>('chat', '/api/v1/models', { signal }),
    staleTime: 60_000,
  });
}

/** Administrators: have every provider's model list read again now. */
export function useRefreshModels(): () => Promise<void> {
  const qc = useQueryClient();
  return useCallback(async () => {
    const list = await request<ModelList>('chat', '/api/v1/models/refresh', { method: 'POST' });
    qc.setQueryData(modelsKey, list);
  }, [qc]);
}
