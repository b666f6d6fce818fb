import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateClient, type ProviderContext, upstreamLatency } from './context.ts';
import { DEVICE_CODE_GRANT, deviceCodeGrant } from './device.ts';
import { TokenError } from './errors.ts';
import { applyFault } from './faults.ts';
import { readParams, safeEqual, sendOAuth } from './http.ts';
import { signIdToken } from './oidc.ts';
import type { Issued } from './store.ts';

const ID_TOKEN_TTL_SECONDS = 3600;

/**
 * POST tokenUrl: count → hold (refresh only) → latency → fault → authenticate the client → grant →
 * id_token (oidc) → answer in the flavour's format.
 */
export async function handleToken(
  ctx: ProviderContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  ctx.stats.tokenCalls += 1;
  const params = await readParams(req, ctx.profile.formUnlessJsonAccepted);
  const grantType = params?.get('grant_type');
  const isRefresh = grantType === 'refresh_token';
  if (isRefresh) {
    ctx.stats.refreshCalls += 1;
    await ctx.gate.pass();
  }
  await upstreamLatency(ctx);
  const fault = isRefresh ? ctx.faults.take('refresh', 'token') : ctx.faults.take('token');
  if (fault) return applyFault(res, fault, {});
  try {
    if (!params || !grantType) throw new TokenError('invalidRequest');
    const issued = grant(ctx, req, params, grantType);
    if (isRefresh) ctx.stats.successfulRefreshes += 1;
    const body = { ...issued.tokens };
    if (ctx.flavour === 'oidc' && issued.grant.scope.split(' ').includes('openid')) {
      body.id_token = await signIdToken({
        issuer: ctx.issuer,
        grant: issued.grant,
        user: ctx.store.user(issued.grant.sub),
        accessToken: issued.tokens.access_token,
        nowMs: ctx.store.now(),
        ttlSeconds: ID_TOKEN_TTL_SECONDS,
        withNonce: grantType === 'authorization_code',
      });
    }
    sendOAuth(req, res, ctx.profile, 200, { ...body });
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    const { status, body } = err.render(ctx.profile);
    const challenge: Record<string, string> =
      status === 401 && req.headers.authorization ? { 'WWW-Authenticate': 'Basic realm="fake"' } : {};
    sendOAuth(req, res, ctx.profile, status, body, challenge);
  }
}

function grant(
  ctx: ProviderContext,
  req: IncomingMessage,
  params: URLSearchParams,
  grantType: string,
): Issued {
  switch (grantType) {
    case 'authorization_code':
      return authorizationCodeGrant(ctx, params, authenticateClient(ctx, req, params, true));
    case 'refresh_token':
      return refreshTokenGrant(ctx, params, authenticateClient(ctx, req, params, true));
    case DEVICE_CODE_GRANT:
      // Device-flow clients are public: a secret is optional but checked when sent.
      return deviceCodeGrant(ctx, params, authenticateClient(ctx, req, params, false));
    default:
      authenticateClient(ctx, req, params, false);
      throw new TokenError('unsupportedGrantType');
  }
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function authorizationCodeGrant(ctx: ProviderContext, params: URLSearchParams, clientId: string): Issued {
  const code = params.get('code');
  if (!code) throw new TokenError('invalidRequest');
  const record = ctx.store.codes.get(code);
  if (!record || record.clientId !== clientId) throw new TokenError('badCode');
  if (record.used) {
    // A replayed code revokes what it issued (RFC 6749 §4.1.2).
    if (record.grant) record.grant.revoked = true;
    throw new TokenError('badCode');
  }
  if (ctx.store.now() >= record.expiresAt) throw new TokenError('badCode');
  // GitHub lets the client leave redirect_uri out; the RFC requires it when authorize had one.
  const redirectUri = params.get('redirect_uri');
  if (redirectUri === null ? ctx.flavour !== 'github' : redirectUri !== record.redirectUri) {
    throw new TokenError('redirectMismatch');
  }
  if (record.challenge !== undefined) {
    const verifier = params.get('code_verifier');
    if (!verifier || !safeEqual(s256(verifier), record.challenge)) throw new TokenError('pkceMismatch');
  }
  record.used = true;
  const issued = ctx.store.issue(
    { sub: record.sub, clientId, scope: record.scope, nonce: record.nonce },
    ctx.accessTokenTtlSeconds,
  );
  record.grant = issued.grant;
  return issued;
}

/** Refresh tokens are single-use: each refresh spends the old one and returns a new one. */
function refreshTokenGrant(ctx: ProviderContext, params: URLSearchParams, clientId: string): Issued {
  const refreshToken = params.get('refresh_token');
  if (!refreshToken) throw new TokenError('invalidRequest');
  const issued = ctx.store.rotate(refreshToken, clientId, ctx.accessTokenTtlSeconds);
  if (!issued) throw new TokenError('badRefreshToken');
  return issued;
}
