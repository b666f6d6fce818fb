import type { ExternalAuthLink } from '../db/index.ts';
import type { UpstreamProvider } from './provider.ts';
import { networkReason } from './token-client.ts';

/** 'revoked', 'unsupported' (nothing to call), or why it failed. */
export type RevokeOutcome = 'revoked' | 'unsupported' | string;

/**
 * Asks the provider to forget a token. GitHub has its own API (DELETE on the app's token
 * with the client credentials); everyone else speaks RFC 7009. The refresh token is
 * revoked when there is one, which per RFC 7009 also ends the access tokens of that grant.
 */
export async function revokeToken(
  provider: UpstreamProvider,
  link: Pick<ExternalAuthLink, 'oauth_access_token' | 'oauth_refresh_token'>,
  options: { readonly timeoutMs: number; readonly fetch?: typeof fetch | undefined },
): Promise<RevokeOutcome> {
  if (provider.revokeUrl === undefined || provider.revokeStyle === 'none') return 'unsupported';
  const doFetch = options.fetch ?? fetch;
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(provider.clientId)}:${encodeURIComponent(provider.clientSecret)}`).toString('base64')}`;
  try {
    let response: Response;
    if (provider.revokeStyle === 'github') {
      const url = provider.revokeUrl.replace('{client_id}', encodeURIComponent(provider.clientId));
      response = await doFetch(url, {
        method: 'DELETE',
        headers: {
          authorization: basic,
          accept: 'application/vnd.github+json',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ access_token: link.oauth_access_token }),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } else {
      const useRefresh = link.oauth_refresh_token !== '';
      const body = new URLSearchParams({
        token: useRefresh ? link.oauth_refresh_token : link.oauth_access_token,
        token_type_hint: useRefresh ? 'refresh_token' : 'access_token',
        client_id: provider.clientId,
      });
      if (provider.clientSecret !== '') body.set('client_secret', provider.clientSecret);
      response = await doFetch(provider.revokeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    }
    await response.body?.cancel();
    // 404 from GitHub: the token is already gone, which is what we wanted.
    return response.ok || response.status === 404 ? 'revoked' : `http_${response.status}`;
  } catch (err) {
    return networkReason(err);
  }
}
