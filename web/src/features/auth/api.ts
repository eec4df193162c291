import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { request } from '../../api/http';
import type { CreateUser, UpdateUser, User, UserMessage } from '../../api/types.gen';

export const meKey = ['me'] as const;

export function useMe(enabled = true) {
  return useQuery({
    queryKey: meKey,
    queryFn: ({ signal }) => request<User>('auth', '/users/me', { signal }),
    enabled,
    staleTime: 30_000,
  });
}

export function register(body: CreateUser) {
  return request<UserMessage>('auth', '/users/', { method: 'POST', json: body, auth: false });
}

export function useUpdateMe(username: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (patch: UpdateUser) =>
      request<UserMessage>('auth', `/users/${encodeURIComponent(username)}`, { method: 'PUT', json: patch }),
    onSuccess: (answer) => qc.setQueryData(meKey, answer.user),
  });
}

export const isAdmin = (u: User | undefined) => Boolean(u?.roles.includes('admin'));
export const canSeeUsers = (u: User | undefined) =>
  Boolean(u && (u.roles.includes('admin') || u.roles.includes('manager')));
