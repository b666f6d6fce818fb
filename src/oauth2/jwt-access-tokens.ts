import { decodeProtectedHeader, errors, type JWK, jwtVerify, SignJWT } from 'jose';
import type { OAuth2App } from '../db/index.ts';
import { isWithin, normaliseResource } from './resource.ts';
import { JWT_ALGORITHMS, type SigningKeys } from './signing-keys.ts';

// RFC 9068 JWT access tokens. A JWT is another ENCODING of the same access token, not a
// second kind of token: the API key row behind it exists either way (jti = key id). So
// revocation, introspection, refresh-token families, the grace window and the key cache
// treat both alike, and Latchkey itself still checks the row on every request — a
// revoked JWT stops working here at once. A third-party resource server that verifies the
// JWT offline trusts it until `exp` (keep access tokens short, or have it introspect).
//
// Which tokens are JWTs: those whose audience is within a configured resource
// (LATCHKEY_OAUTH2_JWT_RESOURCES, `*` for all) — the resource server decides whether it
// verifies JWTs — and every token of an app an admin set to `access_token_format: jwt`.

/** RFC 9068 §2.1: the media type in the `typ` header, so an ID token cannot pass as one. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

const COMPACT_JWS = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AccessTokenClaims {
  /** The API key id behind the token. */
  readonly jti: string;
  /** The user the token acts for. */
  readonly sub: string;
  readonly clientId: string;
  readonly audience: string;
  readonly scope: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export type JwtKeyId = { readonly id: string } | { readonly refused: 'expired' | 'invalid' };
const INVALID: JwtKeyId = { refused: 'invalid' };

export type JwtResources = '*' | readonly string[];

export interface JwtAccessTokenOptions {
  readonly issuer: string;
  readonly keys: SigningKeys;
  /** LATCHKEY_OAUTH2_JWT_RESOURCES. */
  readonly resources: JwtResources;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

export class JwtAccessTokens {
  readonly #issuer: string;
  readonly #keys: SigningKeys;
  readonly #resources: '*' | readonly string[];

  constructor(options: JwtAccessTokenOptions) {
    this.#issuer = options.issuer;
    this.#keys = options.keys;
    this.#resources =
      options.resources === '*'
        ? '*'
        : options.resources.map((r) => normaliseResource(r)).filter((r): r is string => r !== undefined);
  }

  /**
   * Whether some access token of `app` may be a JWT (the answer for a given audience is
   * wanted()). The one-statement grants, which learn the audience only as they write, are
   * used only when it may not: a JWT is signed BEFORE anything is written.
   */
  mayWant(app: Pick<OAuth2App, 'access_token_format'>): boolean {
    return app.access_token_format === 'jwt' || this.#resources === '*' || this.#resources.length > 0;
  }

  /** Whether the access token `app` gets for `audience` is a JWT. */
  wanted(app: Pick<OAuth2App, 'access_token_format'>, audience: string): boolean {
    if (app.access_token_format === 'jwt' || this.#resources === '*') return true;
    return this.#resources.some((resource) => isWithin(audience, resource));
  }

  /** The key set resource servers verify these tokens with (/.well-known/jwks.json). */
  jwks(): Promise<{ keys: JWK[] }> {
    return this.#keys.jwks();
  }

  /** Signs the token (RFC 9068 §2.2 claims, `typ: at+jwt`) with the current signing key. */
  async sign(claims: AccessTokenClaims): Promise<string> {
    const key = await this.#keys.signingKey();
    return new SignJWT({ client_id: claims.clientId, scope: claims.scope })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYP })
      .setIssuer(this.#issuer)
      .setSubject(claims.sub)
      .setAudience(claims.audience)
      .setJti(claims.jti)
      .setIssuedAt(seconds(claims.issuedAt))
      .setExpirationTime(seconds(claims.expiresAt))
      .sign(key.privateKey);
  }

  /**
   * The key id (jti) of a JWT access token this server signed; `refused` for a JWT it did
   * not sign or that has expired (unknown key, bad signature, wrong `typ` or issuer);
   * undefined when `token` is no JWT at all. Reading the keys can fail (the database):
   * that throws, and the caller answers 500.
   */
  async keyId(token: string): Promise<JwtKeyId | undefined> {
    if (!looksLikeJwt(token)) return undefined;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return INVALID;
    }
    if (typeof kid !== 'string') return INVALID;
    const key = await this.#keys.verificationKey(kid);
    if (!key) return INVALID;
    try {
      const { payload } = await jwtVerify(token, key.publicKey, {
        issuer: this.#issuer,
        typ: ACCESS_TOKEN_TYP,
        algorithms: [...JWT_ALGORITHMS],
        requiredClaims: ['jti', 'sub', 'aud', 'exp', 'iat', 'client_id'],
      });
      return typeof payload.jti === 'string' ? { id: payload.jti } : INVALID;
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { refused: 'expired' };
      if (err instanceof errors.JOSEError) return INVALID;
      throw err;
    }
  }
}

/** A compact JWS (three base64url parts, a JSON header): worth verifying. */
export function looksLikeJwt(token: string): boolean {
  return COMPACT_JWS.test(token);
}
