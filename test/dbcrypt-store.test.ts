import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Database, type LinkTokens, type User } from '../src/db/index.ts';
import {
  DbcryptError,
  dbcryptStore,
  digestOf,
  ENCRYPTED_TABLES,
  type EncryptedTable,
  Keyring,
  keyDigest,
  TableCodec,
} from '../src/dbcrypt/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// The store decorator (DC-1): transparent to callers, '' kept as '', values bound to their
// row, undecryptable values an error for that row only, and the optimistic refresh-token
// update (EA-3) still exactly-once with ciphertexts that never repeat.

const db = useTestDatabase();
const A = randomBytes(32);
const B = randomBytes(32);
let kit: StoreKit;
let user: User;
const links = ENCRYPTED_TABLES.find((t) => t.table === 'external_auth_links') as EncryptedTable;

beforeAll(() => {
  kit = storeKit(db.url, { encryptionKeys: [A] });
});
afterAll(() => kit.close());

let n = 0;
beforeEach(async () => {
  user = await kit.user(`crypt${++n}`);
});

const tokens = (at: string, rt: string): LinkTokens => ({
  accessToken: at,
  refreshToken: rt,
  expiry: new Date(Date.now() + 3600_000),
  issuedAt: new Date(),
  extra: {},
});
const key = () => ({ userId: user.id, providerId: 'github' });
/** The row as PostgreSQL holds it. */
const stored = (userId = user.id, providerId = 'github') =>
  kit.handle.db
    .selectFrom('external_auth_links')
    .selectAll()
    .where('user_id', '=', userId)
    .where('provider_id', '=', providerId)
    .executeTakeFirstOrThrow();
const setStored = (values: Record<string, string>, userId = user.id) =>
  kit.handle.db.updateTable('external_auth_links').set(values).where('user_id', '=', userId).execute();
const decryptError = (fn: () => unknown): DbcryptError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof DbcryptError) return err;
    throw err;
  }
  throw new Error('expected a DbcryptError');
};

describe('transparent encryption', () => {
  it('stores both tokens encrypted with the first key, returns plaintext from every read', async () => {
    const written = await kit.raw.upsertExternalAuthLink({ ...key(), tokens: tokens('at-1', 'rt-1') });
    expect(written).toMatchObject({ oauth_access_token: 'at-1', oauth_refresh_token: 'rt-1' });
    const row = await stored();
    expect(digestOf(row.oauth_access_token)).toBe(keyDigest(A));
    expect(digestOf(row.oauth_refresh_token)).toBe(keyDigest(A));
    expect(JSON.stringify(row)).not.toMatch(/at-1|rt-1/);
    expect(await kit.raw.getExternalAuthLink(key())).toMatchObject({ oauth_access_token: 'at-1' });
    expect(await kit.raw.listExternalAuthLinksOfUser({ userId: user.id })).toMatchObject([
      { oauth_refresh_token: 'rt-1' },
    ]);
    expect(await kit.raw.deleteExternalAuthLink(key())).toMatchObject({ oauth_access_token: 'at-1' });
  });

  it('keeps the empty refresh token empty, written and read', async () => {
    await kit.raw.upsertExternalAuthLink({ ...key(), tokens: tokens('at-1', '') });
    expect((await stored()).oauth_refresh_token).toBe('');
    expect((await kit.raw.getExternalAuthLink(key()))?.oauth_refresh_token).toBe('');
  });

  it('reads plaintext left from before encryption, and encrypts it at the next write', async () => {
    await kit.raw.upsertExternalAuthLink({ ...key(), tokens: tokens('x', 'y') });
    await setStored({ oauth_access_token: 'legacy-at', oauth_refresh_token: 'legacy-rt' });
    expect(await kit.raw.getExternalAuthLink(key())).toMatchObject({ oauth_access_token: 'legacy-at' });
    expect(
      await kit.raw.updateExternalAuthLinkRefreshToken({
        ...key(),
        oldRefreshToken: 'legacy-rt',
        tokens: tokens('at-2', 'rt-2'),
      }),
    ).toBe(true);
    expect(digestOf((await stored()).oauth_refresh_token)).toBe(keyDigest(A));
  });

  it('decrypts with every key of the ring and encrypts with the first', async () => {
    const old = storeKit(db.url, { encryptionKeys: [B] });
    try {
      await old.raw.upsertExternalAuthLink({ ...key(), tokens: tokens('at-b', 'rt-b') });
      const both = dbcryptStore(plainStore(), Keyring.from([A, B]));
      expect((await both.getExternalAuthLink(key()))?.oauth_access_token).toBe('at-b');
      expect(
        await both.updateExternalAuthLinkRefreshToken({
          ...key(),
          oldRefreshToken: 'rt-b',
          tokens: tokens('a', 'r'),
        }),
      ).toBe(true);
      expect(digestOf((await stored()).oauth_access_token)).toBe(keyDigest(A));
    } finally {
      await old.close();
    }
  });
});

