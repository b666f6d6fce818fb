import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateClient, type ProviderContext } from './context.ts';
import { TokenError } from './errors.ts';
import { applyFault } from './faults.ts';
import { basicCredentials, readBody, readParams, safeEqual, sendEmpty, sendJson } from './http.ts';

/** GitHub: DELETE /applications/{client_id}/token, Basic auth, JSON `{access_token}` → 204. */
export async function handleGithubRevoke(ctx: ProviderContext, req: IncomingMessage, res: ServerResponse) {
  ctx.stats.revokeCalls += 1;
  const fault = ctx.faults.take('revoke');
  if (fault) return applyFault(res, fault, {});
  const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };
  const basic = basicCredentials(req);
  if (
    !basic ||
    basic === 'malformed' ||
    !safeEqual(basic.id, ctx.clientId) ||
    !safeEqual(basic.secret, ctx.clientSecret)
  ) {
    return sendJson(res, 404, notFound);
  }
  let token: unknown;
  try {
    token = (JSON.parse((await readBody(req)) || '{}') as { access_token?: unknown }).access_token;
  } catch {
    return sendJson(res, 400, { message: 'Problems parsing JSON' });
  }
  if (typeof token !== 'string' || !token) {
    return sendJson(res, 422, { message: 'Invalid request.\n\n"access_token" wasn\'t supplied.' });
  }
  if (!ctx.store.revokeGrantOf(token, ctx.clientId)) return sendJson(res, 404, notFound);
  ctx.revokedTokens.push(token);
  sendEmpty(res, 204);
}

/** GitLab/OIDC: RFC 7009 — form `token=`, client authentication, 200 even for unknown tokens. */
export async function handleRfcRevoke(ctx: ProviderContext, req: IncomingMessage, res: ServerResponse) {
  ctx.stats.revokeCalls += 1;
  const fault = ctx.faults.take('revoke');
  if (fault) return applyFault(res, fault, {});
  const params = await readParams(req, false);
  try {
    if (!params) throw new TokenError('invalidRequest');
    const clientId = authenticateClient(ctx, req, params, true);
    const token = params.get('token');
    if (!token) throw new TokenError('invalidRequest');
    if (ctx.store.revokeGrantOf(token, clientId)) ctx.revokedTokens.push(token);
    sendJson(res, 200, {});
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    const { status, body } = err.render(ctx.profile);
    sendJson(res, status, body);
  }
}
