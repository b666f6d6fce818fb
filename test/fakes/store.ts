import type { FlavourProfile } from './flavours.ts';
import type { FakeTokenSet, FakeUser } from './types.ts';

/** One authorization: every access and refresh token rotated from it shares it. */
export interface Grant {
  sub: string;
  clientId: string;
  scope: string;
  /** OIDC: the authorize request's nonce, for the first id_token. */
  nonce: string | undefined;
  revoked: boolean;
}

interface AccessRecord {
  grant: Grant;
  expiresAt: number | null;
}

interface RefreshRecord {
  grant: Grant;
  expiresAt: number | null;
  spent: boolean;
}

export interface CodeRecord {
  clientId: string;
  redirectUri: string;
  sub: string;
  scope: string;
  challenge: string | undefined;
  nonce: string | undefined;
  expiresAt: number;
  used: boolean;
  /** The grant its exchange created, revoked if the code is replayed (RFC 6749 §4.1.2). */
  grant: Grant | undefined;
}

export interface DeviceRecord {
  deviceCode: string;
  userCode: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  intervalSeconds: number;
  lastPollAt: number | undefined;
  status: 'pending' | 'approved' | 'denied' | 'used';
  sub: string | undefined;
}

export interface Issued {
  tokens: FakeTokenSet;
  grant: Grant;
}

/** Users, codes and tokens of one fake provider; every expiry is read from `now`. */
export class FakeStore {
  readonly users: FakeUser[];
  readonly codes = new Map<string, CodeRecord>();
  /** By device code; `deviceByUserCode` indexes the same records. */
  readonly devices = new Map<string, DeviceRecord>();
  readonly deviceByUserCode = new Map<string, DeviceRecord>();
  readonly #access = new Map<string, AccessRecord>();
  readonly #refresh = new Map<string, RefreshRecord>();
  readonly #profile: FlavourProfile;
  readonly #issueRefreshTokens: boolean;
  readonly now: () => number;
  loggedIn: FakeUser;

  constructor(options: {
    profile: FlavourProfile;
    users: FakeUser[];
    issueRefreshTokens: boolean;
    now: () => number;
  }) {
    const first = options.users[0];
    if (!first) throw new Error('a fake provider needs at least one user');
    this.users = [...options.users];
    this.loggedIn = first;
    this.#profile = options.profile;
    this.#issueRefreshTokens = options.issueRefreshTokens;
    this.now = options.now;
  }

  /** A user by login or sub; a `FakeUser` not seen before becomes a user upstream. */
  user(ref: FakeUser | string): FakeUser {
    if (typeof ref !== 'string') {
      const known = this.users.find((u) => u.sub === ref.sub);
      if (known) return known;
      this.users.push(ref);
      return ref;
    }
    const found = this.users.find((u) => u.login === ref || u.sub === ref);
    if (!found) throw new Error(`fake provider: no user ${JSON.stringify(ref)}`);
    return found;
  }

  /** A new grant and its first tokens. */
  issue(init: Omit<Grant, 'revoked'>, ttlSeconds: number | null): Issued {
    const grant: Grant = { ...init, revoked: false };
    return { tokens: this.#tokensFor(grant, ttlSeconds), grant };
  }

  /**
   * Spends a refresh token (single use) and rotates its grant to new tokens. `undefined`
   * when the token is unknown, spent, expired, revoked or another client's.
   */
  rotate(refreshToken: string, clientId: string, ttlSeconds: number | null): Issued | undefined {
    const record = this.#refresh.get(refreshToken);
    if (!record || record.spent || record.grant.revoked || record.grant.clientId !== clientId)
      return undefined;
    if (record.expiresAt !== null && this.now() >= record.expiresAt) return undefined;
    record.spent = true;
    return { tokens: this.#tokensFor(record.grant, ttlSeconds), grant: record.grant };
  }

  /** The grant of a live (known, unexpired, unrevoked) access token. */
  liveAccess(token: string): Grant | undefined {
    const record = this.#access.get(token);
    if (!record || record.grant.revoked) return undefined;
    if (record.expiresAt !== null && this.now() >= record.expiresAt) return undefined;
    return record.grant;
  }

  expireAccess(token: string): void {
    const record = this.#access.get(token);
    if (!record) throw new Error('fake provider: unknown access token');
    record.expiresAt = this.now() - 1;
  }

  /** Revokes the grant an access or refresh token belongs to; false if the token is unknown. */
  revokeGrantOf(token: string, clientId: string): boolean {
    const grant = (this.#access.get(token) ?? this.#refresh.get(token))?.grant;
    if (!grant || grant.clientId !== clientId) return false;
    grant.revoked = true;
    return true;
  }

  revokeUser(sub: string): void {
    for (const record of [...this.#access.values(), ...this.#refresh.values()]) {
      if (record.grant.sub === sub) record.grant.revoked = true;
    }
  }

  #tokensFor(grant: Grant, ttlSeconds: number | null): FakeTokenSet {
    const now = this.now();
    const profile = this.#profile;
    const accessToken = profile.newAccessToken(ttlSeconds !== null);
    this.#access.set(accessToken, { grant, expiresAt: ttlSeconds === null ? null : now + ttlSeconds * 1000 });
    const tokens: FakeTokenSet = {
      access_token: accessToken,
      token_type: profile.tokenType,
      scope: grant.scope,
    };
    if (ttlSeconds !== null) tokens.expires_in = ttlSeconds;
    // A token without expiry is never refreshed, so it comes without a refresh token.
    if (this.#issueRefreshTokens && ttlSeconds !== null) {
      const refreshToken = profile.newRefreshToken();
      const refreshTtl = profile.refreshTokenTtlSeconds;
      this.#refresh.set(refreshToken, {
        grant,
        expiresAt: refreshTtl === null ? null : now + refreshTtl * 1000,
        spent: false,
      });
      tokens.refresh_token = refreshToken;
      if (refreshTtl !== null) tokens.refresh_token_expires_in = refreshTtl;
    }
    if (profile.createdAt) tokens.created_at = Math.floor(now / 1000);
    return tokens;
  }
}