describe('values that cannot be decrypted', () => {
  beforeEach(async () => {
    await kit.raw.upsertExternalAuthLink({ ...key(), tokens: tokens('at-1', 'rt-1') });
  });

  it('a tampered ciphertext is an error for that value only, never its text', async () => {
    const row = await stored();
    const body = row.oauth_access_token;
    const flipped = `${body.slice(0, -3)}${body.at(-3) === 'A' ? 'B' : 'A'}${body.slice(-2)}`;
    await setStored({ oauth_access_token: flipped });
    const link = await kit.raw.getExternalAuthLink(key());
    expect(link?.oauth_refresh_token).toBe('rt-1');
    expect(link?.oauth_expiry).toBeInstanceOf(Date);
    const err = decryptError(() => link?.oauth_access_token);
    expect(err.code).toBe('tampered');
    expect(err.message).toContain('external_auth_links.oauth_access_token');
    // Lists still work: the broken value throws only when read.
    expect(await kit.raw.listExternalAuthLinksOfUser({ userId: user.id })).toHaveLength(1);
  });

  it('ciphertext moved to another user, or to the other column, does not decrypt', async () => {
    const mallory = await kit.user(`mallory${n}`);
    await kit.raw.upsertExternalAuthLink({
      userId: mallory.id,
      providerId: 'github',
      tokens: tokens('m-at', 'm-rt'),
    });
    const victim = await stored();
    await setStored({ oauth_access_token: victim.oauth_access_token }, mallory.id);
    const theirs = await kit.raw.getExternalAuthLink({ userId: mallory.id, providerId: 'github' });
    expect(decryptError(() => theirs?.oauth_access_token).code).toBe('tampered');
    await setStored({ oauth_access_token: victim.oauth_refresh_token });
    const swapped = await kit.raw.getExternalAuthLink(key());
    expect(decryptError(() => swapped?.oauth_access_token).code).toBe('tampered');
  });

  it('a value under a key this process lacks names the key; with no keys it is still refused', async () => {
    for (const ring of [Keyring.from([B]), Keyring.empty]) {
      const link = await dbcryptStore(plainStore(), ring).getExternalAuthLink(key());
      const err = decryptError(() => link?.oauth_access_token);
      expect(err.code).toBe('key_missing');
      expect(err.digest).toBe(keyDigest(A));
    }
  });
});

describe('the optimistic refresh-token update through encryption (EA-3)', () => {
  beforeEach(async () => {
    await kit.raw.upsertExternalAuthLink({ ...key(), tokens: tokens('at-1', 'rt-1') });
  });

  it('compares the plaintext: the spent token wins once, a stale one never', async () => {
    const save = (old: string, at: string) =>
      kit.raw.updateExternalAuthLinkRefreshToken({
        ...key(),
        oldRefreshToken: old,
        tokens: tokens(at, `${at}-rt`),
      });
    expect(await save('rt-1', 'at-2')).toBe(true);
    expect(await save('rt-1', 'at-3')).toBe(false);
    expect(await save('nope', 'at-3')).toBe(false);
    expect((await kit.raw.getExternalAuthLink(key()))?.oauth_access_token).toBe('at-2');
  });

  it('records a permanent failure by clearing the token to an empty string', async () => {
    const fail = (old: string) =>
      kit.raw.updateExternalAuthLinkRefreshFailure({
        ...key(),
        oldRefreshToken: old,
        reason: 'bad_refresh_token',
      });
    expect(await fail('other')).toBe(false);
    expect(await fail('rt-1')).toBe(true);
    expect((await stored()).oauth_refresh_token).toBe('');
    expect(await fail('')).toBe(false);
    expect(await kit.raw.getExternalAuthLink(key())).toMatchObject({
      oauth_refresh_token: '',
      oauth_refresh_failure_reason: 'bad_refresh_token',
      oauth_access_token: 'at-1',
    });
  });

  it('50 racing savers of the same spent token: exactly one wins, every time', async () => {
    for (let round = 0; round < 20; round++) {
      const old = `rt-round-${round}`;
      await kit.raw.upsertExternalAuthLink({ ...key(), tokens: tokens('at', old) });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          kit.raw.updateExternalAuthLinkRefreshToken({
            ...key(),
            oldRefreshToken: old,
            tokens: tokens(`at-${i}`, `rt-${i}`),
          }),
        ),
      );
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(await kit.raw.getExternalAuthLink(key())).toMatchObject({
        oauth_access_token: `at-${winners[0]}`,
        oauth_refresh_token: `rt-${winners[0]}`,
      });
    }
  });

  it('a save racing a re-encryption of its row (rotate) still lands', async () => {
    // A rotate batch holds the row locked and re-encrypts it under B; the save reads the old
    // ciphertext, blocks on the lock, finds the ciphertext changed, re-reads the same token
    // under B, and swaps again.
    const both = dbcryptStore(plainStore(), Keyring.from([A, B]));
    const underB = new TableCodec(links, Keyring.from([B, A]));
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const rotating = kit.handle.db.transaction().execute(async (tx) => {
      const store = plainStore(tx);
      const rows = await store.lockSecretRows({
        table: links,
        match: { like: '%' },
        after: undefined,
        limit: 1000,
      });
      const mine = rows.filter((r) => r.key[0] === user.id);
      await store.updateSecretRows({
        table: links,
        rows: mine.map((r) => ({
          key: r.key,
          values: Object.fromEntries(
            links.columns.map((c) => [
              c,
              underB.encrypt(c, r.key, underB.decrypt(c, r.key, r.values[c] ?? '')),
            ]),
          ),
        })),
      });
      locked();
      await held;
    });
    await isLocked;
    const saving = both.updateExternalAuthLinkRefreshToken({
      ...key(),
      oldRefreshToken: 'rt-1',
      tokens: tokens('at-2', 'rt-2'),
    });
    await waitForLockWait();
    release();
    await rotating;
    expect(await saving).toBe(true);
    expect(await both.getExternalAuthLink(key())).toMatchObject({
      oauth_access_token: 'at-2',
      oauth_refresh_token: 'rt-2',
    });
  });
});

/** The raw store without dbcrypt: what the decorator wraps. */
function plainStore(executor: Kysely<Database> = kit.handle.db) {
  return createStore(executor, kit.handle.inTx);
}

/** Resolves once some backend of this database waits for a row lock. */
async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(kit.handle.db);
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('nothing waited for the lock');
}
