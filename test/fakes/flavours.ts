import { randomBytes } from 'node:crypto';
import type { FakeFlavour, FakeUser } from './types.ts';

/** Where a flavour serves each endpoint and how it differs from the RFCs. */
export interface FlavourProfile {
  paths: {
    authorize: string;
    token: string;
    device: string;
    /** Device flow page the user is sent to (served as a plain page). */
    verification: string;
    validate: string;
    /** `{client_id}` is replaced by the client id. */
    revoke: string;
    /** OIDC flavour only. */
    jwks?: string;
  };
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number | null;
  tokenType: string;
  /** GitLab adds `created_at` (epoch seconds) to token responses. */
  createdAt: boolean;
  /** GitHub answers token-endpoint errors with HTTP 200 and its own error codes. */
  errorsAsOk: boolean;
  /** GitHub answers the token and device endpoints form-urlencoded unless JSON is accepted. */
  formUnlessJsonAccepted: boolean;
  scopeSeparator: string;
  /** Scope of tokens seeded with `mintTokens`. */
  defaultScope: string;
  newAccessToken(expiring: boolean): string;
  newRefreshToken(): string;
  userJson(user: FakeUser, baseUrl: string): Record<string, unknown>;
  /** Answer to a request at `validateUrl` without a live token. */
  unauthorized: { body: Record<string, unknown>; headers: Record<string, string> };
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function base62(length: number): string {
  let out = '';
  for (const byte of randomBytes(length)) out += BASE62[byte % 62];
  return out;
}

/** GitHub shows numeric ids; keep a numeric `sub` numeric. */
function numericId(sub: string): number | string {
  const n = Number(sub);
  return Number.isSafeInteger(n) ? n : sub;
}

export const FLAVOURS: Record<FakeFlavour, FlavourProfile> = {
  github: {
    paths: {
      authorize: '/login/oauth/authorize',
      token: '/login/oauth/access_token',
      device: '/login/device/code',
      verification: '/login/device',
      validate: '/user',
      revoke: '/applications/{client_id}/token',
    },
    accessTokenTtlSeconds: 28_800,
    refreshTokenTtlSeconds: 15_811_200,
    tokenType: 'bearer',
    createdAt: false,
    errorsAsOk: true,
    formUnlessJsonAccepted: true,
    scopeSeparator: ',',
    defaultScope: 'repo,read:user',
    // User-to-server tokens that expire are ghu_, OAuth app tokens that do not are gho_.
    newAccessToken: (expiring) => `${expiring ? 'ghu' : 'gho'}_${base62(36)}`,
    newRefreshToken: () => `ghr_${base62(76)}`,
    userJson: (user, baseUrl) => ({
      login: user.login,
      id: numericId(user.sub),
      node_id: Buffer.from(`04:User${user.sub}`).toString('base64'),
      url: `${baseUrl}/users/${user.login}`,
      type: 'User',
      site_admin: false,
      name: user.name ?? null,
      email: user.email,
    }),
    unauthorized: {
      body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
      headers: {},
    },
  },
  gitlab: {
    paths: {
      authorize: '/oauth/authorize',
      token: '/oauth/token',
      device: '/oauth/authorize_device',
      verification: '/oauth/device',
      validate: '/api/v4/user',
      revoke: '/oauth/revoke',
    },
    accessTokenTtlSeconds: 3600,
    refreshTokenTtlSeconds: null,
    tokenType: 'Bearer',
    createdAt: true,
    errorsAsOk: false,
    formUnlessJsonAccepted: false,
    scopeSeparator: ' ',
    defaultScope: 'read_user read_repository',
    newAccessToken: () => randomBytes(32).toString('hex'),
    newRefreshToken: () => randomBytes(32).toString('hex'),
    userJson: (user, baseUrl) => ({
      id: numericId(user.sub),
      username: user.login,
      name: user.name ?? user.login,
      state: 'active',
      email: user.email,
      web_url: `${baseUrl}/${user.login}`,
    }),
    unauthorized: { body: { message: '401 Unauthorized' }, headers: {} },
  },
  oidc: {
    paths: {
      authorize: '/authorize',
      token: '/token',
      device: '/device/code',
      verification: '/device',
      validate: '/userinfo',
      revoke: '/revoke',
      jwks: '/jwks',
    },
    accessTokenTtlSeconds: 3600,
    refreshTokenTtlSeconds: null,
    tokenType: 'Bearer',
    createdAt: false,
    errorsAsOk: false,
    formUnlessJsonAccepted: false,
    scopeSeparator: ' ',
    defaultScope: 'openid email profile',
    newAccessToken: () => `at.${randomBytes(32).toString('base64url')}`,
    newRefreshToken: () => `rt.${randomBytes(32).toString('base64url')}`,
    userJson: (user) => ({
      sub: user.sub,
      email: user.email,
      email_verified: user.emailVerified ?? true,
      name: user.name ?? user.login,
      preferred_username: user.login,
    }),
    unauthorized: {
      body: { error: 'invalid_token', error_description: 'The access token is invalid or expired.' },
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    },
  },
};

/** Scopes as the flavour writes them (GitHub: comma-separated). */
export function normaliseScope(profile: FlavourProfile, scope: string | null | undefined): string {
  return (scope ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .join(profile.scopeSeparator);
}
