import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ProviderContext } from './context.ts';
import { normaliseScope } from './flavours.ts';
import { sendEmpty, sendHtml } from './http.ts';

const CODE_TTL_MS = 10 * 60 * 1000;

/** GET authUrl: logs in the current user without a page and redirects back with a code. */
export function handleAuthorize(ctx: ProviderContext, res: ServerResponse, url: URL) {
  const query = url.searchParams;
  ctx.authorizeRequests.push(new URLSearchParams(query));
  if (query.get('client_id') !== ctx.clientId) {
    return sendHtml(res, 400, 'Unknown application', 'No application with this client_id is registered.');
  }
  const redirectUri = query.get('redirect_uri');
  if (!redirectUri || !URL.canParse(redirectUri)) {
    return sendHtml(res, 400, 'Invalid redirect_uri', 'The redirect_uri is missing or not a URL.');
  }
  const back = new URL(redirectUri);
  const state = query.get('state');
  const redirect = (params: Record<string, string>) => {
    for (const [k, v] of Object.entries(params)) back.searchParams.set(k, v);
    if (state !== null) back.searchParams.set('state', state);
    sendEmpty(res, 302, { Location: back.href });
  };
  // GitHub never asks for response_type; the others implement RFC 6749 §4.1.1.
  if (ctx.flavour !== 'github' && query.get('response_type') !== 'code') {
    return redirect({ error: 'unsupported_response_type', error_description: 'Only response_type=code.' });
  }
  const challenge = query.get('code_challenge') ?? undefined;
  if (challenge !== undefined && query.get('code_challenge_method') !== 'S256') {
    return redirect({ error: 'invalid_request', error_description: 'code_challenge_method must be S256.' });
  }
  const code = randomBytes(10).toString('hex');
  ctx.store.codes.set(code, {
    clientId: ctx.clientId,
    redirectUri,
    sub: ctx.store.loggedIn.sub,
    scope: normaliseScope(ctx.profile, query.get('scope')),
    challenge,
    nonce: ctx.flavour === 'oidc' ? (query.get('nonce') ?? undefined) : undefined,
    expiresAt: ctx.store.now() + CODE_TTL_MS,
    used: false,
    grant: undefined,
  });
  redirect({ code });
}
