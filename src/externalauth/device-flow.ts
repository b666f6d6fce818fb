import { ForbiddenError } from '../authz/index.ts';
import type { DataStore } from '../db/index.ts';
import { hashState, type LinkFlowDeps, saveLink } from './link-flow.ts';
import type { ConfiguredProvider } from './registry.ts';
import { DEVICE_CODE_GRANT, networkReason, readFields, requestDeviceToken } from './token-client.ts';

// Linking a provider with the device authorization grant (RFC 8628, EA-2): for users at a
// terminal, or a browser that cannot take the redirect. The device code is a bearer secret
// for the upstream account the user approves, so it is bound to the Latchkey user who
// asked for it, like the authorization-code flow's state: stored as SHA-256 in
// external_auth_link_states with the user, provider and expiry, read on every poll and
// taken when the flow ends. Without that binding, anyone holding a device code could link
// a stranger's upstream account into their own Latchkey account, or theirs into a stranger's.

/** Marks a link-flow state as a device flow's (it has no redirect URI of its own). */
const DEVICE_REDIRECT_URI = DEVICE_CODE_GRANT;
const DEFAULT_INTERVAL_S = 5;
const DEFAULT_EXPIRES_IN_S = 900;
/** However long the provider says: a device code is not kept bound for more than an hour. */
const MAX_EXPIRES_IN_S = 3600;

export const DEVICE_FLOW_ERRORS = [
  'provider_not_found',
  'device_flow_unsupported',
  'invalid_device_code',
  'expired_token',
  'access_denied',
  'upstream_unavailable',
  'upstream_error',
] as const;
export type DeviceFlowErrorCode = (typeof DEVICE_FLOW_ERRORS)[number];

export class DeviceFlowError extends Error {
  readonly code: DeviceFlowErrorCode;
  /** What the provider said, for the detail of the response; '' when nothing. */
  readonly reason: string;
  constructor(code: DeviceFlowErrorCode, message: string, reason = '') {
    super(message);
    this.name = 'DeviceFlowError';
    this.code = code;
    this.reason = reason;
  }
}

/** What the user needs to approve the device, and what the client polls with. */
export interface DeviceAuthorization {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete: string | undefined;
  readonly expiresIn: number;
  readonly interval: number;
}

export type DevicePoll =
  | { readonly status: 'authorization_pending' | 'slow_down'; readonly interval: number }
  | { readonly status: 'linked'; readonly upstreamLogin: string };

/** Asks the provider for a device code and binds it to `userId`. */
export async function startDeviceLink(
  deps: LinkFlowDeps,
  store: DataStore,
  input: { readonly userId: string; readonly providerId: string },
): Promise<DeviceAuthorization> {
  const provider = await deviceProvider(deps, input.providerId);
  const authorization = await requestDeviceCode(deps, provider);
  await store.insertExternalAuthLinkState({
    stateHash: hashState(authorization.deviceCode),
    userId: input.userId,
    providerId: provider.id,
    codeVerifier: '',
    redirectUri: DEVICE_REDIRECT_URI,
    returnTo: '',
    expiresAt: new Date(deps.clock().getTime() + authorization.expiresIn * 1000),
  });
  return authorization;
}

/**
 * One poll: the binding checked, then the provider asked. `intervalSeconds` is the interval
 * the client polls at now; a slow_down answer adds 5 s to it (RFC 8628 §3.5).
 */
export async function pollDeviceLink(
  deps: LinkFlowDeps,
  store: DataStore,
  input: {
    readonly userId: string;
    readonly providerId: string;
    readonly deviceCode: string;
    readonly intervalSeconds?: number | undefined;
  },
): Promise<DevicePoll> {
  const provider = await deviceProvider(deps, input.providerId);
  const stateHash = hashState(input.deviceCode);
  await boundState(store, { ...input, stateHash, now: deps.clock() });
  const interval = input.intervalSeconds ?? DEFAULT_INTERVAL_S;
  const end = () => store.consumeExternalAuthLinkState({ stateHash, now: deps.clock() });
  const result = await requestDeviceToken(provider, input.deviceCode, options(deps));
  if (!result.ok && 'poll' in result) {
    switch (result.poll) {
      case 'authorization_pending':
        return { status: 'authorization_pending', interval };
      case 'slow_down':
        return { status: 'slow_down', interval: Math.max(result.intervalSeconds ?? 0, interval + 5) };
      case 'expired_token':
        await end();
        throw new DeviceFlowError('expired_token', 'The code expired before it was entered; start again.');
      case 'access_denied':
        await end();
        throw new DeviceFlowError('access_denied', `Access was denied at "${provider.id}".`);
    }
  }
  if (!result.ok) {
    const { failure } = result;
    if (failure.kind === 'transient') {
      throw new DeviceFlowError(
        'upstream_unavailable',
        `"${provider.id}" did not answer; try polling again shortly.`,
        failure.reason,
      );
    }
    // The provider will not issue a token for this code (spent, unknown, a bad client): done.
    await end();
    throw new DeviceFlowError(
      'upstream_error',
      `"${provider.id}" refused the device code; start again.`,
      failure.reason,
    );
  }
  // Taken before the link is stored: a poll that finds the state gone (ended meanwhile)
  // stores nothing.
  const taken = await end();
  if (!taken || taken.user_id !== input.userId || taken.provider_id !== provider.id) throw invalidCode();
  const upstreamLogin = await saveLink(deps, store, input.userId, provider, result.tokens);
  return { status: 'linked', upstreamLogin };
}

