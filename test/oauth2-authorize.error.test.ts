import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type Flow, ISSUER, pkce, REDIRECT, startFlow, type TestApp } from './kit/oauth2-flow.ts';

// OA-3: what the authorization endpoint refuses, and how. Before the redirect URI is
// verified, the user sees an error page; after, the client gets error, state and iss.

const db = useTestDatabase();
let flow: Flow;
let ada: User;
let cookie: string;
let client: TestApp;

beforeAll(async () => {
  flow = await startFlow(db.url);
  ada = await flow.kit.user('ada');
  cookie = await flow.session(ada);
  client = await flow.createApp();
});
afterAll(() => flow.close());

const valid = () => ({
  response_type: 'code',
  client_id: client.clientId,
  redirect_uri: REDIRECT,
  code_challenge: pkce().challenge,
  code_challenge_method: 'S256',
  state: 'keep-me',
});

async function errorPage(res: Response) {
  expect(res.status).toBe(400);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  return res.text();
}

function clientError(res: Response) {
  expect(res.status).toBe(303);
  const to = new URL(res.headers.get('location') as string);
  expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
  expect(to.searchParams.get('state')).toBe('keep-me');
  expect(to.searchParams.get('iss')).toBe(ISSUER);
  expect(to.searchParams.has('code')).toBe(false);
  return to.searchParams.get('error');
}

describe('shown to the user, never redirected', () => {
  it('refuses a missing, unknown or repeated client_id', async () => {
    const { client_id: _, ...rest } = valid();
    expect(await errorPage(await flow.authorize(rest, cookie))).toContain('client_id');
    expect(await errorPage(await flow.authorize({ ...valid(), client_id: 'nobody' }, cookie))).toContain(
      'not known',
    );
    const twice = await flow.server.request(
      `/oauth2/authorize?${new URLSearchParams(valid())}&client_id=${client.clientId}`,
      { headers: { cookie }, redirect: 'manual' },
    );
    await errorPage(twice);
  });

  it('refuses a redirect URI the client did not register, or none when it has several', async () => {
    expect(
      await errorPage(await flow.authorize({ ...valid(), redirect_uri: 'https://evil.example/cb' }, cookie)),
    ).toContain('redirect URI');
    const many = await flow.createApp({ redirectUris: ['https://a.example/cb', 'https://b.example/cb'] });
    const { redirect_uri: _, ...rest } = valid();
    await errorPage(await flow.authorize({ ...rest, client_id: many.clientId }, cookie));
  });

  it('shows the error page whether or not anyone is signed in', async () => {
    await errorPage(await flow.authorize({ ...valid(), client_id: 'nobody' }));
  });
});

describe('sent back to the client', () => {
  it('wants response_type=code', async () => {
    const { response_type: _, ...rest } = valid();
    expect(clientError(await flow.authorize(rest, cookie))).toBe('invalid_request');
    expect(clientError(await flow.authorize({ ...valid(), response_type: 'token' }, cookie))).toBe(
      'unsupported_response_type',
    );
    expect(clientError(await flow.authorize({ ...valid(), response_type: 'code id_token' }, cookie))).toBe(
      'unsupported_response_type',
    );
  });

  it('wants a S256 code_challenge of 43 to 128 unreserved characters', async () => {
    const { code_challenge: _, ...noChallenge } = valid();
    expect(clientError(await flow.authorize(noChallenge, cookie))).toBe('invalid_request');
    const { code_challenge_method: __, ...noMethod } = valid();
    expect(clientError(await flow.authorize(noMethod, cookie))).toBe('invalid_request');
    for (const challenge of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)}=`]) {
      expect(
        clientError(await flow.authorize({ ...valid(), code_challenge: challenge }, cookie)),
        challenge,
      ).toBe('invalid_request');
    }
    // 128 characters is still a challenge: the consent page.
    expect((await flow.authorize({ ...valid(), code_challenge: 'a'.repeat(128) }, cookie)).status).toBe(200);
  });

  it('refuses a resource that is not an absolute https URI without fragment', async () => {
    for (const resource of [
      'not a uri',
      'mcp',
      'https://api.example/#frag',
      'http://api.example/',
      'ftp://api.example/',
      'https://u:p@api.example/',
    ]) {
      expect(clientError(await flow.authorize({ ...valid(), resource }, cookie)), resource).toBe(
        'invalid_target',
      );
    }
    const twice = await flow.server.request(
      `/oauth2/authorize?${new URLSearchParams(valid())}&resource=https%3A%2F%2Fa.example%2F&resource=https%3A%2F%2Fb.example%2F`,
      { headers: { cookie }, redirect: 'manual' },
    );
    expect(clientError(twice)).toBe('invalid_target');
  });

  it('refuses a client not registered for the code flow', async () => {
    const machine = await flow.createApp({
      origin: 'admin',
      method: 'client_secret_basic',
      grantTypes: ['client_credentials'],
    });
    expect(clientError(await flow.authorize({ ...valid(), client_id: machine.clientId }, cookie))).toBe(
      'unauthorized_client',
    );
  });

  it('refuses a parameter sent twice', async () => {
    const twice = await flow.server.request(
      `/oauth2/authorize?${new URLSearchParams(valid())}&scope=a&scope=b`,
      {
        headers: { cookie },
        redirect: 'manual',
      },
    );
    expect(clientError(twice)).toBe('invalid_request');
  });

  it('refuses a state sent twice or too long, without echoing it', async () => {
    const twice = await flow.server.request(`/oauth2/authorize?${new URLSearchParams(valid())}&state=again`, {
      headers: { cookie },
      redirect: 'manual',
    });
    const huge = await flow.authorize({ ...valid(), state: 's'.repeat(9000) }, cookie);
    for (const res of [twice, huge]) {
      const to = new URL(res.headers.get('location') as string);
      expect(to.searchParams.get('error')).toBe('invalid_request');
      expect(to.searchParams.has('state')).toBe(false);
      expect(to.searchParams.get('iss')).toBe(ISSUER);
    }
  });

  it('validates before asking anyone to sign in', async () => {
    expect(clientError(await flow.authorize({ ...valid(), response_type: 'token' }))).toBe(
      'unsupported_response_type',
    );
  });
});
