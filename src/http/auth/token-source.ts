import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'latchkey_session';
export const SESSION_HEADER = 'latchkey-session-token';
export const API_KEY_HEADER = 'x-api-key';

export type TokenSource = 'cookie' | 'session-header' | 'bearer' | 'query' | 'x-api-key';

export interface PresentedToken {
  readonly token: string;
  readonly source: TokenSource;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Accept `X-Api-Key` on this route (proxy-style routes, AK-3). */
    acceptApiKeyHeader?: boolean;
  }
}

/**
 * The credential a request carries, looked for in the order of AK-3: session cookie,
 * `Latchkey-Session-Token`, `Authorization: Bearer` (RFC 6750), the `access_token` query
 * parameter (only when enabled: URLs end up in logs), and `X-Api-Key` on routes that
 * opt in. The first one present is the one used.
 */
export function presentedToken(request: FastifyRequest, allowQuery: boolean): PresentedToken | undefined {
  const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
  if (cookie) return { token: cookie, source: 'cookie' };
  const header = request.headers[SESSION_HEADER];
  if (typeof header === 'string' && header !== '') return { token: header, source: 'session-header' };
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    // Whatever follows the scheme is the presented token, even if malformed: it must be
    // refused as an invalid token, not ignored as if no credentials had been sent.
    const match = /^Bearer\s+(.+?)\s*$/i.exec(authorization);
    if (match?.[1]) return { token: match[1], source: 'bearer' };
  }
  if (allowQuery) {
    const query = (request.query as Record<string, unknown> | undefined)?.access_token;
    if (typeof query === 'string' && query !== '') return { token: query, source: 'query' };
  }
  if (request.routeOptions.config?.acceptApiKeyHeader) {
    const key = request.headers[API_KEY_HEADER];
    if (typeof key === 'string' && key !== '') return { token: key, source: 'x-api-key' };
  }
  return undefined;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}
