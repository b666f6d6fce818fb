import type { Logger } from 'pino';
import type { UpstreamProvider } from './provider.ts';
import { networkReason } from './token-client.ts';

/**
 * What the provider's validate URL says of a token (EA-8):
 * - valid: it works — or the provider is rate-limiting us (`rateLimited`), which says
 *   nothing against the token, so it is treated as working;
 * - invalid: the provider rejects it;
 * - error: we could not tell (server or network error) — never treated as invalid, so an
 *   outage does not send users off to re-link.
 */
export type Validation =
  | { readonly state: 'valid'; readonly rateLimited: boolean; readonly login?: string | undefined }
  | { readonly state: 'invalid'; readonly reason: string }
  | { readonly state: 'error'; readonly reason: string };

export async function validateToken(
  provider: UpstreamProvider,
  accessToken: string,
  options: { readonly timeoutMs: number; readonly fetch?: typeof fetch | undefined },
): Promise<Validation> {
  if (provider.validateUrl === undefined) return { state: 'valid', rateLimited: false };
  let response: Response;
  let body: unknown;
  try {
    response = await (options.fetch ?? fetch)(provider.validateUrl, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    body = response.ok ? await response.json().catch(() => undefined) : await response.body?.cancel();
  } catch (err) {
    return { state: 'error', reason: networkReason(err) };
  }
  const validation = classifyValidation(response.status, response.headers);
  return validation.state === 'valid' && !validation.rateLimited
    ? { ...validation, login: loginOf(body) }
    : validation;
}

export function classifyValidation(status: number, headers: Headers): Validation {
  if (status >= 200 && status < 300) return { state: 'valid', rateLimited: false };
  // 401 means the token is bad, whatever rate-limit headers come with it.
  if (status === 401) return { state: 'invalid', reason: 'http_401' };
  if (status === 429) return { state: 'valid', rateLimited: true };
  if (status === 403) {
    // GitHub answers 403 both for "rate limited" and for "this token may not do that".
    // Only the rate-limit signals make it the former.
    const remaining = headers.get('x-ratelimit-remaining');
    if (remaining === '0' || headers.has('retry-after')) return { state: 'valid', rateLimited: true };
    return { state: 'invalid', reason: 'http_403' };
  }
  if (status >= 500) return { state: 'error', reason: `http_${status}` };
  return { state: 'invalid', reason: `http_${status}` };
}

/** The user's name upstream, from a GitHub/GitLab user or an OIDC userinfo document. */
function loginOf(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  for (const key of ['login', 'username', 'preferred_username', 'email', 'name', 'sub']) {
    const value = b[key];
    if (typeof value === 'string' && value !== '') return value.slice(0, 256);
  }
  return undefined;
}

/**
 * Rate-limited validations are expected under load and say nothing bad; one warning per
 * provider per interval, with how many were folded into it, keeps them visible without
 * flooding the log.
 */
export class RateLimitWarnings {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #state = new Map<string, { next: number; suppressed: number }>();

  constructor(logger: Logger, intervalMs = 60_000) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  note(providerId: string, now = Date.now()): void {
    const s = this.#state.get(providerId) ?? { next: 0, suppressed: 0 };
    if (now < s.next) {
      s.suppressed++;
    } else {
      this.#logger.warn(
        { provider: providerId, suppressed: s.suppressed },
        'provider rate-limited token validation; treating the token as valid',
      );
      s.next = now + this.#intervalMs;
      s.suppressed = 0;
    }
    this.#state.set(providerId, s);
  }
}
