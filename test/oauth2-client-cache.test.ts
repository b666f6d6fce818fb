import { afterAll, beforeAll, expect, it } from 'vitest';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type Answer, basicAuth, type Flow, ISSUER, startFlow, type TestApp } from './kit/oauth2-flow.ts';
import { startTestServer, type TestServer } from './kit/server.ts';

// OAuth clients and their secrets are cached per replica (src/oauth2/client-cache.ts), so
// authenticating a client at the token and introspection endpoints costs no query. A
// change to a client must still take effect at once: here on the writer, and on every
// other replica as soon as the NOTIFY arrives.

const db = useTestDatabase();
let flow: Flow;
let other: TestServer;
let owner: User;
let ownerCookie: string;

beforeAll(async () => {
  flow = await startFlow(db.url);
  other = await startTestServer(db.url, { config: { rateLimitApi: 0 } });
  owner = await flow.kit.user('cache-owner', { siteRoles: ['owner'] });
  ownerCookie = await flow.session(owner);
});
afterAll(async () => {
  await other.close();
  await flow.close();
});

const basic = (client: TestApp, secret = client.secret ?? '') => basicAuth(client.clientId, secret);
const grant = (server: TestServer, client: TestApp, secret?: string) =>
  server.request('/oauth2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client, secret) },
    body: 'grant_type=client_credentials',
  });
const queries = async (s: TestServer) => (await s.metrics.dbQueries.get()).values[0]?.value ?? 0;
const api = (method: string, path: string) =>
  flow.server.request(path, { method, headers: { cookie: ownerCookie, origin: ISSUER } });

async function serviceApp(): Promise<TestApp> {
  return flow.createApp({
    origin: 'admin',
    method: 'client_secret_basic',
    grantTypes: ['client_credentials'],
    createdBy: owner.id,
  });
}

/** Resolves when `server` has dropped its cached clients. */
const cleared = (server: TestServer) =>
  new Promise<void>((resolve) => {
    const off = server.clients.onClear(() => {
      off();
      resolve();
    });
  });

it('authenticates a known client without reading it again', async () => {
  const client = await serviceApp();
  const introspect = () =>
    flow.post('/oauth2/introspect', { token: 'lk_unknown' }, { authorization: basic(client) });
  expect((await introspect()).status).toBe(200);
  const before = await queries(flow.server);
  for (let i = 0; i < 5; i++) expect(((await (await introspect()).json()) as Answer).active).toBe(false);
  expect((await queries(flow.server)) - before).toBe(0);
});

it('refuses a deleted secret at once, on this replica and on the others', async () => {
  const client = await serviceApp();
  // Both replicas have the client and its secret cached.
  expect((await grant(flow.server, client)).status).toBe(200);
  expect((await grant(other, client)).status).toBe(200);
  const [secret] = await flow.kit.raw.listOAuth2AppSecrets({ appId: client.app.id });
  const heard = cleared(other);
  expect(
    (await api('DELETE', `/api/v1/oauth2-provider/apps/${client.app.id}/secrets/${secret?.id}`)).status,
  ).toBe(204);
  expect((await grant(flow.server, client)).status).toBe(401);
  await heard;
  const res = await grant(other, client);
  expect(res.status).toBe(401);
  expect(((await res.json()) as Answer).error).toBe('invalid_client');
});

it('forgets a deleted app on every replica', async () => {
  const client = await serviceApp();
  expect((await grant(other, client)).status).toBe(200);
  const heard = cleared(other);
  expect((await api('DELETE', `/api/v1/oauth2-provider/apps/${client.app.id}`)).status).toBe(204);
  await heard;
  expect((await grant(other, client)).status).toBe(401);
});
