/** The upstream identity providers the fake can stand in for. */
export const FAKE_FLAVOURS = ['github', 'gitlab', 'oidc'] as const;
export type FakeFlavour = (typeof FAKE_FLAVOURS)[number];

export interface FakeUser {
  sub: string;
  login: string;
  email: string;
  name?: string;
  emailVerified?: boolean;
}

export interface FakeProviderOptions {
  flavour: FakeFlavour;
  /** Default `fake-client`. */
  clientId?: string;
  /** Default `fake-secret`. */
  clientSecret?: string;
  /**
   * Lifetime of issued access tokens; `null` = tokens without expiry (GitHub OAuth apps),
   * which also come without a refresh token. Default 3600 (github: 28800, like GitHub Apps).
   */
  accessTokenTtlSeconds?: number | null;
  /** Default true; false = a provider that never issues refresh tokens (Google without offline access). */
  issueRefreshTokens?: boolean;
  /** The users that exist upstream; the first is logged in unless `nextLogin` says otherwise. */
  users?: FakeUser[];
  /** Injected clock (ms) for every expiry and for device-flow polling; default `Date.now`. */
  now?: () => number;
  /** Device flow polling interval in seconds; default 5. */
  deviceIntervalSeconds?: number;
  /** Device code lifetime in seconds; default 900. */
  deviceCodeTtlSeconds?: number;
  /**
   * Simulated upstream latency: the token endpoint (every grant, faults included) and the
   * validate/userinfo endpoint wait this long (real time, not the injected clock) before
   * they answer. Default 0. For benchmarks; tests that need ordering use `holdRefreshes`.
   */
  latencyMs?: number;
  /** Port to listen on (127.0.0.1); default a free one. */
  port?: number;
}

/** What the token endpoint answers with a grant (and what `mintTokens` returns). */
export interface FakeTokenSet {
  access_token: string;
  token_type: string;
  scope: string;
  expires_in?: number;
  refresh_token?: string;
  /** GitHub only. */
  refresh_token_expires_in?: number;
  /** OIDC flavour, when the grant's scope includes `openid`. */
  id_token?: string;
  /** GitLab only (epoch seconds). */
  created_at?: number;
}

/**
 * Endpoints a fault can be queued for. `token` matches every token-endpoint request,
 * `refresh` only refresh grants (and is consulted first); `userinfo` is the OIDC name of
 * the endpoint at `validateUrl`, so in every flavour it shares the `validate` queue;
 * `device` is the device authorization endpoint (polls go to the token endpoint).
 */
export const FAKE_ENDPOINTS = ['token', 'refresh', 'validate', 'revoke', 'userinfo', 'device'] as const;
export type FakeEndpoint = (typeof FAKE_ENDPOINTS)[number];

export type FakeFault =
  | { status: number; body?: unknown; headers?: Record<string, string>; times?: number }
  | { network: true; times?: number };

/** Requests as they arrived, faulted ones included. */
export interface FakeStats {
  tokenCalls: number;
  refreshCalls: number;
  successfulRefreshes: number;
  validateCalls: number;
  revokeCalls: number;
  deviceCodeCalls: number;
}

/**
 * Holds refresh requests at the token endpoint until `release()`. Until `arrived(n)` is
 * called every refresh is held; from then on at most `n` are, and later refreshes pass
 * straight through (so a test can hold its own caller and refresh past it).
 */
export interface RefreshHold {
  /** Resolves once `n` refreshes are held; rejects after 10 s of real time or on release. */
  arrived(n: number): Promise<void>;
  /** Lets the held requests go, in arrival order, and ends the hold. */
  release(): void;
}

export interface FakeProvider {
  readonly flavour: FakeFlavour;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly authUrl: string;
  readonly tokenUrl: string;
  /** GitHub `/user`, GitLab `/api/v4/user`, OIDC userinfo. */
  readonly validateUrl: string;
  readonly revokeUrl: string;
  readonly deviceCodeUrl: string;
  /** The base URL; for the oidc flavour discovery is at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly users: readonly FakeUser[];

  /** Who the (non-interactive) authorize endpoint logs in from now on, like a browser session. */
  nextLogin(user: FakeUser | string): void;
  /** Seeds a link without a browser flow. */
  mintTokens(user: FakeUser | string, opts?: { ttlSeconds?: number | null; scope?: string }): FakeTokenSet;
  /** The access token is past its expiry from now on (its refresh token still works). */
  expireAccessToken(accessToken: string): void;
  /** The user revoked the app upstream: every token issued for them dies. */
  revokeAll(user: FakeUser | string): void;

  readonly stats: Readonly<FakeStats>;
  /** Every authorize query, in order (invalid ones included). */
  readonly authorizeRequests: readonly URLSearchParams[];
  /** Tokens revoked through the revoke endpoint, as sent. */
  readonly revokedTokens: readonly string[];

  /** Queues a fault for the next matching request(s), FIFO per endpoint. */
  failNext(endpoint: FakeEndpoint, fault: FakeFault): void;
  /** Starts holding refresh requests; see `RefreshHold`. A new hold ends the previous one. */
  holdRefreshes(): RefreshHold;
  /** The user (default: the logged-in one) approves the device code shown as `userCode`. */
  approveDevice(userCode: string, user?: FakeUser | string): void;
  /** The user denies the device code: polls answer `access_denied`. */
  denyDevice(userCode: string): void;
  close(): Promise<void>;
}
