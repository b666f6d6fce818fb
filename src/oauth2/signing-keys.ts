import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Store } from '../db/index.ts';
import type { OAuth2SigningKey } from '../db/schema.ts';
import { digestOf, isEncrypted, type Keyring, openValue, sealValue } from '../dbcrypt/index.ts';

// The keys that sign JWT access tokens (RFC 9068), shared by every replica through the
// oauth2_signing_keys table. One key signs at a time; the schedule is:
//
//   created ──(prepublish)──▶ activates: signs ──(rotation)──▶ next key activates
//      │                                                            │
//      └──────────── published at /.well-known/jwks.json ───────────┴──(until purged)──▶
//
// A key is published from the moment it exists, a day (at most half the rotation period)
// BEFORE it signs anything, so a resource server that caches the key set already holds it
// when the first token signed with it arrives. It keeps being published after the next key
// takes over, until the purge removes it two days later — longer than any access token
// lives (at most 24 h) — so no valid token is ever signed by a key that has been withdrawn.
//
// Every replica decides for itself when the next key is due (the rows say it, not a
// leader). Replicas deciding at once insert the same generation; the unique generation
// lets one in and the others read it back. The decision is taken when a token is signed
// and when the keys are read for the key set, so an idle server rotates on its first use.
//
// The private half is sealed with dbcrypt's primary key when one is configured
// (LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS), bound to its kid. A key whose private half
// this replica cannot open (its dbcrypt key was removed) never signs again, but its public
// half still verifies what it signed; a key sealed with anything but the current primary
// (or stored in clear while encryption is on, or made for another algorithm) is replaced on
// the normal pre-published schedule. So `dbcrypt rotate` and a change of algorithm need no
// step of their own: the signing keys follow within a day.

