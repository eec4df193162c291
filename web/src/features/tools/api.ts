import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { query, request } from '../../api/http';
import type {
  CreateMcpServer,
  McpServer,
  McpServerTools,
  OAuthAuthorization,
  OAuthCallback,
  ToolCallAuditList,
  UpdateMcpServer,
} from '../../api/types.gen';

const PATH = '/api/v1/mcp-servers/';
export const serversKey = ['mcp-servers'] as const;

/** The MCP servers the user may use: their own, then those an administrator offers them. */
export function useMcpServers() {
  return useQuery({
    queryKey: serversKey,
    queryFn: ({ signal }) => request<McpServer[]>('chat', PATH, { signal }),
  });
}

export function useAddMcpServer() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (server: CreateMcpServer) => request<McpServer>('chat', PATH, { method: 'POST', json: server }),
    onSuccess: () => qc.invalidateQueries({ queryKey: serversKey }),
  });
}

export function useUpdateMcpServer() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: UpdateMcpServer }) =>
      request<McpServer>('chat', `${PATH}${encodeURIComponent(id)}`, { method: 'PUT', json: patch }),
    onSuccess: () => qc.invalidateQueries({ queryKey: serversKey }),
  });
}

export function useDeleteMcpServer() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => request<void>('chat', `${PATH}${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: serversKey }),
  });
}

/** Which of a server's tools wait for the user's approval before each run (the whole list). */
export function useSetAskBefore() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, tools }: { id: string; tools: string[] }) =>
      request<McpServer>('chat', `${PATH}${encodeURIComponent(id)}/ask-before`, { method: 'PUT', json: { tools } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: serversKey }),
  });
}

/** "Test connection": the server's tools, listed afresh. */
export function useTestMcpServer() {
  return useMutation({
    mutationFn: (id: string) =>
      request<McpServerTools>('chat', `${PATH}${encodeURIComponent(id)}/test`, { method: 'POST' }),
  });
}

/** Where an MCP server's authorization server sends the browser back to (the chat service allows
 * this path on the web UI's origins). */
export const SIGN_IN_RETURN_PATH = '/tools/connected';

/** "Connect": begins the user's own sign-in to a server and sends the browser to it. */
export function useStartSignIn() {
  return useMutation({
    mutationFn: (id: string) =>
      request<OAuthAuthorization>('chat', `${PATH}${encodeURIComponent(id)}/oauth/start`, {
        method: 'POST',
        json: { redirect_uri: `${window.location.origin}${SIGN_IN_RETURN_PATH}` },
      }),
    onSuccess: ({ authorization_url }) => window.location.assign(authorization_url),
  });
}

/** Hands what the authorization server sent back to the chat service, which redeems the code. */
export function useFinishSignIn() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (callback: OAuthCallback) =>
      request<McpServer>('chat', `${PATH}oauth/callback`, { method: 'POST', json: callback }),
    onSuccess: () => qc.invalidateQueries({ queryKey: serversKey }),
  });
}

/** "Disconnect": forgets the user's sign-in to a server. */
export function useSignOut() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => request<void>('chat', `${PATH}${encodeURIComponent(id)}/oauth`, { method: 'DELETE' }),
    onSuccess: () => qc.invalidateQueries({ queryKey: serversKey }),
  });
}

export const AUDIT_PAGE = 50;

/** The tool-call audit (administrators only), newest first. */
export function useToolCallAudit(filter: { username: string; outcome: string }, offset: number) {
  return useQuery({
    queryKey: ['tool-call-audit', filter.username, filter.outcome, offset],
    queryFn: ({ signal }) =>
      request<ToolCallAuditList>(
        'chat',
        `/api/v1/admin/tool-calls${query({ username: filter.username, outcome: filter.outcome, limit: AUDIT_PAGE, offset })}`,
        { signal },
      ),
    placeholderData: keepPreviousData,
  });
}
