import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// The external accounts page (/settings/external-auth) over HTTP, signed in with a real
// session cookie as a browser is: what it shows, what it escapes, and who may post its forms.

const db = useTestDatabase();
const ORIGIN = 'http://127.0.0.1:3000'; // the test server's access URL
const PAGE = '/settings/external-auth';
const HOSTILE = '<img src=x onerror=alert(1)>';
let kit: StoreKit;
let github: FakeProvider;
let gitlab: FakeProvider;
let server: TestServer;
let upstreamNow = Date.now();
let user: User;
let cookie: string;
let hashed: string;

beforeAll(async () => {
  kit = storeKit(db.url);
  hashed = await hashPassword('correct horse');
  github = await startFakeProvider({ flavour: 'github', now: () => upstreamNow });
  gitlab = await startFakeProvider({ flavour: 'gitlab' });
  server = await startTestServer(db.url, {
    config: {
      rateLimitApi: 0,
      externalAuth: [
        providerFor(github, { displayName: 'GitHub', deviceFlow: true }),
        providerFor(gitlab, { displayName: 'GitLab' }),
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
  const name = `pageuser${++n}`;
  user = await kit.raw.insertUser({ email: `${name}@example.com`, username: name, hashedPassword: hashed });
  const org = await kit.raw.getDefaultOrganization();
  await kit.raw.insertOrganizationMember({ organizationId: org.id, userId: user.id, roles: [] });
  const login = await server.request('/api/v1/users/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${name}@example.com`, password: 'correct horse' }),
  });
  expect(login.status).toBe(200);
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
});

const view = (path = PAGE) => server.request(path, { headers: { cookie }, redirect: 'manual' });
const submit = (path: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  server.request(path, {
    method: 'POST',
    headers: { cookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
const field = (html: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1]?.replaceAll('&amp;', '&');

describe('the page', () => {
  it('sends anonymous visitors to sign in, and back here afterwards', async () => {
    const anonymous = await server.request(PAGE, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe(`/login?redirect=${encodeURIComponent(PAGE)}`);
    const post = await server.request(`${PAGE}/github/unlink`, {
      method: 'POST',
      headers: { origin: ORIGIN },
      redirect: 'manual',
    });
    expect(post.status).toBe(303);
    expect(post.headers.get('location')).toMatch(/^\/login\?redirect=/);
  });

  it('is linked from the home page', async () => {
    expect(await (await view('/')).text()).toContain(
      '<a href="/settings/external-auth">External accounts</a>',
    );
  });

  it('shows each provider with its state and the right buttons, under the strict CSP', async () => {
    await seedLink(kit.raw, gitlab, { userId: user.id, expiresInMs: 2 * 3600_000 });
    const res = await view();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    const github = section(html, 'github');
    expect(github).toContain('Not linked');
    expect(github).toContain(`href="/external-auth/github/link?return_to=${encodeURIComponent(PAGE)}"`);
    expect(github).toContain(`action="${PAGE}/github/device"`);
    expect(github).not.toContain('Unlink');
    const gitlabPart = section(html, 'gitlab');
    expect(gitlabPart).toMatch(/Linked · expires in 2 hours/);
    expect(gitlabPart).toContain(`action="${PAGE}/gitlab/unlink"`);
    // No device flow configured for GitLab here: no code button.
    expect(gitlabPart).not.toContain('Link with a code');
  });

  it('escapes the upstream login and the failure reason (untrusted text)', async () => {
    const tokens = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: null });
    await kit.raw.upsertExternalAuthLink({
      userId: user.id,
      providerId: 'github',
      tokens,
      upstreamLogin: HOSTILE,
    });
    await seedLink(kit.raw, gitlab, { userId: user.id, expiresInMs: 3600_000 });
    await kit.raw.updateExternalAuthLinkRefreshFailure({
      userId: user.id,
      providerId: 'gitlab',
      oldRefreshToken: (await kit.raw.getExternalAuthLink({ userId: user.id, providerId: 'gitlab' }))
        ?.oauth_refresh_token as string,
      reason: `"><script>alert(1)</script>`,
    });
    const html = await (await view()).text();
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(section(html, 'github')).toContain('Linked as &lt;img src=x onerror=alert(1)&gt;');
    const gitlabPart = section(html, 'gitlab');
    expect(gitlabPart).toContain('Failed: &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; — link again');
    expect(gitlabPart).toContain('>Link again</a>');
    expect(gitlabPart).toContain('>Unlink</button>');
  });
});

describe('unlink', () => {
  it('unlinks with a same-origin form post, revoking upstream, and returns to the page', async () => {
    const tokens = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3600_000 });
    const res = await submit(`${PAGE}/github/unlink`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(PAGE);
    expect(await kit.raw.getExternalAuthLink({ userId: user.id, providerId: 'github' })).toBeUndefined();
    expect(github.revokedTokens).toContain(tokens.accessToken);
    expect(section(await (await view()).text(), 'github')).toContain('Not linked');
    // Again (another tab): nothing to do, same answer.
    expect((await submit(`${PAGE}/github/unlink`)).status).toBe(303);
  });

  it('refuses a cross-origin post (CSRF), and the link stays', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3600_000 });
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }]) {
      expect((await submit(`${PAGE}/github/unlink`, {}, headers)).status).toBe(403);
    }
    // No Origin, and a Referer from elsewhere; and neither.
    for (const headers of [{ referer: 'https://evil.example/page' }, {}]) {
      const res = await server.request(`${PAGE}/github/unlink`, {
        method: 'POST',
        headers: { cookie, ...headers },
        redirect: 'manual',
      });
      expect(res.status).toBe(403);
    }
    expect(await kit.raw.getExternalAuthLink({ userId: user.id, providerId: 'github' })).toBeDefined();
  });

  it('refuses a cross-origin post even when the credential is not a cookie', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3600_000 });
    const session = cookie.split('=')[1] as string;
    const res = await server.request(`${PAGE}/github/unlink`, {
      method: 'POST',
      headers: { 'latchkey-session-token': session, origin: 'https://evil.example' },
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Cross-site request refused.');
    expect(await kit.raw.getExternalAuthLink({ userId: user.id, providerId: 'github' })).toBeDefined();
  });
});

