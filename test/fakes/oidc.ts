import { createHash } from 'node:crypto';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { Grant } from './store.ts';
import type { FakeUser } from './types.ts';

export interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

let sharedKey: Promise<SigningKey> | undefined;

/** One RSA key per test process: generating one takes longer than the rest of a test. */
export function signingKey(): Promise<SigningKey> {
  sharedKey ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    return { privateKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
  })();
  return sharedKey;
}

export function discoveryDocument(issuer: string, urls: Record<string, string>): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: urls.authorize,
    token_endpoint: urls.token,
    userinfo_endpoint: urls.userinfo,
    jwks_uri: urls.jwks,
    revocation_endpoint: urls.revoke,
    device_authorization_endpoint: urls.device,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:device_code',
    ],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile', 'offline_access'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['iss', 'aud', 'sub', 'email', 'email_verified', 'name', 'preferred_username', 'nonce'],
  };
}

/** `at_hash`: the left half of SHA-256 of the access token (OIDC Core §3.1.3.6). */
function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

export async function signIdToken(options: {
  issuer: string;
  grant: Grant;
  user: FakeUser;
  accessToken: string;
  nowMs: number;
  ttlSeconds: number;
  /** Only the first id_token of a grant carries the authorize request's nonce. */
  withNonce: boolean;
}): Promise<string> {
  const { privateKey, publicJwk } = await signingKey();
  const iat = Math.floor(options.nowMs / 1000);
  const claims: Record<string, unknown> = {
    azp: options.grant.clientId,
    email: options.user.email,
    email_verified: options.user.emailVerified ?? true,
    name: options.user.name ?? options.user.login,
    preferred_username: options.user.login,
    at_hash: atHash(options.accessToken),
  };
  if (options.withNonce && options.grant.nonce !== undefined) claims.nonce = options.grant.nonce;
  const header =
    publicJwk.kid === undefined
      ? { alg: 'RS256', typ: 'JWT' }
      : { alg: 'RS256', typ: 'JWT', kid: publicJwk.kid };
  return new SignJWT(claims)
    .setProtectedHeader(header)
    .setIssuer(options.issuer)
    .setAudience(options.grant.clientId)
    .setSubject(options.user.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds)
    .sign(privateKey);
}
