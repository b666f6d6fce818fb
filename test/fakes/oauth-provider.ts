import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { handleAuthorize } from './authorize.ts';
import type { ProviderContext, ProviderUrls } from './context.ts';
import { decideDevice, handleDeviceAuthorization } from './device.ts';
import { FaultQueue, RefreshGate } from './faults.ts';
import { FLAVOURS, type FlavourProfile, normaliseScope } from './flavours.ts';
import { sendHtml, sendJson } from './http.ts';
import { discoveryDocument, signingKey } from './oidc.ts';
import { handleGithubRevoke, handleRfcRevoke } from './revoke.ts';
import { FakeStore } from './store.ts';
import { handleToken } from './token.ts';
import type { FakeProvider, FakeProviderOptions, FakeUser } from './types.ts';
import { handleValidate } from './validate.ts';

const DEFAULT_USER: FakeUser = {
  sub: '1001',
  login: 'octocat',
  email: 'octocat@example.com',
  name: 'Mona Octocat',
  emailVerified: true,
};

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Method and path → handler, per flavour. */
function routes(ctx: ProviderContext): Map<string, Handler> {
  const path = (url: string) => new URL(url).pathname;
  const table = new Map<string, Handler>([
    [`GET ${path(ctx.urls.authorize)}`, (_req, res, url) => handleAuthorize(ctx, res, url)],
    [`POST ${path(ctx.urls.token)}`, (req, res) => handleToken(ctx, req, res)],
    [`POST ${path(ctx.urls.device)}`, (req, res) => handleDeviceAuthorization(ctx, req, res)],
    [`GET ${path(ctx.urls.validate)}`, (req, res) => handleValidate(ctx, req, res)],
    [
      `GET ${path(ctx.urls.verification)}`,
      (_req, res) => sendHtml(res, 200, 'Device activation', 'Enter the code shown on your device.'),
    ],
  ]);
  if (ctx.flavour === 'github') {
    table.set(`DELETE ${path(ctx.urls.revoke)}`, (req, res) => handleGithubRevoke(ctx, req, res));
  } else {
    table.set(`POST ${path(ctx.urls.revoke)}`, (req, res) => handleRfcRevoke(ctx, req, res));
  }
  if (ctx.flavour === 'oidc') {
    const discovery = discoveryDocument(ctx.issuer, { ...ctx.urls, userinfo: ctx.urls.validate });
    table.set('GET /.well-known/openid-configuration', (_req, res) => sendJson(res, 200, discovery));
    table.set(`GET ${path(ctx.urls.jwks)}`, async (_req, res) => {
      const { publicJwk } = await signingKey();
      sendJson(res, 200, { keys: [publicJwk] });
    });
  }
  return table;
}

function urlsFor(base: string, paths: FlavourProfile['paths'], clientId: string): ProviderUrls {
  return {
    base,
    authorize: base + paths.authorize,
    token: base + paths.token,
    device: base + paths.device,
    verification: base + paths.verification,
    validate: base + paths.validate,
    revoke: base + paths.revoke.replace('{client_id}', encodeURIComponent(clientId)),
    jwks: paths.jwks === undefined ? '' : base + paths.jwks,
  };
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('fake provider: no address');
  return address.port;
}

/** Starts a fake GitHub, GitLab or OIDC provider on 127.0.0.1 and a random port. */
export async function startFakeProvider(options: FakeProviderOptions): Promise<FakeProvider> {
  const { flavour } = options;
  const profile = FLAVOURS[flavour];
  const clientId = options.clientId ?? 'fake-client';
  const clientSecret = options.clientSecret ?? 'fake-secret';
  if (flavour === 'oidc') await signingKey();
  const server = createServer();
  const base = `http://127.0.0.1:${await listen(server, options.port ?? 0)}`;
  const store = new FakeStore({
    profile,
    users: options.users ?? [DEFAULT_USER],
    issueRefreshTokens: options.issueRefreshTokens ?? true,
    now: options.now ?? Date.now,
  });
  const ctx: ProviderContext = {
    flavour,
    profile,
    clientId,
    clientSecret,
    accessTokenTtlSeconds:
      options.accessTokenTtlSeconds === undefined
        ? profile.accessTokenTtlSeconds
        : options.accessTokenTtlSeconds,
    deviceIntervalSeconds: options.deviceIntervalSeconds ?? 5,
    deviceCodeTtlSeconds: options.deviceCodeTtlSeconds ?? 900,
    latencyMs: options.latencyMs ?? 0,
    issuer: base,
    urls: urlsFor(base, profile.paths, clientId),
    store,
    faults: new FaultQueue(),
    gate: new RefreshGate(),
    stats: {
      tokenCalls: 0,
      refreshCalls: 0,
      successfulRefreshes: 0,
      validateCalls: 0,
      revokeCalls: 0,
      deviceCodeCalls: 0,
    },
    authorizeRequests: [],
    revokedTokens: [],
    rateWindow: undefined,
  };
  const table = routes(ctx);

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    const handler = table.get(`${req.method} ${url.pathname}`);
    if (!handler) return sendJson(res, 404, { message: 'Not Found' });
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err: unknown) => {
        console.error('fake provider: handler failed', err);
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
        else res.destroy();
      });
  });

  return {
    flavour,
    clientId,
    clientSecret,
    url: base,
    authUrl: ctx.urls.authorize,
    tokenUrl: ctx.urls.token,
    validateUrl: ctx.urls.validate,
    revokeUrl: ctx.urls.revoke,
    deviceCodeUrl: ctx.urls.device,
    issuer: ctx.issuer,
    get users() {
      return store.users;
    },
    nextLogin(user) {
      store.loggedIn = store.user(user);
    },
    mintTokens(user, opts = {}) {
      const { sub } = store.user(user);
      const scope = normaliseScope(profile, opts.scope ?? profile.defaultScope);
      const ttl = opts.ttlSeconds === undefined ? ctx.accessTokenTtlSeconds : opts.ttlSeconds;
      return store.issue({ sub, clientId, scope, nonce: undefined }, ttl).tokens;
    },
    expireAccessToken: (accessToken) => store.expireAccess(accessToken),
    revokeAll: (user) => store.revokeUser(store.user(user).sub),
    stats: ctx.stats,
    authorizeRequests: ctx.authorizeRequests,
    revokedTokens: ctx.revokedTokens,
    failNext: (endpoint, fault) => ctx.faults.push(endpoint, fault),
    holdRefreshes: () => ctx.gate.hold(),
    approveDevice(userCode, user) {
      decideDevice(ctx, userCode, user === undefined ? store.loggedIn : store.user(user));
    },
    denyDevice: (userCode) => decideDevice(ctx, userCode, 'deny'),
    async close() {
      ctx.gate.release();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
