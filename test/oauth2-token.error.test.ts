import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type Answer, basicAuth, exchange, type Flow, startFlow, type TestApp } from './kit/oauth2-flow.ts';

// OA-4: how the token endpoint refuses, in RFC 6749 §5.2 form.

const db = useTestDatabase();
let flow: Flow;
let ada: User;
let client: TestApp;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
  client = await flow.createApp();
});
afterAll(() => flow.close());

async function refusal(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as Answer;
  expect(body).toMatchObject({ error });
  return body as { error: string; error_description?: string };
}

const basic = basicAuth;

describe('the request', () => {
  it('answers a body over 64 KiB with 413 invalid_request naming the limit, before authenticating', async () => {
    const res = await flow.post('/oauth2/token', {
      grant_type: 'client_credentials',
      client_id: 'nobody',
      pad: 'x'.repeat(70_000),
    });
    const body = await refusal(res, 413, 'invalid_request');
    expect(body.error_description).toMatch(/64 KiB/);
  });

  it('wants a form body', async () => {
    const res = await flow.server.request('/oauth2/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', client_id: client.clientId }),
    });
    await refusal(res, 400, 'invalid_request');
  });

  it('refuses a missing or unknown grant_type, and a parameter sent twice', async () => {
    await refusal(await flow.token(client, {}), 400, 'invalid_request');
    await refusal(await flow.token(client, { grant_type: 'password' }), 400, 'unsupported_grant_type');
    await refusal(await flow.token(client, { grant_type: 'implicit' }), 400, 'unsupported_grant_type');
    const twice = await flow.server.request('/oauth2/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=${client.clientId}`,
    });
    await refusal(twice, 400, 'invalid_request');
  });

  it('refuses a grant the client did not register', async () => {
    const res = await flow.token(client, { grant_type: 'client_credentials' });
    // A public client is refused before its grant types are looked at.
    await refusal(res, 401, 'invalid_client');
    const codeOnly = await flow.createApp({ grantTypes: ['authorization_code'] });
    await refusal(
      await flow.token(codeOnly, { grant_type: 'refresh_token', refresh_token: 'x' }),
      400,
      'unauthorized_client',
    );
  });
});

describe('client authentication', () => {
  let basicClient: TestApp;
  let postClient: TestApp;
  beforeAll(async () => {
    basicClient = await flow.createApp({ method: 'client_secret_basic' });
    postClient = await flow.createApp({ method: 'client_secret_post' });
  });
  const form = { grant_type: 'refresh_token', refresh_token: 'lkrt_nothing' };

  it('answers every failure with 401 invalid_client and a Basic challenge', async () => {
    const cases: Array<[string, Promise<Response>]> = [
      ['unknown client', flow.post('/oauth2/token', { ...form, client_id: 'no-such-client' })],
      ['no client at all', flow.post('/oauth2/token', form)],
      [
        'wrong secret',
        flow.post('/oauth2/token', form, { authorization: basic(basicClient.clientId, 'wrong') }),
      ],
      [
        'a basic client posting its secret',
        flow.post('/oauth2/token', {
          ...form,
          client_id: basicClient.clientId,
          client_secret: basicClient.secret as string,
        }),
      ],
      [
        'a post client using basic',
        flow.post('/oauth2/token', form, {
          authorization: basic(postClient.clientId, postClient.secret as string),
        }),
      ],
      [
        'no secret from a confidential client',
        flow.post('/oauth2/token', { ...form, client_id: postClient.clientId }),
      ],
      [
        'a secret from a public client',
        flow.post('/oauth2/token', { ...form, client_id: client.clientId, client_secret: 'made-up' }),
      ],
      ['garbage Basic credentials', flow.post('/oauth2/token', form, { authorization: 'Basic !!!' })],
    ];
    for (const [name, pending] of cases) {
      const res = await pending;
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate'), name).toBe('Basic realm="latchkey"');
      expect(((await res.json()) as Answer).error, name).toBe('invalid_client');
    }
  });

  it('refuses two authentication methods at once', async () => {
    const res = await flow.post(
      '/oauth2/token',
      { ...form, client_secret: basicClient.secret as string },
      { authorization: basic(basicClient.clientId, basicClient.secret as string) },
    );
    await refusal(res, 400, 'invalid_request');
  });

  it('passes the right secret through to the grant', async () => {
    const res = await flow.post('/oauth2/token', form, {
      authorization: basic(basicClient.clientId, basicClient.secret as string),
    });
    await refusal(res, 400, 'invalid_grant');
  });
});

