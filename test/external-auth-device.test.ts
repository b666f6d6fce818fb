import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { providerFor } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// Linking with the device flow (EA-2, RFC 8628) over HTTP, against fake providers whose
// clock the test moves: GitHub (device-flow answers with HTTP 200) and GitLab (400).

const db = useTestDatabase();
let kit: StoreKit;
let github: FakeProvider;
let gitlab: FakeProvider;
let server: TestServer;
let user: User;
let upstreamNow = Date.UTC(2030, 0, 1);
const wait = (seconds: number) => {
  upstreamNow += seconds * 1000;
};

beforeAll(async () => {
  kit = storeKit(db.url);
  github = await startFakeProvider({ flavour: 'github', now: () => upstreamNow });
  gitlab = await startFakeProvider({ flavour: 'gitlab', now: () => upstreamNow });
  server = await startTestServer(db.url, {
    authenticate: testAuthenticator(kit),
    config: {
      rateLimitApi: 0,
      externalAuth: [
        providerFor(github, { deviceFlow: true }),
        providerFor(gitlab, { deviceFlow: true }),
        providerFor(github, { id: 'github-web', deviceFlow: false }),
      ],
    },
  });
});
afterAll(async () => {
  await server.close();
  await Promise.all([github.close(), gitlab.close()]);
  await kit.close();
});

let n = 0;
beforeEach(async () => {
  user = await kit.user(`device${++n}`);
});

