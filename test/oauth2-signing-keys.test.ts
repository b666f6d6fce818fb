import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemActors } from '../src/authz/index.ts';
import { Keyring } from '../src/dbcrypt/index.ts';
import { type JwtAlgorithm, SigningKeys } from '../src/oauth2/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// The signing-key schedule (src/oauth2/signing-keys.ts): the first key signs at once; the
// next is published a day before it signs; a retired key stays published; replicas that
// rotate together make one key; a key this replica cannot open never signs; a change of
// algorithm or of the dbcrypt key rolls to a new key on the same pre-published schedule.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ROTATION = 30 * DAY;

const db = useTestDatabase();
let kit: StoreKit;

beforeAll(() => {
  kit = storeKit(db.url);
});
afterAll(() => kit.close());
beforeEach(async () => {
  await sql`DELETE FROM oauth2_signing_keys`.execute(kit.handle.db);
});

/** A clock the test moves; it starts at the database's now, where created_at comes from. */
function clock() {
  let at = Date.now();
  return {
    now: () => new Date(at),
    advance: (ms: number) => {
      at += ms;
    },
  };
}

function replica(
  time: { now: () => Date },
  options: { keyring?: Keyring; algorithm?: JwtAlgorithm; rotationMs?: number } = {},
) {
  return new SigningKeys({
    store: kit.authz.as(systemActors.systemOAuth2),
    keyring: options.keyring ?? Keyring.empty,
    algorithm: options.algorithm ?? 'ES256',
    rotationMs: options.rotationMs ?? ROTATION,
    now: time.now,
  });
}
const rows = () => kit.raw.listOAuth2SigningKeys();
const kids = async (keys: SigningKeys) => (await keys.jwks()).keys.map((k) => k.kid);

describe('signing-key schedule', () => {
  it('publishes nothing until the first JWT; the first key signs at once', async () => {
    const time = clock();
    const keys = replica(time);
    expect(await keys.jwks()).toEqual({ keys: [] });
    expect(await rows()).toEqual([]);
    const first = await keys.signingKey();
    expect(first.generation).toBe(1);
    expect(await kids(keys)).toEqual([first.kid]);
  });

  it('publishes the next key a day before it signs, and keeps the old one published after', async () => {
    const time = clock();
    const keys = replica(time);
    const first = await keys.signingKey();
    time.advance(ROTATION - DAY - HOUR);
    expect((await keys.signingKey()).kid).toBe(first.kid);
    expect(await rows()).toHaveLength(1);

    // A day before the rotation: the next key is made and published, but does not sign yet.
    time.advance(2 * HOUR);
    expect((await keys.signingKey()).kid).toBe(first.kid);
    const [, next] = await rows();
    expect(next?.generation).toBe(2);
    expect(await kids(keys)).toEqual([first.kid, next?.kid]);
    expect(next?.activates_at.getTime()).toBeGreaterThanOrEqual(time.now().getTime() + DAY - 1000);

    // Its time comes: it signs, and the first stays published for tokens it signed.
    time.advance(DAY);
    expect((await keys.signingKey()).kid).toBe(next?.kid);
    expect(await kids(keys)).toEqual([first.kid, next?.kid]);
    expect(await rows()).toHaveLength(2);
  });

  it('makes one key per generation when replicas rotate at the same moment', async () => {
    const time = clock();
    const replicas = Array.from({ length: 6 }, () => replica(time));
    const signing = await Promise.all(replicas.map((r) => r.signingKey()));
    expect(new Set(signing.map((k) => k.kid)).size).toBe(1);
    time.advance(ROTATION);
    await Promise.all(replicas.map((r) => r.jwks()));
    expect((await rows()).map((r) => r.generation)).toEqual([1, 2]);
  });

  it('seals the private key with the dbcrypt key; a replica without it verifies but signs with a new key', async () => {
    const time = clock();
    const sealed = Keyring.from([randomBytes(32)]);
    const first = await replica(time, { keyring: sealed }).signingKey();
    const [row] = await rows();
    expect(row?.private_jwk).toMatch(/^dbcrypt:v1:/);
    expect(row?.private_jwk).not.toContain('"d"');

    // A replica whose ring lacks the key (it was removed after `dbcrypt rotate`): the old
    // key still verifies what it signed; signing moves to a key it can open, at once.
    time.advance(2 * 60_000);
    const other = replica(time, { keyring: Keyring.from([randomBytes(32)]) });
    expect((await other.verificationKey(first.kid))?.privateKey).toBeUndefined();
    const second = await other.signingKey();
    expect(second.kid).not.toBe(first.kid);
    expect(second.activatesAt.getTime()).toBeLessThanOrEqual(time.now().getTime());
    expect(await kids(other)).toEqual([first.kid, second.kid]);
  });

  it('rolls to a key sealed with the new primary after dbcrypt keys change, on the pre-published schedule', async () => {
    const time = clock();
    const oldKey = randomBytes(32);
    const first = await replica(time, { keyring: Keyring.from([oldKey]) }).signingKey();
    time.advance(2 * 60_000);
    const rotated = replica(time, { keyring: Keyring.from([randomBytes(32), oldKey]) });
    // Still signs with the old-sealed key (it can open it) while the new one is published.
    expect((await rotated.signingKey()).kid).toBe(first.kid);
    expect(await rows()).toHaveLength(2);
    time.advance(DAY);
    expect((await rotated.signingKey()).kid).not.toBe(first.kid);
  });

  it('rolls to a key of the configured algorithm (EdDSA) without a gap', async () => {
    const time = clock();
    const first = await replica(time).signingKey();
    time.advance(2 * 60_000);
    const eddsa = replica(time, { algorithm: 'EdDSA' });
    expect((await eddsa.signingKey()).kid).toBe(first.kid);
    time.advance(DAY);
    const next = await eddsa.signingKey();
    expect(next.alg).toBe('EdDSA');
    expect((await eddsa.jwks()).keys.at(-1)).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
  });

  it('does not let replicas that disagree add a key on every request', async () => {
    const time = clock();
    await replica(time).signingKey();
    time.advance(2 * 60_000);
    const eddsa = replica(time, { algorithm: 'EdDSA' });
    const es256 = replica(time, { algorithm: 'ES256' });
    for (let i = 0; i < 5; i++) {
      await eddsa.signingKey();
      await es256.signingKey();
      eddsa.invalidate();
      es256.invalidate();
    }
    // The EdDSA replica added its key; the ES256 one found a pending key and waited.
    expect(await rows()).toHaveLength(2);
  });
});
