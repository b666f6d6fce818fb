import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ClientMetadataDocuments,
  cacheLifetimeMs,
  clientIdUrlProblem,
  type DocumentOptions,
  type Resolver,
  resolveClient,
} from '../src/oauth2/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type StoreKit, storeKit } from './kit/store.ts';

// OA-2: client ID metadata documents. Documents are served by a local HTTP server, so the
// happy paths run with allowPrivate (the test switch, oauth2AllowPrivateClientMetadata);
// the SSRF guard is tested with it off, where nothing may reach this machine.

const db = useTestDatabase();
let kit: StoreKit;
let site: http.Server;
let base: string;
const hits: string[] = [];
type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const routes = new Map<string, Handler>();

beforeAll(async () => {
  kit = storeKit(db.url);
  site = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const handler = routes.get(req.url ?? '');
    if (handler) return handler(req, res);
    res.writeHead(404).end();
  });
  site.listen(0, '127.0.0.1');
  await once(site, 'listening');
  base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
afterAll(async () => {
  site?.closeAllConnections();
  site?.close();
  await kit?.close();
});
beforeEach(() => {
  hits.length = 0;
});

let clock = Date.now();
const documents = (options: Partial<DocumentOptions> = {}) =>
  new ClientMetadataDocuments(kit.authz, { allowPrivate: true, now: () => clock, ...options });

/** Serves `doc` at `path` as JSON, with optional extra headers. */
function serve(path: string, doc: unknown, headers: Record<string, string> = {}, status = 200): string {
  routes.set(path, (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(doc));
  });
  return `${base}${path}`;
}