const post = (path: string, body: unknown = {}, who: User = user) =>
  server.request(path, {
    method: 'POST',
    headers: { ...asUser(who), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

interface Started {
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval: number;
  device_code: string;
}

async function start(provider: string, who: User = user): Promise<Started> {
  const res = await post(`/api/v1/external-auth/${provider}/device`, {}, who);
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return (await res.json()) as Started;
}

async function poll(provider: string, started: Started, who: User = user, interval?: number) {
  const res = await post(
    `/api/v1/external-auth/${provider}/device/poll`,
    { device_code: started.device_code, ...(interval === undefined ? {} : { interval }) },
    who,
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const token = (provider: string, who: User = user) =>
  server.request(`/api/v1/external-auth/${provider}/token`, { headers: asUser(who) });

describe.each(['github', 'gitlab'] as const)('device flow with %s', (provider) => {
  const fake = () => (provider === 'github' ? github : gitlab);

  it('starts, is pending, and links once the user approves upstream', async () => {
    const started = await start(provider);
    expect(started).toMatchObject({
      user_code: expect.stringMatching(/^\w{4}-\w{4}$/),
      verification_uri: `${fake().url}${provider === 'github' ? '/login/device' : '/oauth/device'}`,
      expires_in: 900,
      interval: 5,
      device_code: expect.any(String),
    });
    // GitHub sends no verification_uri_complete; others do.
    expect(started.verification_uri_complete !== undefined).toBe(provider !== 'github');

    expect(await poll(provider, started)).toEqual({
      status: 202,
      body: { status: 'authorization_pending', interval: 5 },
    });
    expect((await token(provider)).status).toBe(404);

    fake().approveDevice(started.user_code);
    wait(5);
    expect(await poll(provider, started)).toEqual({ status: 200, body: { linked: true } });
    const res = await token(provider);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token: string }).access_token).not.toBe('');
    const list = (await (
      await server.request('/api/v1/external-auth', { headers: asUser(user) })
    ).json()) as {
      providers: Array<{ id: string; linked: boolean }>;
    };
    expect(list.providers.find((p) => p.id === provider)).toMatchObject({ linked: true });

    // The flow is over: its device code is spent here as upstream.
    wait(5);
    expect(await poll(provider, started)).toMatchObject({
      status: 400,
      body: { code: 'invalid_device_code' },
    });
  });

  it('answers slow_down with the interval grown by 5 seconds', async () => {
    const started = await start(provider);
    expect((await poll(provider, started)).body).toEqual({ status: 'authorization_pending', interval: 5 });
    // Polled again at once: too fast.
    expect(await poll(provider, started, user, 5)).toEqual({
      status: 202,
      body: { status: 'slow_down', interval: 10 },
    });
    wait(10);
    expect((await poll(provider, started, user, 10)).body).toEqual({
      status: 'authorization_pending',
      interval: 10,
    });
    fake().approveDevice(started.user_code);
    wait(10);
    expect((await poll(provider, started, user, 10)).body).toEqual({ linked: true });
  });

  it('reports a denial, and the flow is over', async () => {
    const started = await start(provider);
    fake().denyDevice(started.user_code);
    const denied = await poll(provider, started);
    expect(denied).toMatchObject({ status: 400, body: { code: 'access_denied' } });
    expect(denied.body.message).toEqual(expect.any(String));
    wait(5);
    expect((await poll(provider, started)).body).toMatchObject({ code: 'invalid_device_code' });
    expect((await token(provider)).status).toBe(404);
  });

  it('reports an expired code', async () => {
    const started = await start(provider);
    wait(901);
    expect(await poll(provider, started)).toMatchObject({ status: 400, body: { code: 'expired_token' } });
    expect((await token(provider)).status).toBe(404);
  });
});

describe('the device code is bound to the user who started the flow', () => {
  it('refuses another user\u2019s device code, which is then useless to its owner too', async () => {
    const mallory = await kit.user(`mallory${n}`);
    // Mallory starts a flow and approves it with her own GitHub account, then gets our user
    // to present her device code: that would link her upstream account into his.
    const started = await start('github', mallory);
    github.approveDevice(started.user_code);
    wait(5);
    const stolen = await poll('github', started, user);
    expect(stolen).toMatchObject({ status: 400, body: { code: 'invalid_device_code' } });
    // The same answer as for a code that never existed: nothing says it is someone's.
    const unknown = await poll('github', { ...started, device_code: 'no-such-code' }, user);
    expect(unknown).toEqual(stolen);
    // Burnt for Mallory as well, and nothing was linked for either of them.
    wait(5);
    expect(await poll('github', started, mallory)).toMatchObject({
      status: 400,
      body: { code: 'invalid_device_code' },
    });
    expect((await token('github', user)).status).toBe(404);
    expect((await token('github', mallory)).status).toBe(404);
    expect(github.stats.tokenCalls).toBeGreaterThan(0);
  });

  it('refuses a device code presented for another provider', async () => {
    const started = await start('github');
    expect(await poll('gitlab', started)).toMatchObject({
      status: 400,
      body: { code: 'invalid_device_code' },
    });
  });
});

describe('bad input', () => {
  it('refuses a provider without the device flow (400) and an unknown one (404)', async () => {
    const web = await post('/api/v1/external-auth/github-web/device');
    expect(web.status).toBe(400);
    expect(await web.json()).toMatchObject({ code: 'device_flow_unsupported' });
    const webPoll = await post('/api/v1/external-auth/github-web/device/poll', { device_code: 'x' });
    expect(webPoll.status).toBe(400);
    const unknown = await post('/api/v1/external-auth/nope/device');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'provider_not_found' });
    expect((await post('/api/v1/external-auth/nope/device/poll', { device_code: 'x' })).status).toBe(404);
  });

  it('requires a caller and a device code', async () => {
    const anonymous = await server.request('/api/v1/external-auth/github/device', { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect((await post('/api/v1/external-auth/github/device/poll', {})).status).toBe(400);
  });

  it('maps an upstream outage to 503 with Retry-After, and a refusal to 502', async () => {
    github.failNext('device', { status: 503 });
    const down = await post('/api/v1/external-auth/github/device');
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(await down.json()).toMatchObject({ code: 'upstream_unavailable' });

    github.failNext('device', { status: 200, body: { error: 'device_flow_disabled' } });
    const disabled = await post('/api/v1/external-auth/github/device');
    expect(disabled.status).toBe(502);
    expect(await disabled.json()).toMatchObject({ code: 'upstream_error', detail: 'device_flow_disabled' });

    const started = await start('github');
    github.failNext('token', { status: 500 });
    expect(await poll('github', started)).toMatchObject({
      status: 503,
      body: { code: 'upstream_unavailable' },
    });
    // A transient failure ends nothing: the next poll goes on.
    wait(5);
    expect((await poll('github', started)).body).toEqual({ status: 'authorization_pending', interval: 5 });
  });
});