async function deviceProvider(deps: LinkFlowDeps, providerId: string): Promise<ConfiguredProvider> {
  const provider = await deps.registry.get(providerId);
  if (!provider)
    throw new DeviceFlowError('provider_not_found', `No external-auth provider "${providerId}".`);
  if (!provider.deviceFlow || provider.deviceCodeUrl === undefined) {
    throw new DeviceFlowError(
      'device_flow_unsupported',
      `"${providerId}" is not configured for the device flow; link it in the browser.`,
    );
  }
  return provider;
}

/**
 * The caller's own, unexpired device flow for this provider. Anyone else's is burnt, not
 * reported: a device code that leaked is then useless to both users.
 */
async function boundState(
  store: DataStore,
  input: { userId: string; providerId: string; stateHash: Buffer; now: Date },
): Promise<void> {
  let state: Awaited<ReturnType<DataStore['getExternalAuthLinkState']>>;
  try {
    state = await store.getExternalAuthLinkState({ stateHash: input.stateHash, now: input.now });
  } catch (err) {
    if (!(err instanceof ForbiddenError)) throw err;
    await store.consumeExternalAuthLinkState({ stateHash: input.stateHash, now: input.now }).catch((e) => {
      if (!(e instanceof ForbiddenError)) throw e;
    });
    throw invalidCode();
  }
  if (state?.redirect_uri !== DEVICE_REDIRECT_URI) throw invalidCode();
  if (state.user_id !== input.userId || state.provider_id !== input.providerId) {
    await store.consumeExternalAuthLinkState({ stateHash: input.stateHash, now: input.now });
    throw invalidCode();
  }
}

function invalidCode(): DeviceFlowError {
  return new DeviceFlowError(
    'invalid_device_code',
    'This device code is unknown, used or expired; start linking again.',
  );
}

/** RFC 8628 §3.1–3.2. GitHub answers form-encoded unless JSON is accepted. */
async function requestDeviceCode(
  deps: LinkFlowDeps,
  provider: ConfiguredProvider,
): Promise<DeviceAuthorization> {
  const body = new URLSearchParams({ client_id: provider.clientId });
  if (provider.scopes.length > 0) body.set('scope', provider.scopes.join(' '));
  let response: Response;
  let fields: Record<string, unknown>;
  try {
    response = await (deps.fetch ?? fetch)(provider.deviceCodeUrl as string, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(deps.upstreamTimeoutMs ?? 10_000),
    });
    fields = await readFields(response).catch(() => ({}));
  } catch (err) {
    throw unavailable(provider, networkReason(err));
  }
  if (response.status === 429 || response.status >= 500)
    throw unavailable(provider, `http_${response.status}`);
  const error = typeof fields.error === 'string' ? fields.error : undefined;
  const authorization = response.ok && error === undefined ? parseAuthorization(fields) : undefined;
  if (!authorization) {
    throw new DeviceFlowError(
      'upstream_error',
      `"${provider.id}" did not start the device flow.`,
      error ?? (response.ok ? 'malformed device authorization response' : `http_${response.status}`),
    );
  }
  return authorization;
}

function parseAuthorization(fields: Record<string, unknown>): DeviceAuthorization | undefined {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' && v.length <= 2048 ? v : undefined);
  const seconds = (v: unknown, fallback: number) => {
    const n = Number(v ?? fallback);
    return Number.isFinite(n) && n > 0 ? Math.ceil(n) : fallback;
  };
  const deviceCode = text(fields.device_code);
  const userCode = text(fields.user_code);
  // Google calls it verification_url. Shown to the user as a link: web URLs only.
  const verificationUri = webUrl(text(fields.verification_uri) ?? text(fields.verification_url));
  if (!deviceCode || !userCode || !verificationUri) return undefined;
  return {
    deviceCode,
    userCode,
    verificationUri,
    verificationUriComplete: webUrl(text(fields.verification_uri_complete)),
    expiresIn: Math.min(seconds(fields.expires_in, DEFAULT_EXPIRES_IN_S), MAX_EXPIRES_IN_S),
    interval: seconds(fields.interval, DEFAULT_INTERVAL_S),
  };
}

function webUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function unavailable(provider: ConfiguredProvider, reason: string): DeviceFlowError {
  return new DeviceFlowError(
    'upstream_unavailable',
    `"${provider.id}" did not answer; try again shortly.`,
    reason,
  );
}

function options(deps: LinkFlowDeps) {
  return { timeoutMs: deps.upstreamTimeoutMs ?? 10_000, fetch: deps.fetch };
}
