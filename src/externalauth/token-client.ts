import type { LinkTokens, TokenExtra } from '../db/index.ts';
import type { UpstreamProvider } from './provider.ts';

/** Tokens as an upstream token endpoint issued them. */
export interface IssuedTokens {
  readonly accessToken: string;
  /** Absent when the provider did not issue (or rotate) one. */
  readonly refreshToken: string | undefined;
  readonly expiresInSeconds: number | undefined;
  readonly extra: TokenExtra;
}

/**
 * How a failed token request is to be treated (EA-7):
 * - permanent: the grant is dead (revoked, spent, wrong client); retrying cannot help.
 * - transient: the provider is down, slow or limiting us; retry later, record nothing.
 * - error: an answer we cannot use (a 404, a malformed body); not retried, not recorded.
 */
export type TokenFailure =
  | { readonly kind: 'permanent'; readonly reason: string; readonly status: number }
  | { readonly kind: 'transient'; readonly reason: string; readonly retryAfterMs: number | undefined }
  | { readonly kind: 'error'; readonly reason: string };

export type TokenResult =
  | { readonly ok: true; readonly tokens: IssuedTokens }
  | { readonly ok: false; readonly failure: TokenFailure };

// Error codes that mean the grant or the client is dead. GitHub's bad_refresh_token and
// incorrect_client_credentials come in a 200 response; the RFC 6749 codes in a 400/401.
const PERMANENT_CODES = new Set([
  'bad_refresh_token',
  'invalid_grant',
  'incorrect_client_credentials',
  'invalid_client',
  'unauthorized_client',
  'expired_token',
  'access_denied',
]);

export interface TokenRequestOptions {
  readonly fetch?: typeof fetch | undefined;
  readonly timeoutMs: number;
}

/** POSTs a grant to the provider's token endpoint and classifies the answer. */
export async function requestToken(
  provider: UpstreamProvider,
  grant: Readonly<Record<string, string>>,
  options: TokenRequestOptions,
): Promise<TokenResult> {
  const answer = await postGrant(provider, grant, options);
  return 'fields' in answer ? classify(provider, answer.response, answer.fields) : answer;
}

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * The answers to a device-code poll that are not the grant's verdict (RFC 8628 §3.5):
 * keep polling (authorization_pending), poll slower (slow_down), or the user took too
 * long (expired_token) or said no (access_denied).
 */
export const DEVICE_POLL_ERRORS = [
  'authorization_pending',
  'slow_down',
  'expired_token',
  'access_denied',
] as const;
export type DevicePollError = (typeof DEVICE_POLL_ERRORS)[number];

export type DeviceTokenResult =
  | TokenResult
  | {
      readonly ok: false;
      readonly poll: DevicePollError;
      /** The provider's new polling interval in seconds, when it said (GitHub's slow_down does). */
      readonly intervalSeconds: number | undefined;
    };

/**
 * Polls the token endpoint with a device code. The device-flow answers are picked out
 * before classification: GitHub sends them with HTTP 200 (which classify() would call an
 * unusable answer), most others with 400 (which it would call a dead grant).
 */
export async function requestDeviceToken(
  provider: UpstreamProvider,
  deviceCode: string,
  options: TokenRequestOptions,
): Promise<DeviceTokenResult> {
  const answer = await postGrant(
    provider,
    { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode },
    options,
  );
  if (!('fields' in answer)) return answer;
  const code = answer.fields.error;
  const poll = DEVICE_POLL_ERRORS.find((c) => c === code);
  // Whatever the status says (Google answers a pending poll with 428), short of a server error.
  if (poll !== undefined && answer.response.status < 500) {
    const interval = Number(answer.fields.interval);
    return {
      ok: false,
      poll,
      intervalSeconds: Number.isFinite(interval) && interval > 0 ? interval : undefined,
    };
  }
  return classify(provider, answer.response, answer.fields);
}

