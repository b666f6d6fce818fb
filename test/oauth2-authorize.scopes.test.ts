import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import {
  type Answer,
  exchange,
  type Flow,
  ISSUER,
  pkce,
  startFlow,
  type TestApp,
} from './kit/oauth2-flow.ts';

// Scope negotiation (issue 8): each rule, through the authorization endpoint.

const db = useTestDatabase();
let flow: Flow;
let ada: User;
let cookie: string;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
  cookie = await flow.session(ada);
});
afterAll(() => flow.close());

/** The page's scope list, or the error the client is sent back. */
async function negotiate(client: TestApp, scope: string | undefined) {
  const res = await flow.authorize(
    {
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: client.app.redirect_uris[0],
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      state: 'st',
      scope,
    },
    cookie,
  );
  if (res.status === 303) {
    const to = new URL(res.headers.get('location') as string);
    return {
      error: to.searchParams.get('error'),
      state: to.searchParams.get('state'),
      iss: to.searchParams.get('iss'),
    };
  }
  const html = await res.text();
  return { scopes: [...html.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => m[1]) };
}

describe('the client’s registered scope is its ceiling', () => {
  it('grants a narrower request, and the whole ceiling when the request names none', async () => {
    const client = await flow.createApp({ scope: 'user:read api_key:read api_key:create' });
    expect(await negotiate(client, 'api_key:read')).toEqual({ scopes: ['api_key:read'] });
    expect(await negotiate(client, undefined)).toEqual({
      scopes: ['user:read', 'api_key:read', 'api_key:create'],
    });
  });

  it('refuses a wider request whole, with invalid_scope, state and iss — never trimmed', async () => {
    const client = await flow.createApp({ scope: 'user:read' });
    expect(await negotiate(client, 'user:read user:update')).toEqual({
      error: 'invalid_scope',
      state: 'st',
      iss: ISSUER,
    });
  });

  it('gives a client without a ceiling what it asks for, or full access for nothing', async () => {
    const client = await flow.createApp({ origin: 'admin', scope: '' });
    expect(await negotiate(client, 'user:update')).toEqual({ scopes: ['user:update'] });
    expect(await negotiate(client, undefined)).toEqual({ scopes: ['latchkey:all'] });
  });

  it('treats a request of only offline_access as naming no API scope', async () => {
    const client = await flow.createApp({ scope: 'user:read' });
    expect(await negotiate(client, 'offline_access')).toEqual({ scopes: ['user:read', 'offline_access'] });
  });
});

describe('coverage is decided by authority, not spelling', () => {
  it('grants a permission a composite ceiling includes', async () => {
    const client = await flow.createApp({ scope: 'latchkey:application_connect' });
    expect(await negotiate(client, 'workspace:read template:use')).toEqual({
      scopes: ['workspace:read', 'template:use'],
    });
  });

  it('refuses one the composite does not include, and a composite wider than the ceiling', async () => {
    const composite = await flow.createApp({ scope: 'latchkey:application_connect' });
    expect((await negotiate(composite, 'workspace:read workspace:update')).error).toBe('invalid_scope');
    expect((await negotiate(composite, 'latchkey:all')).error).toBe('invalid_scope');
    const narrow = await flow.createApp({ scope: 'workspace:read workspace:use' });
    expect((await negotiate(narrow, 'latchkey:application_connect')).error).toBe('invalid_scope');
  });

  it('grants anything in the catalog under latchkey:all', async () => {
    const client = await flow.createApp({ scope: 'latchkey:all' });
    expect(await negotiate(client, 'latchkey:application_connect user:read')).toEqual({
      scopes: ['latchkey:application_connect', 'user:read'],
    });
  });
});

describe('only the published catalog can be requested', () => {
  it('refuses names outside it, even under full access', async () => {
    const client = await flow.createApp({ origin: 'admin', scope: '' });
    for (const name of ['openid', 'system-oauth2', 'owner', 'workspace:*', 'USER:READ', 'user:fly']) {
      expect((await negotiate(client, `user:read ${name}`)).error, name).toBe('invalid_scope');
    }
  });

  it('accepts every name of scopes_supported', async () => {
    const metadata = (await (
      await flow.server.request('/.well-known/oauth-authorization-server')
    ).json()) as Answer;
    const client = await flow.createApp({ origin: 'admin', scope: '' });
    const names = (metadata.scopes_supported as string[]).filter((n) => n !== 'latchkey:all');
    const result = await negotiate(client, names.join(' '));
    expect(result.error).toBeUndefined();
  });
});

const me = (token: string) =>
  flow.server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
/** Creating a key needs api_key:create. */
const createKey = (token: string) =>
  flow.server.request('/api/v1/users/me/keys', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'nope' }),
  });

describe('the negotiated scope is stored, copied and enforced', () => {
  it('limits the access token to it and returns it in every token response', async () => {
    const client = await flow.createApp({ scope: 'user:read api_key:read' });
    const tokens = await exchange(flow, client, await flow.code(client, ada, { scope: 'user:read' }));
    expect(tokens.scope).toBe('user:read');
    expect((await me(tokens.access_token)).status).toBe(200);
    // Creating a key needs api_key:create, which the token does not carry (though ada may).
    expect((await createKey(tokens.access_token)).status).toBe(403);
    const refreshed = await flow.token(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    expect(((await refreshed.json()) as Answer).scope).toBe('user:read');
  });

  it('enforces a grant of more names than a key request may hold (every catalog name but latchkey:all)', async () => {
    const metadata = (await (
      await flow.server.request('/.well-known/oauth-authorization-server')
    ).json()) as Answer;
    // All but api_key:create, so the token is limited and the limit is visible.
    const names = (metadata.scopes_supported as string[]).filter(
      (n) => n !== 'latchkey:all' && n !== 'api_key:create' && n !== 'offline_access',
    );
    expect(names.length).toBeGreaterThan(64);
    const client = await flow.createApp();
    const tokens = await exchange(flow, client, await flow.code(client, ada, { scope: names.join(' ') }));
    expect(tokens.scope.split(' ')).toEqual(names);
    // The token works (it once stored more names than a key could be read with, and allowed nothing)…
    expect((await me(tokens.access_token)).status).toBe(200);
    // …and still limits: the one name left out is refused.
    expect((await createKey(tokens.access_token)).status).toBe(403);
  });
});