const documentFor = (url: string, extra: Record<string, unknown> = {}) => ({
  client_id: url,
  client_name: 'Doc client',
  client_uri: 'https://client.example',
  redirect_uris: ['http://127.0.0.1:33418/callback', 'https://client.example/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  ...extra,
});

describe('a valid document', () => {
  it('becomes a client: stored with origin metadata_document and the URL as client_id', async () => {
    const url = `${base}/valid.json`;
    serve('/valid.json', documentFor(url));
    const app = await resolveClient({ authz: kit.authz, documents: documents() }, url);
    expect(app).toMatchObject({
      client_id: url,
      origin: 'metadata_document',
      name: 'Doc client',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1:33418/callback', 'https://client.example/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      metadata: { client_uri: 'https://client.example' },
    });
    expect(await kit.raw.getOAuth2AppByClientId({ clientId: url })).toMatchObject({ id: app?.id });
  });

  it('is cached per its Cache-Control, within bounds, and refreshed after', async () => {
    const url = `${base}/cached.json`;
    serve('/cached.json', documentFor(url), { 'cache-control': 'public, max-age=3600' });
    const docs = documents();
    const first = await docs.resolve(url);
    await docs.resolve(url);
    expect(hits).toEqual(['/cached.json']);
    serve('/cached.json', documentFor(url, { client_name: 'Renamed' }));
    clock += 3_599_000;
    expect((await docs.resolve(url))?.name).toBe('Doc client');
    clock += 2_000;
    const refreshed = await docs.resolve(url);
    expect(refreshed?.name).toBe('Renamed');
    expect(refreshed?.id).toBe(first?.id);
    expect(hits).toHaveLength(2);
  });

  it('concurrent first uses fetch it once', async () => {
    const url = `${base}/concurrent.json`;
    serve('/concurrent.json', documentFor(url));
    const docs = documents();
    const apps = await Promise.all(Array.from({ length: 10 }, () => docs.resolve(url)));
    expect(new Set(apps.map((a) => a?.id)).size).toBe(1);
    expect(hits).toEqual(['/concurrent.json']);
  });

  it('accepts a more specific +json content type', async () => {
    const url = `${base}/typed.json`;
    serve('/typed.json', documentFor(url), {
      'content-type': 'application/oauth-client+json; charset=utf-8',
    });
    expect(await documents().resolve(url)).toBeDefined();
  });

  it('connects to the address it checked: the name is resolved once, by the guard', async () => {
    const port = (site.address() as AddressInfo).port;
    const url = `http://client.invalid:${port}/pinned.json`;
    serve('/pinned.json', documentFor(url));
    // client.invalid cannot resolve in real DNS: a second lookup by the HTTP client would fail.
    const resolver: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    expect(await documents({ resolver }).resolve(url)).toMatchObject({ client_id: url });
  });
});

describe('documents that are refused', () => {
  it.each([
    ['a client_id that is not its URL', (url: string) => documentFor(`${url}x`)],
    ['a client secret', (url: string) => documentFor(url, { client_secret: 's3cret' })],
    ['client_secret_expires_at', (url: string) => documentFor(url, { client_secret_expires_at: 0 })],
    [
      'a shared-secret auth method',
      (url: string) => documentFor(url, { token_endpoint_auth_method: 'client_secret_basic' }),
    ],
    [
      'private_key_jwt (unsupported)',
      (url: string) => documentFor(url, { token_endpoint_auth_method: 'private_key_jwt' }),
    ],
    ['no redirect URIs', (url: string) => documentFor(url, { redirect_uris: [] })],
    [
      'a javascript: redirect URI',
      (url: string) => documentFor(url, { redirect_uris: ['javascript:alert(1)'] }),
    ],
    ['not an object', () => [1, 2, 3]],
  ])('%s', async (name, make) => {
    const path = `/refused-${name.replace(/\W+/g, '-')}.json`;
    const url = `${base}${path}`;
    serve(path, make(url));
    expect(await documents().resolve(url)).toBeUndefined();
    expect(await kit.raw.getOAuth2AppByClientId({ clientId: url })).toBeUndefined();
  });

  it('a redirect is not followed', async () => {
    const url = `${base}/redirect.json`;
    routes.set('/redirect.json', (_req, res) => res.writeHead(302, { location: `${base}/valid.json` }).end());
    expect(await documents().resolve(url)).toBeUndefined();
    expect(hits).toEqual(['/redirect.json']);
  });

  it('a non-200 answer', async () => {
    const url = serve('/gone.json', {}, {}, 404);
    expect(await documents().resolve(url)).toBeUndefined();
  });

  it('a document not served as JSON', async () => {
    const url = `${base}/html.json`;
    serve('/html.json', documentFor(url), { 'content-type': 'text/html' });
    expect(await documents().resolve(url)).toBeUndefined();
  });

  it('a document over the size limit, whether it says so or not', async () => {
    const url = `${base}/big.json`;
    serve('/big.json', documentFor(url, { padding: 'x'.repeat(70 * 1024) }));
    expect(await documents().resolve(url)).toBeUndefined();
    const chunked = `${base}/big-chunked.json`;
    routes.set('/big-chunked.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 80; i++) res.write('x'.repeat(1024));
      res.end();
    });
    expect(await documents().resolve(chunked)).toBeUndefined();
  });

  it('a server that does not answer in time', async () => {
    const url = `${base}/slow.json`;
    routes.set('/slow.json', () => {
      // never answers
    });
    const started = Date.now();
    expect(await documents({ timeoutMs: 200 }).resolve(url)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('when the client site fails', () => {
  it('an outage (5xx) lets a copy fetched within 24 h stand in', async () => {
    const url = `${base}/flaky.json`;
    serve('/flaky.json', documentFor(url));
    const stored = await documents().resolve(url);
    serve('/flaky.json', {}, {}, 503);
    expect(await documents().resolve(url)).toMatchObject({ id: stored?.id });
  });

  it('a 4xx means the client is gone', async () => {
    const url = `${base}/withdrawn.json`;
    serve('/withdrawn.json', documentFor(url));
    await documents().resolve(url);
    serve('/withdrawn.json', {}, {}, 404);
    expect(await documents().resolve(url)).toBeUndefined();
  });
});

describe('SSRF guard (allowPrivate off, as in production)', () => {
  const guarded = (resolver?: Resolver) => documents({ allowPrivate: false, resolver });

  it('refuses an https client_id on a loopback address without connecting', async () => {
    const port = (site.address() as AddressInfo).port;
    for (const url of [`https://127.0.0.1:${port}/doc.json`, `https://[::1]:${port}/doc.json`]) {
      expect(await guarded().resolve(url)).toBeUndefined();
    }
    expect(hits).toEqual([]);
  });

  it.each([
    ['loopback', '127.0.0.1'],
    ['cloud metadata (link-local)', '169.254.169.254'],
    ['a private network', '10.0.0.8'],
    ['IPv4-mapped loopback', '::ffff:127.0.0.1'],
    ['unique-local IPv6', 'fd00::8'],
  ])('refuses a name that resolves to %s', async (_name, address) => {
    const resolver: Resolver = async () => [{ address, family: address.includes(':') ? 6 : 4 }];
    const url = 'https://client.example/oauth/client.json';
    expect(await guarded(resolver).resolve(url)).toBeUndefined();
    expect(await kit.raw.getOAuth2AppByClientId({ clientId: url })).toBeUndefined();
  });

  it('refuses http', async () => {
    const url = `${base}/valid.json`;
    serve('/valid.json', documentFor(url));
    expect(await guarded().resolve(url)).toBeUndefined();
    expect(hits).toEqual([]);
  });

  it('explains a refusal (for the authorize error page)', async () => {
    const resolver: Resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    const outcome = await guarded(resolver).explain('https://client.example/client.json');
    expect(outcome).toMatchObject({ name: 'DocumentError', message: expect.stringContaining('link-local') });
  });
});

describe('client_id URL rules', () => {
  it.each([
    ['https://client.example/client.json', undefined],
    ['https://client.example/c?v=1', undefined],
    ['http://client.example/client.json', 'must use https'],
    ['https://client.example', 'must have a path'],
    ['https://client.example/', 'must have a path'],
    ['https://client.example/a#frag', 'must not have a fragment'],
    ['https://user:pw@client.example/c.json', 'must not contain user information'],
    ['https://client.example/a/../b.json', 'must not contain . or .. path segments'],
    ['https://client.example/a/%2e%2e/b.json', 'must not contain . or .. path segments'],
    ['https://CLIENT.example/c.json', 'canonical form'],
    ['not a url', 'is not a URL'],
  ])('%s', (url, problem) => {
    const found = clientIdUrlProblem(url, false);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});

describe('cache lifetime', () => {
  const MIN = 300_000;
  const MAX = 86_400_000;
  it.each([
    [undefined, MIN],
    ['max-age=60', MIN],
    ['public, max-age=3600', 3_600_000],
    ['max-age=9999999', MAX],
    ['no-store', MIN],
    ['no-cache, max-age=3600', MIN],
    ['private, max-age="600"', 600_000],
  ])('%s → %d ms', (header, ms) => {
    expect(cacheLifetimeMs(header, MIN, MAX)).toBe(ms);
  });
});
