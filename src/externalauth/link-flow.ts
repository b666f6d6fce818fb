import { createHash, randomBytes } from 'node:crypto';
import { ForbiddenError } from '../authz/index.ts';
import type { DataStore } from '../db/index.ts';
import type { ConfiguredProvider, ProviderRegistry } from './registry.ts';
import { type IssuedTokens, requestToken, toLinkTokens } from './token-client.ts';
import { validateToken } from './validate.ts';
import type { LinkEvents } from './vault.ts';

// Linking a provider with the authorization-code flow (EA-2). The state parameter is a
// random value stored hashed with the user who started the flow, the PKCE verifier and
// where to return: the callback must come back to the same user within the time limit,
// once. A state that leaks (logs, referrers) is useless to anyone else.

const STATE_TTL_MS = 10 * 60_000;

export interface LinkFlowDeps {
  readonly registry: ProviderRegistry;
  readonly events: LinkEvents;
  readonly clock: () => Date;
  /** Latchkey's public URL; the callback is `${accessUrl}/external-auth/{id}/callback`. */
  readonly accessUrl: string;
  readonly upstreamTimeoutMs?: number;
  readonly fetch?: typeof fetch | undefined;
}

export const LINK_FLOW_ERRORS = ['provider_not_found', 'invalid_state', 'denied', 'exchange_failed'] as const;
export type LinkFlowErrorCode = (typeof LINK_FLOW_ERRORS)[number];

export class LinkFlowError extends Error {
  readonly code: LinkFlowErrorCode;
  constructor(code: LinkFlowErrorCode, message: string) {
    super(message);
    this.name = 'LinkFlowError';
    this.code = code;
  }
}

export function callbackUrl(accessUrl: string, providerId: string): string {
  return `${accessUrl}/external-auth/${encodeURIComponent(providerId)}/callback`;
}

export function hashState(state: string): Buffer {
  return createHash('sha256').update(state).digest();
}

/** Begins linking: records the flow and returns the provider's authorization URL. */
export async function startLink(
  deps: LinkFlowDeps,
  store: DataStore,
  input: { readonly userId: string; readonly providerId: string; readonly returnTo: string },
): Promise<URL> {
  const provider = await deps.registry.get(input.providerId);
  if (!provider)
    throw new LinkFlowError('provider_not_found', `No external-auth provider "${input.providerId}".`);
  const state = randomBytes(32).toString('base64url');
  const verifier = provider.pkce ? randomBytes(32).toString('base64url') : '';
  const redirectUri = callbackUrl(deps.accessUrl, provider.id);
  await store.insertExternalAuthLinkState({
    stateHash: hashState(state),
    userId: input.userId,
    providerId: provider.id,
    codeVerifier: verifier,
    redirectUri,
    returnTo: input.returnTo,
    expiresAt: new Date(deps.clock().getTime() + STATE_TTL_MS),
  });
  return authorizationUrl(provider, { state, verifier, redirectUri });
}

function authorizationUrl(
  provider: ConfiguredProvider,
  flow: { readonly state: string; readonly verifier: string; readonly redirectUri: string },
): URL {
  const url = new URL(provider.authUrl);
  // Operator-given parameters first (Auth0's audience, Google's access_type=offline), so
  // the protocol parameters below always win over a misconfigured duplicate.
  for (const [name, value] of Object.entries(provider.authUrlParams)) url.searchParams.set(name, value);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', provider.clientId);
  url.searchParams.set('redirect_uri', flow.redirectUri);
  url.searchParams.set('state', flow.state);
  if (provider.scopes.length > 0) url.searchParams.set('scope', provider.scopes.join(' '));
  if (flow.verifier !== '') {
    url.searchParams.set('code_challenge', createHash('sha256').update(flow.verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url;
}

/** Finishes linking from the provider's redirect; returns where to send the user. */
export async function finishLink(
  deps: LinkFlowDeps,
  store: DataStore,
  input: {
    readonly userId: string;
    readonly providerId: string;
    readonly code: string | undefined;
    readonly state: string | undefined;
    readonly error: string | undefined;
  },
): Promise<{ readonly returnTo: string }> {
  if (!input.state)
    throw new LinkFlowError('invalid_state', 'The link request has no state; start linking again.');
  let flow: Awaited<ReturnType<DataStore['consumeExternalAuthLinkState']>>;
  try {
    flow = await store.consumeExternalAuthLinkState({ stateHash: hashState(input.state), now: deps.clock() });
  } catch (err) {
    // Someone else's state (the store refused it, and burnt it): to this caller it is
    // simply not a valid state; saying more would confirm it belongs to someone.
    if (!(err instanceof ForbiddenError)) throw err;
    flow = undefined;
  }
  if (!flow || flow.user_id !== input.userId || flow.provider_id !== input.providerId) {
    throw new LinkFlowError(
      'invalid_state',
      'This link request is unknown, used or expired; start linking again.',
    );
  }
  if (input.error !== undefined) {
    throw new LinkFlowError('denied', `The provider did not grant access (${input.error}).`);
  }
  if (!input.code) throw new LinkFlowError('exchange_failed', 'The provider sent no authorization code.');
  const provider = await deps.registry.get(input.providerId);
  if (!provider)
    throw new LinkFlowError('provider_not_found', `No external-auth provider "${input.providerId}".`);
  const grant: Record<string, string> = {
    grant_type: 'authorization_code',
    code: input.code,
    redirect_uri: flow.redirect_uri,
  };
  if (flow.code_verifier !== '') grant.code_verifier = flow.code_verifier;
  const result = await requestToken(provider, grant, {
    timeoutMs: deps.upstreamTimeoutMs ?? 10_000,
    fetch: deps.fetch,
  });
  if (!result.ok) {
    throw new LinkFlowError(
      'exchange_failed',
      `The provider refused the authorization code (${result.failure.reason}).`,
    );
  }
  await saveLink(deps, store, input.userId, provider, result.tokens);
  return { returnTo: flow.return_to };
}

/**
 * Stores a new link from freshly issued tokens (code or device flow), with who the user is
 * upstream for the settings page ("linked as octocat", best effort), and tells waiting
 * callers (`?wait=true`) on every replica.
 */
export async function saveLink(
  deps: LinkFlowDeps,
  store: DataStore,
  userId: string,
  provider: ConfiguredProvider,
  issued: IssuedTokens,
): Promise<string> {
  const tokens = toLinkTokens(issued, deps.clock());
  const check = await validateToken(provider, tokens.accessToken, {
    timeoutMs: deps.upstreamTimeoutMs ?? 10_000,
    fetch: deps.fetch,
  });
  const upstreamLogin = check.state === 'valid' ? (check.login ?? '') : '';
  await store.upsertExternalAuthLink({ userId, providerId: provider.id, tokens, upstreamLogin });
  await deps.events.linked(userId, provider.id);
  return upstreamLogin;
}
