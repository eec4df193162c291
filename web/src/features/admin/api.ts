import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { query, request } from '../../api/http';
import type { AuthMessage, ChangePassword, CreateUser, UserList, UserMessage } from '../../api/types.gen';

export const ROLES = ['admin', 'manager', 'user'] as const;
export const USERS_PAGE = 50;

const usersKey = ['users'] as const;

export function useUsers(q: string, offset: number) {
  return useQuery({
    queryKey: [...usersKey, q, offset],
    queryFn: ({ signal }) =>
      request<UserList>('auth', `/users/${query({ q: q.trim(), limit: USERS_PAGE, offset })}`, { signal }),
    placeholderData: keepPreviousData,
  });
}

function useUserMutation<V, T>(fn: (v: V) => Promise<T>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSettled: () => qc.invalidateQueries({ queryKey: usersKey }) });
}

const path = (username: string) => `/users/${encodeURIComponent(username)}`;

export const useSetRoles = () =>
  useUserMutation(({ username, roles }: { username: string; roles: string[] }) =>
    request<AuthMessage>('auth', `/roles/${encodeURIComponent(username)}`, { method: 'PUT', json: { roles } }),
  );

export const useSetActive = () =>
  useUserMutation(({ username, active }: { username: string; active: boolean }) =>
    request<UserMessage>('auth', path(username), { method: 'PUT', json: { is_active: active } }),
  );

export const useDeleteUser = () =>
  useUserMutation((username: string) => request<AuthMessage>('auth', path(username), { method: 'DELETE' }));

/** An administrator creates an account (any roles). */
export const useCreateUser = () =>
  useUserMutation((body: CreateUser) => request<UserMessage>('auth', '/users/', { method: 'POST', json: body }));

/** An administrator sets a user's password, confirming with their own (`current_password`). */
export const useResetPassword = () =>
  useUserMutation(({ username, body }: { username: string; body: ChangePassword }) =>
    request<AuthMessage>('auth', `${path(username)}/password`, { method: 'POST', json: body }),
  );
