import type { IncomingMessage } from 'node:http';
import { TokenError } from './errors.ts';
import type { FaultQueue, RefreshGate } from './faults.ts';
import type { FlavourProfile } from './flavours.ts';
import { basicCredentials, safeEqual } from './http.ts';
import type { FakeStore } from './store.ts';
import type { FakeFlavour, FakeStats } from './types.ts';

/** Absolute URLs of one running fake. */
export interface ProviderUrls {
  base: string;
  authorize: string;
  token: string;
  device: string;
  verification: string;
  validate: string;
  revoke: string;
  jwks: string;
}

/** What every endpoint of one fake shares: its configuration, state and instruments. */
export interface ProviderContext {
  flavour: FakeFlavour;
  profile: FlavourProfile;
  clientId: string;
  clientSecret: string;
  accessTokenTtlSeconds: number | null;
  deviceIntervalSeconds: number;
  deviceCodeTtlSeconds: number;
  /** See FakeProviderOptions.latencyMs. */
  latencyMs: number;
  issuer: string;
  urls: ProviderUrls;
  store: FakeStore;
  faults: FaultQueue;
  gate: RefreshGate;
  stats: FakeStats;
  /** Every authorize query, as tests assert PKCE, state and extra parameters. */
  authorizeRequests: URLSearchParams[];
  /** Tokens the revoke endpoint revoked. */
  revokedTokens: string[];
  /** The fixed rate-limit window the validate endpoint reports. */
  rateWindow: { startedAt: number; used: number } | undefined;
}

/** Waits out the simulated upstream latency (real time: the upstream is slow, not the test). */
export function upstreamLatency(ctx: ProviderContext): Promise<void> {
  if (ctx.latencyMs <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ctx.latencyMs));
}

/**
 * Client authentication by HTTP Basic or `client_id`/`client_secret` in the body (one
 * method only, RFC 6749 §2.3.1). Returns the client id or throws `invalid_client`.
 * `secretRequired: false` is for public-client flows (device), where a secret sent
 * must still be right.
 */
export function authenticateClient(
  ctx: ProviderContext,
  req: IncomingMessage,
  params: URLSearchParams,
  secretRequired: boolean,
): string {
  const basic = basicCredentials(req);
  if (basic === 'malformed') throw new TokenError('invalidClient');
  if (basic && params.has('client_secret')) throw new TokenError('invalidRequest');
  const id = basic?.id ?? params.get('client_id');
  const secret = basic?.secret ?? params.get('client_secret') ?? undefined;
  if (!id || !safeEqual(id, ctx.clientId)) throw new TokenError('invalidClient');
  if (params.has('client_id') && params.get('client_id') !== id) throw new TokenError('invalidClient');
  if (secret === undefined ? secretRequired : !safeEqual(secret, ctx.clientSecret)) {
    throw new TokenError('invalidClient');
  }
  return id;
}