/** The token endpoint's answer, read; or why there is none to read. */
async function postGrant(
  provider: UpstreamProvider,
  grant: Readonly<Record<string, string>>,
  options: TokenRequestOptions,
): Promise<{ readonly response: Response; readonly fields: Record<string, unknown> } | TokenResult> {
  // Client credentials in the body (client_secret_post): every provider type Latchkey has
  // defaults for accepts it, and GitHub documents only this form.
  const body = new URLSearchParams({ ...grant, client_id: provider.clientId });
  if (provider.clientSecret !== '') body.set('client_secret', provider.clientSecret);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(provider.tokenUrl, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    return { ok: false, failure: { kind: 'transient', reason: networkReason(err), retryAfterMs: undefined } };
  }
  try {
    return { response, fields: await readFields(response) };
  } catch (err) {
    // A body we cannot read still has a status, and the status alone decides for errors
    // (an HTML 401 page is as permanent as a JSON one); a 200 without a token is unusable.
    if (response.ok) {
      return { ok: false, failure: { kind: 'error', reason: `unreadable response: ${networkReason(err)}` } };
    }
    return { response, fields: {} };
  }
}

function classify(
  provider: UpstreamProvider,
  response: Response,
  fields: Record<string, unknown>,
): TokenResult {
  const status = response.status;
  const code = typeof fields.error === 'string' ? fields.error : undefined;
  if (status === 429 || status >= 500) return transientFor(response);
  if (code !== undefined && PERMANENT_CODES.has(code)) {
    return { ok: false, failure: { kind: 'permanent', reason: code, status } };
  }
  // 403 is not permanent: GitHub and others use it for rate limits and abuse detection.
  if (status === 403) return transientFor(response);
  if (status === 400 || status === 401) {
    return { ok: false, failure: { kind: 'permanent', reason: code ?? `http_${status}`, status } };
  }
  if (status !== 200 && status !== 201) {
    return { ok: false, failure: { kind: 'error', reason: code ?? `http_${status}` } };
  }
  if (code !== undefined) return { ok: false, failure: { kind: 'error', reason: code } };
  const accessToken = fields.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    return { ok: false, failure: { kind: 'error', reason: 'response without access_token' } };
  }
  const refresh = fields.refresh_token;
  const expiresIn = Number(fields.expires_in);
  const extra: TokenExtra = {};
  for (const name of provider.extraTokenKeys) {
    const value = fields[name];
    if (value !== undefined && value !== null)
      extra[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    ok: true,
    tokens: {
      accessToken,
      refreshToken: typeof refresh === 'string' && refresh !== '' ? refresh : undefined,
      expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
      extra,
    },
  };
}

function transientFor(response: Response): TokenResult {
  return {
    ok: false,
    failure: {
      kind: 'transient',
      reason: `http_${response.status}`,
      retryAfterMs: retryAfterMs(response.headers),
    },
  };
}

/** Providers answer JSON, or form-encoded (GitHub without Accept) — read either. */
export async function readFields(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (
    type.includes('application/x-www-form-urlencoded') ||
    (!type.includes('json') && !text.trimStart().startsWith('{'))
  ) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('not a JSON object');
  return parsed as Record<string, unknown>;
}

export function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function networkReason(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string }; message?: string };
  if (e?.name === 'TimeoutError') return 'timeout';
  return e?.cause?.code ?? e?.name ?? 'network error';
}

/**
 * Issued tokens as they are stored. Providers that do not rotate refresh tokens (Google)
 * send none with a refresh: the previous one then stays valid and is kept.
 */
export function toLinkTokens(issued: IssuedTokens, issuedAt: Date, previousRefreshToken = ''): LinkTokens {
  return {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken ?? previousRefreshToken,
    expiry:
      issued.expiresInSeconds === undefined
        ? null
        : new Date(issuedAt.getTime() + issued.expiresInSeconds * 1000),
    issuedAt,
    extra: issued.extra,
  };
}
