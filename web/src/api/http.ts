import { session } from '../lib/session';
import { config } from './config';
import { ApiError, offline } from './errors';

type Service = 'auth' | 'chat';

export interface RequestOptions {
  method?: string;
  json?: unknown;
  /** Send the access token (default true). */
  auth?: boolean;
  signal?: AbortSignal;
}

function base(service: Service): string {
  return service === 'auth' ? config().auth_url : config().chat_url;
}

async function send(service: Service, path: string, options: RequestOptions, token: string | null) {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    return await fetch(`${base(service)}${path}`, {
      method: options.method ?? 'GET',
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw offline();
  }
}

/** A JSON request; with `auth`, a 401 refreshes the token once and retries. */
export async function request<T>(service: Service, path: string, options: RequestOptions = {}): Promise<T> {
  const useAuth = options.auth ?? true;
  let token = useAuth ? await session.accessToken() : null;
  if (useAuth && !token) throw new ApiError(401, 'Your session has ended. Please log in again.');
  let response = await send(service, path, options, token);
  if (useAuth && response.status === 401) {
    token = await session.refresh(token);
    if (!token) throw new ApiError(401, 'Your session has ended. Please log in again.');
    response = await send(service, path, options, token);
  }
  if (!response.ok) throw await ApiError.from(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** `?a=1&b=2` from the defined entries. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
