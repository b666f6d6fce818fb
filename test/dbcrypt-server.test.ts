import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/index.ts';
import type { User } from '../src/db/index.ts';
import { DbcryptRefusal, digestOf, keyDigest } from '../src/dbcrypt/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { runCli } from './kit/cli.ts';
import { createTestDatabase, type TestDatabase, useTestDatabase } from './kit/database.ts';
import { providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// A server with encryption keys (DC): it refuses to start on data it cannot decrypt
// (DC-3), answers a broken ciphertext with a clear 500 for that link only, and leaves no
// upstream token in plaintext anywhere in the database.

const A = randomBytes(32);
const B = randomBytes(32);

describe('start-up check (DC-3)', () => {
  let db: TestDatabase;
  let kit: StoreKit;
  let github: FakeProvider;
  beforeAll(async () => {
    db = await createTestDatabase();
    kit = storeKit(db.url, { encryptionKeys: [A] });
    github = await startFakeProvider({ flavour: 'github' });
    const user = await kit.user('holder');
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
  });
  afterAll(async () => {
    await kit.close();
    await github.close();
    await db.drop();
  });

  // Keys as configured; none at all when undefined (whatever the test project sets).
  const start = (keys: Buffer[] | undefined) =>
    startTestServer(db.url, { config: { externalTokenEncryptionKeys: keys } as Partial<Config> });
  const refusal = async (keys: Buffer[] | undefined) => {
    const err = await start(keys).then(
      async (s) => {
        await s.close();
        throw new Error('the server started');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DbcryptRefusal);
    return err as DbcryptRefusal;
  };
  const recorded = async () =>
    Object.fromEntries((await kit.raw.listDbcryptKeys()).map((k) => [k.digest, k.status]));

  it('refuses to start without the key the data needs, naming its digest and the fix', async () => {
    for (const keys of [undefined, [B]]) {
      const err = await refusal(keys);
      expect(err.code).toBe('key_missing');
      expect(err.digests).toEqual([keyDigest(A)]);
      expect(err.message).toContain(keyDigest(A));
      expect(err.message).toContain('LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS');
      expect(err.message).toContain('latchkey dbcrypt delete');
    }
  });

  it('starts with the key, and records the keys in use and the one it encrypts with', async () => {
    const server = await start([B, A]);
    await server.close();
    expect(await recorded()).toEqual({ [keyDigest(A)]: 'active', [keyDigest(B)]: 'active' });
  });

  it('refuses when data is encrypted with a revoked key, and when its own key is revoked', async () => {
    await kit.raw.revokeDbcryptKeys({ digests: [keyDigest(A)] });
    const inUse = await refusal([B, A]);
    expect(inUse.code).toBe('key_revoked');
    expect(inUse.message).toContain(keyDigest(A));
    expect(inUse.message).toContain('latchkey dbcrypt rotate');
    await kit.handle.db.deleteFrom('external_auth_links').execute();
    const primary = await refusal([A]);
    expect(primary.code).toBe('primary_revoked');
    expect(primary.message).toContain(keyDigest(A));
    // Held only to decrypt, a revoked key is fine (and logged as one to remove).
    const server = await start([B, A]);
    expect(server.logs.text()).toContain('was revoked; it only decrypts now');
    await server.close();
  });

  it('`latchkey server` exits 1 with the refusal, and 2 naming the variable for a bad key', async () => {
    const user = await kit.user('holder2');
    await kit.raw.upsertExternalAuthLink({
      userId: user.id,
      providerId: 'github',
      tokens: { accessToken: 'a', refreshToken: 'r', expiry: null, issuedAt: new Date(), extra: {} },
    });
    const env = { DATABASE_URL: db.url, LATCHKEY_HTTP_ADDRESS: '127.0.0.1:0', LATCHKEY_LOG_LEVEL: 'error' };
    const missing = await runCli(['server'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(keyDigest(A));
    const bad = await runCli(['server'], {
      ...env,
      LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS: randomBytes(16).toString('base64'),
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS');
    expect(bad.stderr).toContain('not 32 bytes of base64');
  });
});

describe('serving with keys', () => {
  const db = useTestDatabase();
  let kit: StoreKit;
  let github: FakeProvider;
  let gitlab: FakeProvider;
  let server: TestServer;
  beforeAll(async () => {
    kit = storeKit(db.url, { encryptionKeys: [A] });
    github = await startFakeProvider({ flavour: 'github' });
    gitlab = await startFakeProvider({ flavour: 'gitlab' });
    server = await startTestServer(db.url, {
      authenticate: testAuthenticator(kit),
      config: {
        rateLimitApi: 0,
        externalTokenEncryptionKeys: [A],
        externalAuth: [providerFor(github), providerFor(gitlab)],
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await github.close();
    await gitlab.close();
    await kit.close();
  });

  const tokenOf = (who: User, provider = 'github') =>
    server.request(`/api/v1/external-auth/${provider}/token`, { headers: asUser(who) });

  it('a tampered ciphertext is a 500 naming the problem for that link; everything else keeps working', async () => {
    const victim = await kit.user('victim');
    const bystander = await kit.user('bystander');
    await seedLink(kit.raw, github, { userId: victim.id, expiresInMs: 3_600_000 });
    const theirs = await seedLink(kit.raw, github, { userId: bystander.id, expiresInMs: 3_600_000 });
    const stored = await kit.handle.db
      .selectFrom('external_auth_links')
      .select('oauth_access_token')
      .where('user_id', '=', victim.id)
      .executeTakeFirstOrThrow();
    const value = stored.oauth_access_token;
    await kit.handle.db
      .updateTable('external_auth_links')
      .set({ oauth_access_token: flip(value, value.length - 10) })
      .where('user_id', '=', victim.id)
      .execute();

    const res = await tokenOf(victim);
    expect(res.status).toBe(500);
    const body = (await res.json()) as { message: string; detail: string; code: string };
    expect(body.code).toBe('dbcrypt_tampered');
    expect(body.message).toBe('A stored upstream token cannot be decrypted.');
    expect(body.detail).toContain('external_auth_links.oauth_access_token failed authentication');
    expect(JSON.stringify(body)).not.toContain(value.slice(30));
    expect(server.logs.text()).toContain('stored secret cannot be decrypted');

    // The same server goes on serving, the victim's list included.
    expect((await tokenOf(victim)).status).toBe(500);
    const ok = await tokenOf(bystander);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { access_token: string }).access_token).toBe(theirs.accessToken);
    const list = await server.request('/api/v1/external-auth', { headers: asUser(victim) });
    expect(list.status).toBe(200);
    // Unlinking clears it (revocation upstream is skipped: there is no token to send).
    const unlink = await server.request('/api/v1/external-auth/github', {
      method: 'DELETE',
      headers: asUser(victim),
    });
    expect(unlink.status).toBeLessThan(300);
    expect((await tokenOf(victim)).status).toBe(404);
  });

  it('with keys set, no upstream token is stored in plaintext anywhere in the database', async () => {
    const seen = new Set<string>();
    const user = await kit.user('scanned');
    // Linked through the browser flow of the real server…
    for (const provider of ['github', 'gitlab']) {
      const start = await server.request(`/external-auth/${provider}/link`, {
        headers: asUser(user),
        redirect: 'manual',
      });
      const upstream = await fetch(start.headers.get('location') as string, { redirect: 'manual' });
      const callback = new URL(upstream.headers.get('location') as string);
      const done = await server.request(`${callback.pathname}${callback.search}`, {
        headers: asUser(user),
        redirect: 'manual',
      });
      expect([302, 303]).toContain(done.status);
    }
    // …refreshed by it (the refresh token rotates, the new pair is written)…
    await kit.handle.db
      .updateTable('external_auth_links')
      .set({ oauth_expiry: new Date(Date.now() - 1000) })
      .where('user_id', '=', user.id)
      .execute();
    for (const provider of ['github', 'gitlab']) {
      const res = await tokenOf(user, provider);
      expect(res.status).toBe(200);
      seen.add(((await res.json()) as { access_token: string }).access_token);
    }
    // …and one that failed for good (refresh token cleared to '').
    const failed = await kit.user('failed');
    const dead = await seedLink(kit.raw, github, { userId: failed.id, expiresInMs: -1000 });
    github.revokeAll(github.users[0]?.login as string);
    expect((await tokenOf(failed)).status).toBe(409);
    seen.add(dead.accessToken).add(dead.refreshToken);

    // Every token the database holds, as the store decrypts it.
    // (Every link but the one the previous test broke on purpose.)
    const links = await kit.handle.db
      .selectFrom('external_auth_links')
      .innerJoin('users', 'users.id', 'external_auth_links.user_id')
      .select(['user_id', 'provider_id'])
      .where('users.username', '<>', 'victim')
      .execute();
    for (const l of links) {
      const link = await kit.raw.getExternalAuthLink({ userId: l.user_id, providerId: l.provider_id });
      for (const t of [link?.oauth_access_token, link?.oauth_refresh_token]) if (t) seen.add(t);
    }
    expect(seen.size).toBeGreaterThanOrEqual(8);
    expect(
      (await kit.raw.getExternalAuthLink({ userId: failed.id, providerId: 'github' }))?.oauth_refresh_token,
    ).toBe('');

    const hits = await scan([...seen]);
    expect(hits).toEqual([]);
    // The scan does find what is there: the users' emails, and the ciphertexts' key.
    expect(await scan([user.email])).toContain(`users.email: ${user.email}`);
    expect(
      (await scan([`dbcrypt:v1:${keyDigest(A)}:`])).filter((h) => h.startsWith('external_auth_links.'))
        .length,
    ).toBeGreaterThan(0);
    const raw = await kit.handle.db.selectFrom('external_auth_links').selectAll().execute();
    for (const row of raw) {
      for (const v of [row.oauth_access_token, row.oauth_refresh_token]) {
        expect(v === '' || digestOf(v) === keyDigest(A)).toBe(true);
      }
    }
    // Nor does any token reach the log.
    const logs = server.logs.text();
    for (const t of seen) expect(logs).not.toContain(t);
  });

  /** `table.column: needle` for each text-like column of each table that contains a needle. */
  async function scan(needles: string[]): Promise<string[]> {
    const { rows: columns } = await sql<{ table_name: string; column_name: string }>`
      SELECT c.table_name, c.column_name FROM information_schema.columns c
      JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
        AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')
             OR c.data_type = 'ARRAY')`.execute(kit.handle.db);
    expect(columns.length).toBeGreaterThan(20);
    const hits: string[] = [];
    for (const { table_name, column_name } of columns) {
      const { rows } = await sql<{ needle: string }>`
        SELECT DISTINCT n AS needle FROM ${sql.table(table_name)},
          unnest(${needles}::text[]) AS n
        WHERE position(n IN encode(convert_to(${sql.ref(column_name)}::text, 'UTF8'), 'escape')) > 0`.execute(
        kit.handle.db,
      );
      for (const r of rows) hits.push(`${table_name}.${column_name}: ${r.needle}`);
    }
    return hits;
  }
});

/** The value with one base64url character changed (one that carries ciphertext bits). */
function flip(value: string, at: number): string {
  return `${value.slice(0, at)}${value[at] === 'A' ? 'B' : 'A'}${value.slice(at + 1)}`;
}
