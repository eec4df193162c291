import { useQuery } from '@tanstack/react-query';

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

export function postMessage(conversationId: string, content: string): Promise<PostedMessage> {
  return request<PostedMessage>('chat', `/api/v1/conversations/${conversationId}/messages`, {
    method: 'POST',
    json: { content, role: 'user' },
  });
}

export function useModels() {
  return useQuery({
    queryKey: ['models'],
    queryFn: ({ signal }) => request<ModelList>('chat', '/api/v1/models', { signal }),
    staleTime: 60_000,
  });
}