describe('authorization_code', () => {
  it('wants code and code_verifier, a well-formed verifier, and a code that exists', async () => {
    const got = await flow.code(client, ada);
    await refusal(
      await flow.token(client, { grant_type: 'authorization_code', code: got.code }),
      400,
      'invalid_request',
    );
    await refusal(
      await flow.token(client, { grant_type: 'authorization_code', code: got.code, code_verifier: 'short' }),
      400,
      'invalid_request',
    );
    await refusal(
      await flow.token(client, {
        grant_type: 'authorization_code',
        code: 'lkac_nope',
        code_verifier: got.verifier,
      }),
      400,
      'invalid_grant',
    );
    // None of that spent the code.
    await exchange(flow, client, got);
  });

  it('refuses an expired code', async () => {
    const got = await flow.code(client, ada);
    await flow.kit.handle.db
      .updateTable('oauth2_codes')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute();
    const res = await flow.token(client, {
      grant_type: 'authorization_code',
      code: got.code,
      code_verifier: got.verifier,
      redirect_uri: client.app.redirect_uris[0] as string,
    });
    await refusal(res, 400, 'invalid_grant');
  });

  it('refuses a resource other than the authorized one with invalid_target', async () => {
    const got = await flow.code(client, ada);
    const res = await flow.token(client, {
      grant_type: 'authorization_code',
      code: got.code,
      code_verifier: got.verifier,
      redirect_uri: client.app.redirect_uris[0] as string,
      resource: 'https://elsewhere.example/',
    });
    await refusal(res, 400, 'invalid_target');
  });

  it('wants redirect_uri when the client has several', async () => {
    const many = await flow.createApp({ redirectUris: ['https://a.example/cb', 'https://b.example/cb'] });
    const got = await flow.code(many, ada);
    const res = await flow.token(many, {
      grant_type: 'authorization_code',
      code: got.code,
      code_verifier: got.verifier,
    });
    await refusal(res, 400, 'invalid_grant');
  });
});

describe('refresh_token', () => {
  it('refuses unknown, expired and revoked refresh tokens', async () => {
    await refusal(
      await flow.token(client, { grant_type: 'refresh_token', refresh_token: 'lkrt_x' }),
      400,
      'invalid_grant',
    );
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    await flow.kit.handle.db
      .updateTable('oauth2_refresh_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('rotated_at', 'is', null)
      .execute();
    const res = await flow.token(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    await refusal(res, 400, 'invalid_grant');
  });

  it('refuses a scope outside the catalog', async () => {
    const tokens = await exchange(flow, client, await flow.code(client, ada));
    const res = await flow.token(client, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      scope: 'openid',
    });
    await refusal(res, 400, 'invalid_scope');
  });
});

describe('with the grace window off (LATCHKEY_OAUTH2_REFRESH_GRACE=0)', () => {
  let strict: Flow;
  beforeAll(async () => {
    strict = await startFlow(db.url, { oauth2RefreshGrace: 0 });
  });
  afterAll(() => strict.close());

  it('treats any repeat of a rotated token as reuse and revokes the family', async () => {
    const c = await strict.createApp();
    const tokens = await exchange(strict, c, await strict.code(c, ada));
    const first = await strict.token(c, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    const next = (await first.json()) as Answer;
    const repeat = await strict.token(c, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    await refusal(repeat, 400, 'invalid_grant');
    const after = await strict.token(c, { grant_type: 'refresh_token', refresh_token: next.refresh_token });
    await refusal(after, 400, 'invalid_grant');
    const api = await strict.server.request('/api/v1/users/me', {
      headers: { authorization: `Bearer ${next.access_token}` },
    });
    expect(api.status).toBe(401);
  });
});
