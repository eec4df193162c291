import type { ErrorBody } from './types.gen';

/** A failed request: the server's sentence for people, and per-field reasons on 422. */
export class ApiError extends Error {
  readonly status: number;
  readonly fields: Record<string, string>;

  constructor(status: number, detail: string, fields: Record<string, string> = {}) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.fields = fields;
  }

  static async from(response: Response): Promise<ApiError> {
    let body: Partial<ErrorBody> | null;
    try {
      body = (await response.json()) as Partial<ErrorBody>;
    } catch {
      body = null;
    }
    const fields: Record<string, string> = {};
    for (const e of body?.errors ?? []) fields[e.field] = e.message;
    const detail =
      typeof body?.detail === 'string' && body.detail
        ? body.detail
        : `The server answered ${response.status} ${response.statusText}`.trim();
    return new ApiError(response.status, detail, fields);
  }
}

export const offline = () => new ApiError(0, 'Cannot reach the server. Check your connection and try again.');

/** A sentence for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