describe('link with a code (device flow)', () => {
  it('shows the code and the verification URL, waits, then shows the link', async () => {
    const started = await submit(`${PAGE}/github/device`);
    expect(started.status).toBe(200);
    const html = await started.text();
    const userCode = field(html, 'user_code') as string;
    expect(userCode).toMatch(/^\w{4}-\w{4}$/);
    expect(html).toContain(`<code>${userCode}</code>`);
    expect(html).toContain(`href="${github.url}/login/device"`);
    expect(html).toContain('I&#39;ve entered the code</button>');
    const form = {
      device_code: field(html, 'device_code') as string,
      user_code: userCode,
      verification_uri: field(html, 'verification_uri') as string,
      interval: field(html, 'interval') as string,
    };

    const pending = await submit(`${PAGE}/github/device/poll`, form);
    expect(pending.status).toBe(200);
    expect(await pending.text()).toContain('Still waiting');

    github.approveDevice(userCode);
    upstreamNow += 5_000;
    const done = await submit(`${PAGE}/github/device/poll`, form);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(PAGE);
    expect(section(await (await view()).text(), 'github')).toContain('Linked as octocat');
  });

  it('shows a denial on the page', async () => {
    const html = await (await submit(`${PAGE}/github/device`)).text();
    github.denyDevice(field(html, 'user_code') as string);
    const res = await submit(`${PAGE}/github/device/poll`, {
      device_code: field(html, 'device_code') as string,
      user_code: field(html, 'user_code') as string,
      verification_uri: field(html, 'verification_uri') as string,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/role="alert">Access was denied/);
  });

  it('refuses a verification URL that is not a web URL, and a provider without the device flow', async () => {
    const res = await submit(`${PAGE}/github/device/poll`, {
      device_code: 'x',
      user_code: 'ABCD-EFGH',
      verification_uri: 'javascript:alert(1)',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('javascript:');
    const gitlabCode = await submit(`${PAGE}/gitlab/device`);
    expect(gitlabCode.status).toBe(400);
    expect(await gitlabCode.text()).toContain('is not configured for the device flow');
  });
});

/** The part of the page about one provider. */
function section(html: string, id: string): string {
  const start = html.indexOf(`aria-labelledby="provider-${id}"`);
  expect(start).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
}
