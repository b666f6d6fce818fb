import type { UpstreamProvider } from './provider.ts';
import { networkReason } from './token-client.ts';

/**
 * What the provider's validate URL says of a token (EA-8):
 * - valid: it works, or the provider is rate-limiting us (which it does only for working tokens);
 * - invalid: the provider rejects it;
 * - error: we could not tell (server or network error) — never treated as invalid, so an
 *   outage does not send users off to re-link.
 */
export type Validation =
  | { readonly state: 'valid' }
  | { readonly state: 'invalid'; readonly reason: string }
  | { readonly state: 'error'; readonly reason: string };

export async function validateToken(
  provider: UpstreamProvider,
  accessToken: string,
  options: { readonly timeoutMs: number; readonly fetch?: typeof fetch | undefined },
): Promise<Validation> {
  if (provider.validateUrl === undefined) return { state: 'valid' };
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(provider.validateUrl, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.body?.cancel();
  } catch (err) {
    return { state: 'error', reason: networkReason(err) };
  }
  return classifyValidation(response.status, response.headers);
}

export function classifyValidation(status: number, headers: Headers): Validation {
  if (status >= 200 && status < 300) return { state: 'valid' };
  // 401 means the token is bad, whatever rate-limit headers come with it.
  if (status === 401) return { state: 'invalid', reason: 'http_401' };
  if (status === 429) return { state: 'valid' };
  if (status === 403) {
    // GitHub answers 403 both for "rate limited" and for "this token may not do that".
    // Only the rate-limit signals make it the former.
    const remaining = headers.get('x-ratelimit-remaining');
    if (remaining === '0' || headers.has('retry-after')) return { state: 'valid' };
    return { state: 'invalid', reason: 'http_403' };
  }
  if (status >= 500) return { state: 'error', reason: `http_${status}` };
  return { state: 'invalid', reason: `http_${status}` };
}
