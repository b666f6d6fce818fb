import { randomBytes, randomInt } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizingStore, systemActors } from '../src/authz/index.ts';
import { createStore, type User } from '../src/db/index.ts';
import {
  dbcryptStore,
  digestOf,
  ENCRYPTED_TABLES,
  type EncryptedTable,
  Keyring,
  keyDigest,
  runDbcrypt,
  TableCodec,
} from '../src/dbcrypt/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { runCli, spawnCli } from './kit/cli.ts';
import { createTestDatabase, type TestDatabase } from './kit/database.ts';
import { providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// `latchkey dbcrypt rotate | decrypt | delete` (DC-2) on a database with users of every
// status: encrypting what was plaintext, rotating, surviving a kill and a Ctrl-C mid-run,
// refusing a wrong key before touching anything, decrypting and deleting.

const links = ENCRYPTED_TABLES.find((t) => t.table === 'external_auth_links') as EncryptedTable;
const keys = { A: randomBytes(32), B: randomBytes(32), C: randomBytes(32), D: randomBytes(32) };
const b64 = (k: Buffer) => k.toString('base64');
const digest = (k: Buffer) => keyDigest(k);

interface Row {
  user_id: string;
  provider_id: string;
  oauth_access_token: string;
  oauth_refresh_token: string;
  oauth_refresh_failure_reason: string;
  oauth_expiry: Date | null;
}

describe('on a database with users of every status', () => {
  let db: TestDatabase;
  let kit: StoreKit;
  const original = new Map<string, { at: string; rt: string }>();
  const users: User[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    kit = storeKit(db.url, { encryptionKeys: [] });
    const make = async (name: string, setup?: (u: User) => Promise<unknown>, isSystem = false) => {
      const u = await kit.user(name, { isSystem });
      users.push(u);
      for (const provider of ['github', 'gitlab']) {
        const at = `at-${name}-${provider}-${randomBytes(6).toString('hex')}`;
        const rt = name === 'dormant' && provider === 'gitlab' ? '' : `rt-${name}-${provider}-x`;
        original.set(`${u.id}/${provider}`, { at, rt });
        await kit.raw.upsertExternalAuthLink({
          userId: u.id,
          providerId: provider,
          tokens: {
            accessToken: at,
            refreshToken: rt,
            expiry: new Date(Date.now() + 3600_000),
            issuedAt: new Date(),
            extra: {},
          },
        });
      }
      await setup?.(u);
    };
    await make('active');
    await make('suspended', (u) => kit.raw.updateUserStatus({ id: u.id, status: 'suspended' }));
    await make('dormant', (u) => kit.raw.updateUserStatus({ id: u.id, status: 'dormant' }));
    await make('deleted', (u) => kit.raw.softDeleteUser({ id: u.id }));
    await make('robot', undefined, true);
  });
  afterAll(async () => {
    await kit.close();
    await db.drop();
  });

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(['dbcrypt', ...args], { DATABASE_URL: db.url, ...env });
  const rows = () =>
    kit.handle.db
      .selectFrom('external_auth_links')
      .select([
        'user_id',
        'provider_id',
        'oauth_access_token',
        'oauth_refresh_token',
        'oauth_refresh_failure_reason',
        'oauth_expiry',
      ])
      .orderBy('user_id')
      .orderBy('provider_id')
      .execute() as Promise<Row[]>;
  /** Every row decrypted with `ring` equals what was linked; every value is under `under` (or ''). */
  const expectAll = async (ring: Buffer[], under: Buffer | 'plaintext') => {
    const codec = new TableCodec(links, Keyring.decryptOnly(ring));
    const all = await rows();
    expect(all).toHaveLength(10);
    for (const r of all) {
      const key = [r.user_id, r.provider_id];
      const want = original.get(key.join('/'));
      expect(codec.decrypt('oauth_access_token', key, r.oauth_access_token)).toBe(want?.at);
      expect(codec.decrypt('oauth_refresh_token', key, r.oauth_refresh_token)).toBe(want?.rt);
      for (const v of [r.oauth_access_token, r.oauth_refresh_token]) {
        if (v === '') continue;
        expect(digestOf(v) ?? 'plaintext').toBe(under === 'plaintext' ? 'plaintext' : digest(under));
      }
    }
  };
  const statusOf = async () =>
    Object.fromEntries((await kit.raw.listDbcryptKeys()).map((k) => [k.digest, k.status]));

  it('rotate with only --new-key encrypts every plaintext token, of every user, keeping empty ones empty', async () => {
    const res = await cli(['rotate', '--new-key', b64(keys.A)]);
    expect(res.stderr).toMatch(/^rotate: 0\/10 rows \(0%\)/m);
    expect(res.stderr).toMatch(/^rotate: done, 10\/10 rows \(100%\)/m);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`Rotated: 10 rows encrypted with key ${digest(keys.A)}; no key revoked.`);
    await expectAll([keys.A], keys.A);
    expect(await statusOf()).toEqual({ [digest(keys.A)]: 'active' });
  });

  it('a key that is not 32 bytes of base64 is a usage error (exit 2) naming the flag or variable', async () => {
    const before = await rows();
    const short = await cli(['rotate', '--new-key', b64(randomBytes(16)), '--old-keys', b64(keys.A)]);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--new-key: the key is not 32 bytes of base64');
    const env = await cli(['rotate', '--old-keys', b64(keys.A)], { LATCHKEY_DBCRYPT_NEW_KEY: 'not-a-key' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('LATCHKEY_DBCRYPT_NEW_KEY: the key is not 32 bytes of base64');
    const old = await cli(['rotate', '--new-key', b64(keys.B), '--old-keys', `${b64(keys.A)},zzz`]);
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('--old-keys: key 2 of 2 is not 32 bytes of base64');
    const decrypt = await cli(['decrypt', '--keys', 'x']);
    expect(decrypt.code).toBe(2);
    expect(decrypt.stderr).toContain('--keys');
    expect(await rows()).toEqual(before);
  });

  it('rotate without the key the data is under refuses before changing anything', async () => {
    const before = await rows();
    const res = await cli(['rotate', '--new-key', b64(keys.B)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(digest(keys.A));
    expect(res.stderr).toContain('Nothing was changed');
    expect(await rows()).toEqual(before);
    expect(await statusOf()).toEqual({ [digest(keys.A)]: 'active' });
  });

  it('killed at a random batch, a rerun completes: nothing lost, nothing encrypted twice', async () => {
    const all = await rows();
    const stuck = all[randomInt(2, all.length)] as Row;
    const lock = await holdRow(stuck);
    const run = spawnCli(
      ['dbcrypt', 'rotate', '--new-key', b64(keys.B), '--old-keys', b64(keys.A), '--batch-size', '2'],
      { DATABASE_URL: db.url },
    );
    await waitForLockWait(kit);
    run.child.kill('SIGKILL');
    await run.done;
    await lock.release();
    // Batches before the stuck one are under B, the rest still under A, every row readable.
    const partial = await rows();
    const under = partial.map((r) => digestOf(r.oauth_access_token));
    expect(under.filter((d) => d === digest(keys.B)).length).toBe(Math.floor(all.indexOf(stuck) / 2) * 2);
    await expectAllReadable([keys.A, keys.B]);
    expect((await statusOf())[digest(keys.A)]).toBe('active');

    const again = await cli([
      'rotate',
      '--new-key',
      b64(keys.B),
      '--old-keys',
      b64(keys.A),
      '--batch-size',
      '2',
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`revoked key ${digest(keys.A)}`);
    await expectAll([keys.B], keys.B);
    expect(await statusOf()).toEqual({ [digest(keys.A)]: 'revoked', [digest(keys.B)]: 'active' });
  });

  it('Ctrl-C stops after the batch in flight; the same command again finishes', async () => {
    const all = await rows();
    const stuck = all[randomInt(2, all.length - 2)] as Row;
    const lock = await holdRow(stuck);
    const run = spawnCli(
      ['dbcrypt', 'rotate', '--new-key', b64(keys.C), '--old-keys', b64(keys.B), '--batch-size', '2'],
      { DATABASE_URL: db.url },
    );
    await waitForLockWait(kit);
    run.child.kill('SIGINT');
    await run.waitForOutput(/stopping after this batch/);
    await lock.release();
    const stopped = await run.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('Run the same command again to finish');
    const partial = await rows();
    const done = partial.filter((r) => digestOf(r.oauth_access_token) === digest(keys.C)).length;
    // The stuck batch was finished, not abandoned, and nothing after it was started.
    expect(done).toBe((Math.floor(all.indexOf(stuck) / 2) + 1) * 2);
    expect((await statusOf())[digest(keys.B)]).toBe('active');

    const again = await cli(['rotate', '--new-key', b64(keys.C), '--old-keys', b64(keys.B)]);
    expect(again.code).toBe(0);
    await expectAll([keys.C], keys.C);
  });

  it('decrypt without the right key refuses before changing anything', async () => {
    const before = await rows();
    const res = await cli(['decrypt', '--keys', b64(keys.B)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(digest(keys.C));
    expect(res.stderr).toContain('Nothing was changed');
    expect(await rows()).toEqual(before);
  });

  it('decrypt turns every token back into plaintext and revokes the keys', async () => {
    const res = await cli(['decrypt', '--keys', b64(keys.C)], {});
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`revoked key ${digest(keys.C)}`);
    await expectAll([], 'plaintext');
    expect((await statusOf())[digest(keys.C)]).toBe('revoked');
  });

  it('delete asks first (without a terminal: --yes), then clears every encrypted token so users link again', async () => {
    expect((await cli(['rotate', '--new-key', b64(keys.D)])).code).toBe(0);
    // A server holding the key has a token cached when the tokens are deleted.
    const github = await startFakeProvider({ flavour: 'github' });
    const server = await startTestServer(db.url, {
      authenticate: testAuthenticator(kit),
      config: { externalTokenEncryptionKeys: [keys.D], externalAuth: [providerFor(github)] },
    });
    const active = users[0] as User;
    const tokenNow = () => server.request('/api/v1/external-auth/github/token', { headers: asUser(active) });
    try {
      expect((await tokenNow()).status).toBe(200);
      const before = await rows();
      const refused = await cli(['delete']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('Pass --yes');
      expect(await rows()).toEqual(before);

      const res = await cli(['delete', '--yes']);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('the encrypted tokens of 10 rows cleared');
      for (const r of await rows()) {
        expect(r).toMatchObject({
          oauth_access_token: '',
          oauth_refresh_token: '',
          oauth_refresh_failure_reason: 'encryption_key_deleted',
          oauth_expiry: new Date(0),
        });
      }
      expect(Object.values(await statusOf()).every((s) => s === 'revoked')).toBe(true);

      // The running server dropped its cached link (NOTIFY) and asks the user to link again.
      let answer = await tokenNow();
      for (let i = 0; i < 50 && answer.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 20));
        answer = await tokenNow();
      }
      expect(answer.status).toBe(409);
      expect(await answer.json()).toMatchObject({
        code: 'relink_required',
        detail: 'encryption_key_deleted',
      });
    } finally {
      await server.close();
      await github.close();
    }
    // A server started afterwards without keys serves too (nothing is encrypted any more).
    const plain = await startTestServer(db.url);
    await plain.close();
  });

  async function expectAllReadable(ring: Buffer[]) {
    const codec = new TableCodec(links, Keyring.decryptOnly(ring));
    for (const r of await rows()) {
      const key = [r.user_id, r.provider_id];
      expect(codec.decrypt('oauth_access_token', key, r.oauth_access_token)).toBe(
        original.get(key.join('/'))?.at,
      );
    }
  }

  async function holdRow(row: Row) {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('BEGIN');
    await client.query(
      'SELECT 1 FROM external_auth_links WHERE user_id = $1 AND provider_id = $2 FOR UPDATE',
      [row.user_id, row.provider_id],
    );
    return {
      release: async () => {
        await client.query('ROLLBACK');
        await client.end();
      },
    };
  }
});

describe('rotate while a server holding both keys refreshes tokens', () => {
  let db: TestDatabase;
  let kit: StoreKit;
  let github: FakeProvider;
  let server: TestServer;
  beforeAll(async () => {
    db = await createTestDatabase();
    kit = storeKit(db.url, { encryptionKeys: [keys.A] });
    github = await startFakeProvider({ flavour: 'github' });
    server = await startTestServer(db.url, {
      authenticate: testAuthenticator(kit),
      config: {
        rateLimitApi: 0,
        externalTokenEncryptionKeys: [keys.B, keys.A],
        externalAuth: [providerFor(github)],
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await github.close();
    await kit.close();
    await db.drop();
  });

  it('every caller gets its token, each link is refreshed once, and all ends under the new key', async () => {
    const people: User[] = [];
    for (let i = 0; i < 40; i++) {
      const u = await kit.user(`busy${i}`);
      await seedLink(kit.raw, github, { userId: u.id, expiresInMs: -1000 });
      people.push(u);
    }
    const store = authorizingStore(
      dbcryptStore(createStore(kit.handle.db, kit.handle.inTx), Keyring.empty),
    ).as(systemActors.systemDbcrypt);
    const before = github.stats.successfulRefreshes;
    const [rotated, ...answers] = await Promise.all([
      runDbcrypt({ kind: 'rotate', newKey: keys.B, oldKeys: [keys.A] }, { store, batchSize: 3 }),
      ...people.map((u) =>
        server.request('/api/v1/external-auth/github/token', { headers: asUser(u) }).then(async (r) => ({
          status: r.status,
          token: ((await r.json()) as { access_token: string }).access_token,
        })),
      ),
    ]);
    expect(rotated.interrupted).toBe(false);
    expect(answers.map((a) => a.status)).toEqual(people.map(() => 200));
    expect(github.stats.successfulRefreshes - before).toBe(people.length);
    expect(github.stats.refreshCalls).toBe(github.stats.successfulRefreshes);
    const ring = dbcryptStore(createStore(kit.handle.db, kit.handle.inTx), Keyring.from([keys.B]));
    for (const [i, u] of people.entries()) {
      const link = await ring.getExternalAuthLink({ userId: u.id, providerId: 'github' });
      expect(link?.oauth_access_token).toBe(answers[i]?.token);
    }
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM external_auth_links
      WHERE oauth_access_token NOT LIKE ${`dbcrypt:v1:${digest(keys.B)}:%`}`.execute(kit.handle.db);
    expect(rows[0]?.n).toBe(0);
  });
});

/** Resolves once some backend of the kit's database waits for a row lock. */
async function waitForLockWait(kit: StoreKit): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(kit.handle.db);
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('nothing waited for the lock');
}
