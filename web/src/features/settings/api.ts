import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { request } from '../../api/http';
import type { UpdateSettings, UserSettings } from '../../api/types.gen';

const PATH = '/api/v1/settings';
export const settingsKey = ['settings'] as const;

/** The user's defaults for new conversations (stored by the chat service). */
export function useSettings() {
  return useQuery({
    queryKey: settingsKey,
    queryFn: ({ signal }) => request<UserSettings>('chat', PATH, { signal }),
    staleTime: 60_000,
  });
}

export function useUpdateSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (patch: UpdateSettings) => request<UserSettings>('chat', PATH, { method: 'PUT', json: patch }),
    onSuccess: (settings) => qc.setQueryData(settingsKey, settings),
  });
}
