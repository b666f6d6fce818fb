import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { PURGE_RETAIN_MS, purgeExpired } from '../src/runtime/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// Expired keys and OAuth grants are deleted, a day after they expire (not before: a replayed
// code must still be recognised as a replay).

const db = useTestDatabase();
let kit: StoreKit;
let user: User;
let appId: string;

beforeAll(async () => {
  kit = storeKit(db.url);
  user = await kit.user('purged');
  const app = await kit.raw.insertOAuth2App({
    clientId: 'purge-app',
    origin: 'admin',
    name: 'purge',
    applicationType: 'web',
    tokenEndpointAuthMethod: 'client_secret_basic',
    redirectUris: ['https://app.example/cb'],
    grantTypes: ['authorization_code'],
    responseTypes: ['code'],
    scope: '',
    metadata: {},
    registrationTokenHash: null,
    createdBy: null,
  });
  appId = app.id;
});
afterAll(() => kit.close());

async function key(name: string, expiresAt: Date) {
  const k = generateKey();
  await kit.raw.insertApiKey({
    id: k.id,
    hashedSecret: k.hashedSecret,
    userId: user.id,
    name,
    loginType: 'token',
    scopes: ['latchkey:all'],
    allowList: ['*:*'],
    lifetimeSeconds: 60,
    expiresAt,
  });
  return k.id;
}

it('deletes keys and codes that expired more than a day ago, as systemPurge, and keeps the rest', async () => {
  const now = new Date();
  const longGone = await key('long-gone', new Date(now.getTime() - PURGE_RETAIN_MS - 60_000));
  const justExpired = await key('just-expired', new Date(now.getTime() - 60_000));
  const live = await key('live', new Date(now.getTime() + 3_600_000));
  await kit.raw.insertOAuth2Code({
    codeHash: Buffer.alloc(32, 9),
    appId,
    userId: user.id,
    redirectUri: 'https://app.example/cb',
    codeChallenge: 'c'.repeat(43),
    resource: 'http://127.0.0.1:3000',
    scope: 'latchkey:all',
    lifetimeSeconds: 60,
  });
  await kit.handle.db
    .updateTable('oauth2_codes')
    .set({ expires_at: new Date(now.getTime() - PURGE_RETAIN_MS - 60_000) })
    .execute();

  const result = await purgeExpired(kit.authz, now);
  expect(result).toEqual({ apiKeys: 1, oauth2Grants: 1, signingKeys: 0 });
  expect(await kit.raw.getApiKeyById({ id: longGone })).toBeUndefined();
  expect(await kit.raw.getApiKeyById({ id: justExpired })).toBeDefined();
  expect(await kit.raw.getApiKeyById({ id: live })).toBeDefined();
  // Nothing left to do the second time (replicas racing each other find less, not errors).
  expect(await purgeExpired(kit.authz, now)).toEqual({ apiKeys: 0, oauth2Grants: 0, signingKeys: 0 });
});

it('withdraws a JWT signing key two days after the next one took over, never the newest', async () => {
  const now = new Date();
  const day = 86_400_000;
  const key = (generation: number, activatedDaysAgo: number) => ({
    kid: `purge-${generation}`,
    generation,
    alg: 'ES256' as const,
    publicJwk: { kty: 'EC' },
    privateJwk: '{}',
    activatesAt: new Date(now.getTime() - activatedDaysAgo * day),
  });
  // 1 retired 3 days ago (2 took over), 2 retired 1 day ago (3 took over), 3 signs now.
  for (const [generation, ago] of [
    [1, 10],
    [2, 3],
    [3, 1],
  ] as const) {
    await kit.raw.insertOAuth2SigningKey(key(generation, ago));
  }
  expect((await purgeExpired(kit.authz, now)).signingKeys).toBe(1);
  expect((await kit.raw.listOAuth2SigningKeys()).map((k) => k.kid)).toEqual(['purge-2', 'purge-3']);
  // Much later, with no newer key, the one that signs is still published.
  expect((await purgeExpired(kit.authz, new Date(now.getTime() + 30 * day))).signingKeys).toBe(1);
  expect((await kit.raw.listOAuth2SigningKeys()).map((k) => k.kid)).toEqual(['purge-3']);
});
