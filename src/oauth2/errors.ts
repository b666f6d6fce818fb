import type { OAuthErrorCode } from './types.ts';

// The status each error code answers with when nothing more specific applies (RFC 6749
// §5.2: 400, except invalid_client, which is 401 with a challenge when the client tried
// HTTP authentication).
const DEFAULT_STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
};

/** An OAuth protocol error as a value: its RFC code, HTTP status and description. */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  readonly description: string | undefined;
  constructor(code: OAuthErrorCode, description?: string, status?: number) {
    super(description ?? code);
    this.name = 'OAuthError';
    this.code = code;
    this.description = description;
    this.status = status ?? DEFAULT_STATUS[code] ?? 400;
  }

  /** The RFC 6749 §5.2 JSON body. */
  toJSON(): { error: OAuthErrorCode; error_description?: string } {
    return this.description === undefined
      ? { error: this.code }
      : { error: this.code, error_description: this.description };
  }
}
