import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { query, request } from '../../api/http';
import type { Conversation, CreateConversation, SearchResults, UpdateConversation } from '../../api/types.gen';

export interface ListFilter {
  q: string;
  archived: boolean;
}

export const conversationKeys = {
  all: ['conversations'] as const,
  lists: () => [...conversationKeys.all, 'list'] as const,
  list: (f: ListFilter) => [...conversationKeys.lists(), f] as const,
  // Under `lists`, so whatever refreshes the list (a rename, a new reply) refreshes results too.
  search: (f: ListFilter) => [...conversationKeys.lists(), 'search', f] as const,
  one: (id: string) => [...conversationKeys.all, 'one', id] as const,
};

const BASE = '/api/v1/conversations/';

export const conversationsQuery = (f: ListFilter) =>
  queryOptions({
    queryKey: conversationKeys.list(f),
    queryFn: ({ signal }) =>
      request<Conversation[]>('chat', `${BASE}${query({ q: f.q.trim(), archived: f.archived, limit: 200 })}`, {
        signal,
      }),
    placeholderData: (previous) => previous,
  });

export function useConversations(f: ListFilter) {
  return useQuery(conversationsQuery(f));
}

/** Conversations whose title or messages contain every word of `f.q` (GET /api/v1/search). */
export function useSearch(f: ListFilter) {
  const q = f.q.trim();
  return useQuery({
    queryKey: conversationKeys.search({ ...f, q }),
    queryFn: ({ signal }) =>
      request<SearchResults>('chat', `/api/v1/search${query({ q, archived: f.archived, limit: 50 })}`, { signal }),
    enabled: q.length > 0,
    placeholderData: (previous) => previous,
  });
}

export function useConversation(id: string | undefined) {
  return useQuery({
    queryKey: conversationKeys.one(id ?? ''),
    queryFn: ({ signal }) => request<Conversation>('chat', `${BASE}${id}`, { signal }),
    enabled: Boolean(id),
  });
}

export function createConversation(body: CreateConversation) {
  return request<Conversation>('chat', BASE, { method: 'POST', json: body });
}

export function useUpdateConversation() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: UpdateConversation }) =>
      request<Conversation>('chat', `${BASE}${id}`, { method: 'PUT', json: patch }),
    onSuccess: (conversation) => {
      qc.setQueryData(conversationKeys.one(conversation.id), conversation);
      void qc.invalidateQueries({ queryKey: conversationKeys.lists() });
    },
  });
}

export function useDeleteConversation() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => request<void>('chat', `${BASE}${id}`, { method: 'DELETE' }),
    onSuccess: (_, id) => {
      qc.removeQueries({ queryKey: conversationKeys.one(id) });
      void qc.invalidateQueries({ queryKey: conversationKeys.lists() });
    },
  });
}