export const JWT_ALGORITHMS = ['ES256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** How long a retired key stays published: past the longest access-token lifetime (24 h). */
export const RETIRED_KEY_RETENTION_MS = 2 * 86_400_000;
const PREPUBLISH_MAX_MS = 86_400_000;
/** How long the key set read from the database is trusted before it is read again. */
const RELOAD_AFTER_MS = 60_000;
/** An unknown kid at verification reads the keys again, at most this often. */
const UNKNOWN_KID_RELOAD_MS = 10_000;
/** Replicas add at most one key a minute between them (see #due). */
const MIN_KEY_INTERVAL_MS = 60_000;

export interface SigningKeyOptions {
  /** Bound to systemOAuth2. */
  readonly store: Store;
  readonly keyring: Keyring;
  readonly algorithm: JwtAlgorithm;
  readonly rotationMs: number;
  readonly now?: () => Date;
}

/** A key as this replica holds it. */
export interface SigningKey {
  readonly kid: string;
  readonly generation: number;
  readonly alg: JwtAlgorithm;
  readonly activatesAt: Date;
  readonly createdAt: Date;
  /** The public JWK as published (kid, alg, use). */
  readonly jwk: JWK;
  readonly publicKey: CryptoKey;
  /** Undefined when this replica cannot open the private half. */
  readonly privateKey: CryptoKey | undefined;
  /** The dbcrypt key digest the private half is sealed with; undefined: stored in clear. */
  readonly sealedWith: string | undefined;
}

const CONTEXT = (kid: string) => ['oauth2_signing_keys', 'private_jwk', kid].join('\u0000');

export class SigningKeys {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #algorithm: JwtAlgorithm;
  readonly #rotationMs: number;
  readonly #prepublishMs: number;
  readonly #now: () => Date;
  #keys: readonly SigningKey[] = [];
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<readonly SigningKey[]> | undefined;
  #rotating: Promise<void> | undefined;
  #unknownKidAt = Number.NEGATIVE_INFINITY;

  constructor(options: SigningKeyOptions) {
    this.#store = options.store;
    this.#keyring = options.keyring;
    this.#algorithm = options.algorithm;
    this.#rotationMs = options.rotationMs;
    this.#prepublishMs = Math.min(PREPUBLISH_MAX_MS, options.rotationMs / 2);
    this.#now = options.now ?? (() => new Date());
  }

  /** The key to sign with now; makes the first key, or the next one when it is due. */
  async signingKey(): Promise<SigningKey & { privateKey: CryptoKey }> {
    const fresh = await this.#fresh();
    const keys = this.#due(fresh) ? await this.#rotate(fresh) : fresh;
    const active = this.#active(keys);
    if (active?.privateKey) return active as SigningKey & { privateKey: CryptoKey };
    // #rotate made a key that signs at once whenever no active key could sign; reaching
    // here means the database refused it, which the caller reports as a server error.
    throw new Error('no signing key is available');
  }

  /** The public key for `kid`, reading the keys again (rate-limited) when it is unknown. */
  async verificationKey(kid: string): Promise<SigningKey | undefined> {
    const keys = await this.#fresh();
    const known = keys.find((k) => k.kid === kid);
    if (known) return known;
    const now = this.#now().getTime();
    if (now - this.#unknownKidAt < UNKNOWN_KID_RELOAD_MS) return undefined;
    this.#unknownKidAt = now;
    return (await this.#load()).find((k) => k.kid === kid);
  }

  /** The JWK Set (RFC 7517 §5) resource servers verify with; starts the next key when due. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const fresh = await this.#fresh();
    const keys = fresh.length > 0 && this.#due(fresh) ? await this.#rotate(fresh) : fresh;
    return { keys: keys.map((k) => k.jwk) };
  }

  /** Forgets what was read, so the next use reads the table again. */
  invalidate(): void {
    this.#loadedAt = Number.NEGATIVE_INFINITY;
  }

  /** The newest generation that has activated and can sign. */
  #active(keys: readonly SigningKey[]): SigningKey | undefined {
    const now = this.#now().getTime();
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as SigningKey;
      if (key.activatesAt.getTime() <= now) return key;
    }
    return undefined;
  }

  /** Whether the next generation should be made now. */
  #due(keys: readonly SigningKey[]): boolean {
    const newest = keys.at(-1);
    if (!newest) return true;
    const now = this.#now().getTime();
    // One new key a minute at most: replicas that disagree (one cannot open what another
    // sealed, or they are configured with different algorithms during a rolling change)
    // must not take turns inserting generations on every request.
    if (now - newest.createdAt.getTime() < MIN_KEY_INTERVAL_MS) return false;
    if (!this.#active(keys)?.privateKey) return true;
    // The next key is already published and waiting for its turn.
    if (newest.activatesAt.getTime() > now) return false;
    if (newest.alg !== this.#algorithm || newest.sealedWith !== this.#keyring.primary?.digest) return true;
    return now >= newest.activatesAt.getTime() + this.#rotationMs - this.#prepublishMs;
  }

  /** Makes the next key (once, however many callers ask at once); the keys as read after. */
  async #rotate(keys: readonly SigningKey[]): Promise<readonly SigningKey[]> {
    this.#rotating ??= this.#makeNext(keys).finally(() => {
      this.#rotating = undefined;
    });
    await this.#rotating;
    return this.#keys;
  }

  async #makeNext(keys: readonly SigningKey[]): Promise<void> {
    const now = this.#now().getTime();
    const newest = keys.at(-1);
    // With a key that can sign now, the next is published first and signs later; with
    // none (the first key, or the active one cannot be opened here) it signs at once:
    // resource servers fetch the key set again when they meet an unknown kid.
    const canSign = this.#active(keys)?.privateKey !== undefined;
    const activatesAt = canSign
      ? new Date(Math.max(now + this.#prepublishMs, newest?.activatesAt.getTime() ?? 0))
      : new Date(now);
    const pair = await generateKeyPair(this.#algorithm, { extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = JSON.stringify(await exportJWK(pair.privateKey));
    const primary = this.#keyring.primary;
    await this.#store.insertOAuth2SigningKey({
      kid,
      generation: (newest?.generation ?? 0) + 1,
      alg: this.#algorithm,
      publicJwk,
      privateJwk: primary ? sealValue(primary, privateJwk, CONTEXT(kid)) : privateJwk,
      activatesAt,
    });
    // Ours or the generation another replica inserted first: read what is there.
    await this.#load();
  }

  async #fresh(): Promise<readonly SigningKey[]> {
    if (this.#now().getTime() - this.#loadedAt < RELOAD_AFTER_MS) return this.#keys;
    return this.#load();
  }

  #load(): Promise<readonly SigningKey[]> {
    this.#loading ??= (async () => {
      try {
        const rows = await this.#store.listOAuth2SigningKeys();
        const previous = new Map(this.#keys.map((k) => [k.kid, k]));
        this.#keys = await Promise.all(rows.map((row) => previous.get(row.kid) ?? this.#parse(row)));
        this.#loadedAt = this.#now().getTime();
        return this.#keys;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  async #parse(row: OAuth2SigningKey): Promise<SigningKey> {
    const alg = row.alg;
    const jwk: JWK = { ...(row.public_jwk as JWK), kid: row.kid, alg, use: 'sig' };
    const publicKey = (await importJWK(jwk, alg)) as CryptoKey;
    let privateKey: CryptoKey | undefined;
    let sealedWith: string | undefined;
    try {
      const sealed = isEncrypted(row.private_jwk);
      const text = sealed
        ? openValue(
            row.private_jwk,
            (d) => this.#keyring.get(d),
            'oauth2_signing_keys.private_jwk',
            CONTEXT(row.kid),
          )
        : row.private_jwk;
      if (sealed) sealedWith = digestOf(row.private_jwk);
      privateKey = (await importJWK(JSON.parse(text) as JWK, alg)) as CryptoKey;
    } catch {
      // Sealed with a key this replica does not hold (or damaged): it verifies, never signs.
      privateKey = undefined;
    }
    return {
      kid: row.kid,
      generation: row.generation,
      alg,
      activatesAt: row.activates_at,
      createdAt: row.created_at,
      jwk,
      publicKey,
      privateKey,
      sealedWith,
    };
  }
}
