import { sql } from 'kysely';
import type { ExternalAuthProviderConfig } from '../../src/config/index.ts';
import type { LinkTokens, Store } from '../../src/db/index.ts';
import { EVERY_LINK, LINKS_CHANNEL } from '../../src/externalauth/index.ts';
import type { RunningServer } from '../../src/runtime/index.ts';
import type { FakeProvider, FakeUser } from '../fakes/index.ts';
import type { StoreKit } from './store.ts';

/** A provider entry pointing at a fake upstream, as an operator would configure it. */
export function providerFor(
  fake: FakeProvider,
  overrides: Partial<ExternalAuthProviderConfig> = {},
): ExternalAuthProviderConfig {
  const flavour = fake.flavour;
  return {
    id: flavour,
    type: flavour,
    displayName: flavour,
    icon: '',
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    authUrl: flavour === 'oidc' ? '' : fake.authUrl,
    tokenUrl: flavour === 'oidc' ? '' : fake.tokenUrl,
    validateUrl: flavour === 'oidc' ? undefined : fake.validateUrl,
    revokeUrl: flavour === 'oidc' ? undefined : fake.revokeUrl,
    apiBaseUrl: undefined,
    revokeStyle: flavour === 'github' ? 'github' : flavour === 'oidc' ? 'none' : 'rfc7009',
    scopes: flavour === 'oidc' ? ['openid', 'email', 'offline_access'] : ['repo'],
    extraTokenKeys: [],
    deviceFlow: false,
    deviceCodeUrl: fake.deviceCodeUrl,
    pkce: true,
    authUrlParams: {},
    regex: flavour === 'github' ? /^https?:\/\/github\.example\/.*$/ : undefined,
    noRefresh: false,
    issuerUrl: flavour === 'oidc' ? fake.issuer : undefined,
    ...overrides,
  };
}

/**
 * Links `userId` to the fake's user directly (no browser): tokens minted upstream, stored
 * with the given expiry so a test decides whether the next call must refresh.
 */
export async function seedLink(
  raw: Store,
  fake: FakeProvider,
  input: {
    userId: string;
    providerId?: string;
    upstreamUser?: FakeUser | string;
    expiresInMs: number | null;
  },
): Promise<LinkTokens> {
  const minted = fake.mintTokens(input.upstreamUser ?? (fake.users[0] as FakeUser));
  const now = new Date();
  const tokens: LinkTokens = {
    accessToken: minted.access_token,
    refreshToken: minted.refresh_token ?? '',
    expiry: input.expiresInMs === null ? null : new Date(now.getTime() + input.expiresInMs),
    issuedAt: new Date(now.getTime() - 3_600_000),
    extra: {},
  };
  await raw.upsertExternalAuthLink({
    userId: input.userId,
    providerId: input.providerId ?? fake.flavour,
    tokens,
  });
  return tokens;
}

/**
 * For tests that change links behind the servers' backs (straight SQL): tells every
 * replica to drop its cached links, as bulk tools do, and waits until each has.
 */
export async function linksChangedBehindTheirBacks(
  kit: StoreKit,
  servers: readonly RunningServer[],
): Promise<void> {
  const dropped = servers.map(
    (s) =>
      new Promise<void>((resolve) => {
        const off = s.links.onDrop((id) => {
          if (id === EVERY_LINK) {
            off();
            resolve();
          }
        });
      }),
  );
  await sql`SELECT pg_notify(${LINKS_CHANNEL}, ${EVERY_LINK})`.execute(kit.handle.db);
  await Promise.all(dropped);
}
