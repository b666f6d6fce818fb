import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { basicAuth, type Flow, pkce, REDIRECT, startFlow, type TestApp } from './kit/oauth2-flow.ts';

// Rate limits of the OAuth endpoints: per caller (client address; a signed-in user at
// /oauth2/authorize) and per client per caller. Requests come from made-up addresses
// through a trusted proxy (X-Forwarded-For), so each test has buckets of its own.

const PER_ADDRESS = 6;
const PER_CLIENT = 3;
const db = useTestDatabase();
let flow: Flow;
let ada: User;
let client: TestApp;
let other: TestApp;
let confidential: TestApp;
let addresses = 0;

beforeAll(async () => {
  flow = await startFlow(db.url, {
    trustProxy: ['127.0.0.1'],
    rateLimitOauth2Token: PER_ADDRESS,
    rateLimitOauth2TokenPerClient: PER_CLIENT,
    rateLimitOauth2Authorize: PER_ADDRESS,
    rateLimitOauth2AuthorizePerClient: PER_CLIENT,
    rateLimitOauth2RegisterPerClient: PER_CLIENT,
  });
  ada = await flow.kit.user('ada');
  client = await flow.createApp({ name: 'Limited' });
  other = await flow.createApp({ name: 'Other' });
  confidential = await flow.createApp({ method: 'client_secret_basic' });
});
afterAll(() => flow.close());

/** A client address of its own (through the trusted proxy). */
const freshAddress = () => ({ 'x-forwarded-for': `10.0.0.${++addresses}` });

/** A token request that gets as far as the grant (a made-up code: invalid_grant). */
function tokenRequest(clientId: string, from: Record<string, string>, headers: Record<string, string> = {}) {
  return flow.post(
    '/oauth2/token',
    {
      grant_type: 'authorization_code',
      code: 'lkac_made_up',
      code_verifier: pkce().verifier,
      client_id: clientId,
    },
    { ...from, ...headers },
  );
}

function basic(clientId: string, secret: string) {
  return { authorization: basicAuth(clientId, secret) };
}

function authorize(clientId: string, from: Record<string, string>, extra: Record<string, string> = {}) {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  return flow.server.request(`/oauth2/authorize?${query}`, { headers: from, redirect: 'manual' });
}

async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
}

/** An OAuth-format 429 (as /oauth2/register answers): JSON a client parses, with Retry-After. */
async function oauthRefusal(res: Response): Promise<string> {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('access-control-allow-origin')).toBe('*');
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe('temporarily_unavailable');
  return body.error_description as string;
}

describe('/oauth2/token', () => {
  it('limits each client per address, answering in OAuth form', async () => {
    const from = freshAddress();
    expect(await statuses(PER_CLIENT, () => tokenRequest(client.clientId, from))).toEqual([400, 400, 400]);
    const refused = await tokenRequest(client.clientId, from);
    expect(await oauthRefusal(refused)).toContain(`At most ${PER_CLIENT} requests a minute for this client`);
    // Another client from the same address has its own budget.
    expect((await tokenRequest(other.clientId, from)).status).toBe(400);
  });

  it('one address using up a client cannot lock that client out elsewhere', async () => {
    const attacker = freshAddress();
    for (let i = 0; i < PER_CLIENT; i++) await tokenRequest(client.clientId, attacker);
    expect((await tokenRequest(client.clientId, attacker)).status).toBe(429);
    // The client's real users, at their own addresses, are not refused.
    const user = freshAddress();
    const res = await tokenRequest(client.clientId, user);
    expect(res.status).toBe(400);
    expect(res.headers.get('x-ratelimit-remaining')).toBe(String(PER_CLIENT - 1));
  });

  it('limits each address across clients', async () => {
    const from = freshAddress();
    const codes = await statuses(PER_ADDRESS, () => tokenRequest(`unknown-${Math.random()}`, from));
    expect(codes.every((c) => c === 401)).toBe(true);
    const refused = await tokenRequest(`unknown-${Math.random()}`, from);
    expect(await oauthRefusal(refused)).toContain(
      `At most ${PER_ADDRESS} requests a minute to POST /oauth2/token`,
    );
  });

  it('counts a client_secret_basic client by the client_id in its Authorization header', async () => {
    const from = freshAddress();
    const wrong = basic(confidential.clientId, 'lkcs_wrong');
    const send = () =>
      flow.post('/oauth2/token', { grant_type: 'client_credentials' }, { ...from, ...wrong });
    expect(await statuses(PER_CLIENT, send)).toEqual([401, 401, 401]);
    await oauthRefusal(await send());
    // The same client named in the body shares the bucket; another client does not.
    expect((await tokenRequest(confidential.clientId, from)).status).toBe(429);
    expect((await tokenRequest(other.clientId, from)).status).toBe(400);
  });
});

