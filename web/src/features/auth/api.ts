import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { request } from '../../api/http';
import type { AuthMessage, ChangePassword, CreateUser, UpdateUser, User, UserMessage } from '../../api/types.gen';
import { session } from '../../lib/session';

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

/**
 * Changes the signed-in user's password, proving it is them with the current one. The change
 * cuts off every access token issued before it (this tab's too) and ends the user's other
 * sessions; this session lives on, so its refresh token fetches a new access token at once.
 */
export function useChangeOwnPassword() {
  return useMutation({
    mutationFn: async (body: ChangePassword) => {
      const answer = await request<AuthMessage>('auth', '/users/me/password', { method: 'POST', json: body });
      await session.refresh(session.get()?.accessToken ?? null);
      return answer;
    },
  });
}

export const isAdmin = (u: User | undefined) => Boolean(u?.roles.includes('admin'));
export const canSeeUsers = (u: User | undefined) =>
  Boolean(u && (u.roles.includes('admin') || u.roles.includes('manager')));