describe('/oauth2/authorize', () => {
  async function refusalPage(res: Response) {
    expect(res.status).toBe(429);
    // A page for the person, not a redirect: the redirect URI is not checked yet.
    expect(res.headers.get('location')).toBeNull();
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    return res.text();
  }

  it('limits each client per caller with a page, even for a redirect URI it would never trust', async () => {
    const from = freshAddress();
    expect(await statuses(PER_CLIENT, () => authorize(client.clientId, from))).toEqual([303, 303, 303]);
    const page = await refusalPage(
      await authorize(client.clientId, from, { redirect_uri: 'https://evil.example/cb' }),
    );
    expect(page).toContain('Too many requests');
    expect(page).toContain('for this client');
    expect((await authorize(other.clientId, from)).status).toBe(303);
    // The client from another address is not refused.
    expect((await authorize(client.clientId, freshAddress())).status).toBe(303);
  });

  it('limits each address across clients', async () => {
    const from = freshAddress();
    const codes = await statuses(PER_ADDRESS, () => authorize(`unknown-${Math.random()}`, from));
    expect(codes.every((c) => c === 400)).toBe(true);
    expect(await refusalPage(await authorize(`unknown-${Math.random()}`, from))).toContain(
      'GET /oauth2/authorize',
    );
  });

  it('a signed-in user counts as themselves, not as their address', async () => {
    const from = freshAddress();
    for (let i = 0; i < PER_CLIENT; i++) await authorize(client.clientId, from);
    expect((await authorize(client.clientId, from)).status).toBe(429);
    const cookie = await flow.session(ada);
    const res = await authorize(client.clientId, { ...from, cookie });
    expect(res.status).toBe(200);
  });

  it('the consent form post is limited too', async () => {
    const from = freshAddress();
    const post = () =>
      flow.post('/oauth2/authorize', { client_id: client.clientId, redirect_uri: REDIRECT }, from);
    // Not signed in: sent to sign in, until the client's budget at this address is spent.
    expect(await statuses(PER_CLIENT, post)).toEqual([303, 303, 303]);
    await refusalPage(await post());
  });
});

describe('/oauth2/register', () => {
  it('managing one registration is limited per client per address', async () => {
    const from = freshAddress();
    const get = (clientId: string) =>
      flow.server.request(`/oauth2/register/${clientId}`, {
        headers: { ...from, authorization: 'Bearer lkrat_guess' },
      });
    expect(await statuses(PER_CLIENT, () => get('lkc_target'))).toEqual([401, 401, 401]);
    expect(await oauthRefusal(await get('lkc_target'))).toContain('for this client');
    expect((await get('lkc_another')).status).toBe(401);
  });
});

it('refusals are counted by kind in the metrics', async () => {
  const metrics = await (await flow.server.request('/metrics')).text();
  expect(metrics).toMatch(/latchkey_ratelimit_refused_total\{limit="client"\} [1-9]/);
  expect(metrics).toMatch(/latchkey_ratelimit_refused_total\{limit="route"\} [1-9]/);
});
