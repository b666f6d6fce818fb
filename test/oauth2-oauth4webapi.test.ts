import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type Flow, followAuthorization, startFlow, type TestApp } from './kit/oauth2-flow.ts';
import { startTestServer } from './kit/server.ts';
import { freePort } from './kit/tcp-proxy.ts';

// Issue 8: every grant again, with oauth4webapi as the client. It is a strict, certified
// implementation of the standards (RFC 8414, 9728, 7591, 7636, 8707, 9207, 7009, 7662):
// what it refuses, a standards client refuses. The server runs at its access URL (so the
// issuer, the endpoints and `iss` are what a real client sees), with the refresh grace
// window at 0 so rotation is strict. The browser part of the code flow (session cookie,
// consent form) is plain HTTP through followAuthorization.

const db = useTestDatabase();
let flow: Flow;
let accessUrl: string;
let issuer: URL;
let as: oauth.AuthorizationServer;
let ada: User;
/** An admin-created confidential app: a resource server, which may introspect any token. */
let resourceServer: TestApp;

// oauth4webapi speaks only https unless told otherwise; the test server is plain http.
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const NATIVE_REDIRECT = 'http://127.0.0.1/callback';
const WEB_REDIRECT = 'https://app.example/callback';

beforeAll(async () => {
  // The access URL must be where the server listens: the client reads every URL it uses
  // from the metadata, and the consent form is checked against the access URL's origin.
  const port = await freePort();
  accessUrl = `http://127.0.0.1:${port}`;
  flow = await startFlow(db.url, {
    httpAddress: { host: '127.0.0.1', port },
    accessUrl,
    oauth2RefreshGrace: 0,
    // Nearly every test registers its own client.
    rateLimitOauth2Register: 0,
  });
  issuer = new URL(accessUrl);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  ada = await flow.kit.user('ada');
  resourceServer = await flow.createApp({
    origin: 'admin',
    method: 'client_secret_basic',
    grantTypes: ['client_credentials'],
  });
});
afterAll(() => flow?.close());

// --- the client's side, in oauth4webapi calls ---------------------------------------------

type Metadata = Partial<oauth.OmitSymbolProperties<oauth.Client>>;

async function register(metadata: Metadata): Promise<oauth.OmitSymbolProperties<oauth.Client>> {
  return oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(as, metadata, insecure),
  );
}

/** A public native client, as desktop MCP clients register: loopback redirect, no secret. */
const registerPublic = () =>
  register({
    client_name: 'oauth4webapi native',
    redirect_uris: [NATIVE_REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });

/** A loopback redirect on some port: native apps listen wherever is free (RFC 8252 §7.3). */
const loopback = () => `http://127.0.0.1:${49152 + Math.floor(Math.random() * 16000)}/callback`;

interface Authorized {
  readonly callback: URL;
  /** What validateAuthResponse expects: the state sent, or expectNoState when none was. */
  readonly state: string | typeof oauth.expectNoState;
  readonly verifier: string;
  readonly redirectUri: string;
}

interface AuthorizeOptions {
  readonly user?: User;
  readonly decision?: 'allow' | 'deny';
  /** false: send no state (a client relying on PKCE alone). */
  readonly state?: false;
  /** false: send no code_challenge. */
  readonly pkce?: false;
}

/** The front channel: an authorization URL with PKCE S256 and state, and the user's decision. */
async function authorize(
  client: oauth.Client,
  redirectUri: string,
  extra: Record<string, string> = {},
  options: AuthorizeOptions = {},
): Promise<Authorized> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = options.state === false ? undefined : oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint as string);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    ...(options.pkce === false
      ? {}
      : { code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }),
    ...(state === undefined ? {} : { state }),
    ...extra,
  }).toString();
  const cookie = await flow.session(options.user ?? ada);
  const callback = await followAuthorization(url, cookie, options.decision ?? 'allow');
  return { callback, state: state ?? oauth.expectNoState, verifier, redirectUri };
}

/** The back channel: validate the callback (state, iss), then redeem the code. */
async function redeem(
  client: oauth.Client,
  auth: oauth.ClientAuth,
  got: Authorized,
  resource?: string,
): Promise<oauth.TokenEndpointResponse> {
  const params = oauth.validateAuthResponse(as, client, got.callback, got.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    auth,
    params,
    got.redirectUri,
    got.verifier,
    { ...insecure, ...(resource === undefined ? {} : { additionalParameters: { resource } }) },
  );
  return oauth.processAuthorizationCodeResponse(as, client, response);
}

/** A public client with tokens for ada: the common start of the later tests. */
async function publicTokens(
  extra: Record<string, string> = {},
): Promise<{ client: oauth.Client; tokens: oauth.TokenEndpointResponse }> {
  const client = await registerPublic();
  const tokens = await redeem(client, oauth.None(), await authorize(client, loopback(), extra));
  return { client, tokens };
}

const refresh = async (
  client: oauth.Client,
  auth: oauth.ClientAuth,
  refreshToken: string,
  additionalParameters?: Record<string, string>,
) =>
  oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, {
      ...insecure,
      ...(additionalParameters ? { additionalParameters } : {}),
    }),
  );

const revoke = async (client: oauth.Client, auth: oauth.ClientAuth, token: string) =>
  oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, token, insecure));

/** Introspection as the resource server (RFC 7662, client_secret_basic). */
async function introspect(token: string, hint?: string): Promise<oauth.IntrospectionResponse> {
  const client = { client_id: resourceServer.clientId };
  const response = await oauth.introspectionRequest(
    as,
    client,
    oauth.ClientSecretBasic(resourceServer.secret as string),
    token,
    { ...insecure, ...(hint ? { additionalParameters: { token_type_hint: hint } } : {}) },
  );
  return oauth.processIntrospectionResponse(as, client, response);
}

/** A call to Latchkey's own API as a protected resource. */
const api = (token: string, path = '/api/v1/users/me') =>
  oauth.protectedResourceRequest(
    token,
    'GET',
    new URL(`${accessUrl}${path}`),
    undefined,
    undefined,
    insecure,
  );

/** The error a promise is refused with, checked to be of the given class. */
async function refusal<E extends Error>(
  work: Promise<unknown>,
  kind: abstract new (...args: never[]) => E,
): Promise<E> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(kind);
  return err as E;
}

/** An API call refused with a Bearer invalid_token challenge (RFC 6750 §3.1). */
async function refusedAtApi(token: string): Promise<oauth.WWWAuthenticateChallenge> {
  const err = await refusal(api(token), oauth.WWWAuthenticateChallengeError);
  expect(err.status).toBe(401);
  const challenge = err.cause[0] as oauth.WWWAuthenticateChallenge;
  expect(challenge).toMatchObject({ scheme: 'bearer', parameters: { error: 'invalid_token' } });
  return challenge;
}

// --- discovery -----------------------------------------------------------------------------

describe('discovery', () => {
  it('reads the RFC 8414 document and the OpenID configuration, both for this issuer', async () => {
    const oidc = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
    );
    expect(as).toMatchObject({
      issuer: accessUrl,
      authorization_endpoint: `${accessUrl}/oauth2/authorize`,
      token_endpoint: `${accessUrl}/oauth2/token`,
      registration_endpoint: `${accessUrl}/oauth2/register`,
      revocation_endpoint: `${accessUrl}/oauth2/revoke`,
      introspection_endpoint: `${accessUrl}/oauth2/introspect`,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(oidc).toEqual(as);
  });

  it('is refused by the client when reached under another name than the issuer (RFC 8414 §3.3)', async () => {
    // The same server, asked as `localhost`: the issuer comes from the access URL, not from
    // the Host the request used, so it does not match and the client stops.
    const other = new URL(`http://localhost:${issuer.port}`);
    const response = await oauth.discoveryRequest(other, { algorithm: 'oauth2', ...insecure });
    expect(response.status).toBe(200);
    const err = await refusal(
      oauth.processDiscoveryResponse(other, response),
      oauth.OperationProcessingError,
    );
    expect(err.code).toBe(oauth.JSON_ATTRIBUTE_COMPARISON);
  });

  it.each([
    ['the API', ''],
    ['the MCP endpoint', '/mcp'],
  ])(
    'protected-resource metadata (RFC 9728) of %s names itself and leads to this issuer',
    async (_, path) => {
      const resource = new URL(`${accessUrl}${path}`);
      const metadata = await oauth.processResourceDiscoveryResponse(
        resource,
        await oauth.resourceDiscoveryRequest(resource, insecure),
      );
      expect(metadata).toMatchObject({
        resource: `${accessUrl}${path}`,
        authorization_servers: [as.issuer],
        bearer_methods_supported: ['header'],
      });
      // An MCP client goes on from the resource to its authorization server's metadata.
      const named = new URL((metadata.authorization_servers as string[])[0] as string);
      const found = await oauth.processDiscoveryResponse(
        named,
        await oauth.discoveryRequest(named, { algorithm: 'oauth2', ...insecure }),
      );
      expect(found.issuer).toBe(as.issuer);
    },
  );

  it('finds an issuer with a path (behind a reverse proxy) by both discovery algorithms', async () => {
    const port = await freePort();
    const prefixed = `http://127.0.0.1:${port}/latchkey`;
    const server = await startTestServer(db.url, {
      config: { httpAddress: { host: '127.0.0.1', port }, accessUrl: prefixed },
    });
    try {
      const id = new URL(prefixed);
      for (const algorithm of ['oauth2', 'oidc'] as const) {
        const found = await oauth.processDiscoveryResponse(
          id,
          await oauth.discoveryRequest(id, { algorithm, ...insecure }),
        );
        expect(found).toMatchObject({ issuer: prefixed, token_endpoint: `${prefixed}/oauth2/token` });
      }
      const mcp = new URL(`${prefixed}/mcp`);
      const resource = await oauth.processResourceDiscoveryResponse(
        mcp,
        await oauth.resourceDiscoveryRequest(mcp, insecure),
      );
      expect(resource.authorization_servers).toEqual([prefixed]);
    } finally {
      await server.close();
    }
  });

  it('serves each resource its own metadata: the API document does not pass for /mcp', async () => {
    const response = await oauth.resourceDiscoveryRequest(issuer, insecure);
    const err = await refusal(
      oauth.processResourceDiscoveryResponse(new URL(`${accessUrl}/mcp`), response),
      oauth.OperationProcessingError,
    );
    expect(err.code).toBe(oauth.JSON_ATTRIBUTE_COMPARISON);
  });
});

// --- dynamic client registration -------------------------------------------------------------

describe('dynamic client registration (RFC 7591)', () => {
  it('registers a public native client with a loopback redirect: no secret', async () => {
    const client = await registerPublic();
    expect(client).toMatchObject({
      client_id: expect.stringMatching(/^lkc_/),
      redirect_uris: [NATIVE_REDIRECT],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    expect(client).not.toHaveProperty('client_secret');
    // Usable at once, from whatever loopback port the app listens on.
    const got = await authorize(client, loopback());
    expect(oauth.validateAuthResponse(as, client, got.callback, got.state).get('code')).toMatch(/^lkac_/);
  });

  it.each([
    ['client_secret_basic', undefined],
    ['client_secret_post', 'client_secret_post'],
  ])('registers a confidential web client (%s) with a secret that never expires', async (method, asked) => {
    const client = await register({
      client_name: 'oauth4webapi web',
      redirect_uris: [WEB_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      ...(asked === undefined ? {} : { token_endpoint_auth_method: asked }),
    });
    expect(client).toMatchObject({
      token_endpoint_auth_method: method,
      application_type: 'web',
      client_secret: expect.stringMatching(/^lkcs_/),
      client_secret_expires_at: 0,
    });
  });

  it('refuses metadata it cannot honour with an RFC 7591 error', async () => {
    const err = await refusal(
      register({ redirect_uris: ['http://app.example/callback'] }),
      oauth.ResponseBodyError,
    );
    expect(err).toMatchObject({ status: 400, error: 'invalid_redirect_uri' });
    expect(err.error_description).toMatch(/app\.example/);
  });
});

// --- authorization_code ----------------------------------------------------------------------

describe('authorization_code with PKCE S256 and a resource', () => {
  it('a public client: iss checked (RFC 9207), code redeemed with None(), token works at the API', async () => {
    const client = await registerPublic();
    const resource = `${accessUrl}/mcp`;
    const got = await authorize(client, loopback(), { scope: 'user:read offline_access', resource });
    // The callback names this issuer; validateAuthResponse refuses one without `iss`
    // because the metadata promises it (authorization_response_iss_parameter_supported).
    expect(got.callback.searchParams.get('iss')).toBe(as.issuer);
    expect(got.callback.searchParams.get('state')).toBe(got.state);
    const tokens = await redeem(client, oauth.None(), got, resource);
    expect(tokens).toEqual({
      access_token: expect.stringMatching(/^lk_/),
      token_type: 'bearer',
      expires_in: 3600,
      scope: 'user:read offline_access',
      refresh_token: expect.stringMatching(/^lkrt_/),
    });
    const me = await api(tokens.access_token);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'ada' });
  });

  it('the metadata promises iss, so the client refuses a callback stripped of it (mix-up defence)', async () => {
    const client = await registerPublic();
    const got = await authorize(client, loopback());
    const stripped = new URL(got.callback);
    stripped.searchParams.delete('iss');
    const err = await refusal(
      Promise.resolve().then(() => oauth.validateAuthResponse(as, client, stripped, got.state)),
      oauth.OperationProcessingError,
    );
    expect(err.code).toBe(oauth.INVALID_RESPONSE);
    // The untouched callback passes, and its code is still good.
    expect((await redeem(client, oauth.None(), got)).access_token).toMatch(/^lk_/);
  });

  it('a consent once given is remembered: the next authorization comes straight back, with iss', async () => {
    const client = await registerPublic();
    await redeem(client, oauth.None(), await authorize(client, loopback(), { scope: 'user:read' }));
    // No consent page this time (followAuthorization sees the redirect at once); this
    // client sends no state, and oauth4webapi refuses a callback that carries one anyway.
    const again = await authorize(client, loopback(), { scope: 'user:read' }, { state: false });
    expect(again.callback.searchParams.has('state')).toBe(false);
    expect(again.callback.searchParams.get('iss')).toBe(as.issuer);
    const tokens = await redeem(client, oauth.None(), again);
    expect(tokens.scope).toBe('user:read');
  });

  it.each([
    ['client_secret_basic', oauth.ClientSecretBasic],
    ['client_secret_post', oauth.ClientSecretPost],
  ] as const)('a confidential client authenticating with %s', async (method, auth) => {
    const client = await register({
      redirect_uris: [WEB_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: method,
    });
    const secret = client.client_secret as string;
    const got = await authorize(client, WEB_REDIRECT, { scope: 'user:read', resource: accessUrl });
    const tokens = await redeem(client, auth(secret), got, accessUrl);
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'user:read' });
    expect(await (await api(tokens.access_token)).json()).toMatchObject({ username: 'ada' });
    const next = await refresh(client, auth(secret), tokens.refresh_token as string);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    // The same authentication at introspection (its own tokens only) and revocation.
    const own = async () =>
      oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, auth(secret), next.access_token, insecure),
      );
    expect(await own()).toMatchObject({ active: true, client_id: client.client_id, scope: 'user:read' });
    await revoke(client, auth(secret), next.refresh_token as string);
    expect(await own()).toEqual({ active: false });
  });

  it('a denied consent comes back as AuthorizationResponseError access_denied, after iss and state', async () => {
    const client = await registerPublic();
    const got = await authorize(client, loopback(), {}, { decision: 'deny' });
    expect(got.callback.searchParams.get('iss')).toBe(as.issuer);
    const err = await refusal(
      Promise.resolve().then(() => oauth.validateAuthResponse(as, client, got.callback, got.state)),
      oauth.AuthorizationResponseError,
    );
    expect(err.error).toBe('access_denied');
  });
});

// --- refresh_token -------------------------------------------------------------------------

describe('refresh_token', () => {
  it('rotates: a new pair each time, and a spent token (grace 0) is refused and ends the grant', async () => {
    const { client, tokens } = await publicTokens({ scope: 'user:read' });
    const next = await refresh(client, oauth.None(), tokens.refresh_token as string);
    expect(next).toMatchObject({ token_type: 'bearer', scope: 'user:read', expires_in: 3600 });
    expect(next.refresh_token).toMatch(/^lkrt_/);
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.access_token).not.toBe(tokens.access_token);
    expect((await api(next.access_token)).status).toBe(200);

    const reuse = await refusal(
      refresh(client, oauth.None(), tokens.refresh_token as string),
      oauth.ResponseBodyError,
    );
    expect(reuse).toMatchObject({ status: 400, error: 'invalid_grant' });
    // Reuse is taken for theft (RFC 9700 §4.14.2): the successor and its access token go too.
    await refusedAtApi(next.access_token);
    const successor = await refusal(
      refresh(client, oauth.None(), next.refresh_token as string),
      oauth.ResponseBodyError,
    );
    expect(successor.error).toBe('invalid_grant');
  });

  it('narrows the scope of one access token, keeps the grant, and refuses widening', async () => {
    const { client, tokens } = await publicTokens({ scope: 'user:read api_key:read' });
    const narrow = await refresh(client, oauth.None(), tokens.refresh_token as string, {
      scope: 'user:read',
    });
    expect(narrow.scope).toBe('user:read');
    expect(await introspect(narrow.access_token)).toMatchObject({ active: true, scope: 'user:read' });
    // The API enforces it: reading one of ada's keys needs api_key:read.
    await issueKey(flow.kit.raw, {
      userId: ada.id,
      name: 'probe',
      loginType: 'token',
      scopes: ['latchkey:all'],
      allowList: ['*:*'],
      lifetimeMs: 60_000,
      now: new Date(),
    });
    expect((await api(tokens.access_token, '/api/v1/users/me/keys/probe')).status).toBe(200);
    expect((await api(narrow.access_token, '/api/v1/users/me/keys/probe')).status).toBe(404);

    const whole = await refresh(client, oauth.None(), narrow.refresh_token as string);
    expect(whole.scope).toBe('user:read api_key:read');
    const wider = await refusal(
      refresh(client, oauth.None(), whole.refresh_token as string, { scope: 'user:read user:update' }),
      oauth.ResponseBodyError,
    );
    expect(wider).toMatchObject({ status: 400, error: 'invalid_scope' });
  });
});

// --- client_credentials --------------------------------------------------------------------

describe('client_credentials', () => {
  it("gives an admin-created confidential app its creator's token, within the app's scope", async () => {
    const owner = await flow.kit.user('creator', { siteRoles: ['owner'] });
    const app = await flow.createApp({
      origin: 'admin',
      method: 'client_secret_basic',
      grantTypes: ['client_credentials'],
      scope: 'user:read',
      createdBy: owner.id,
    });
    const client = { client_id: app.clientId };
    const auth = oauth.ClientSecretBasic(app.secret as string);
    const grant = async (parameters: Record<string, string>) =>
      oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, insecure),
      );
    const tokens = await grant({ scope: 'user:read' });
    expect(tokens).toEqual({
      access_token: expect.stringMatching(/^lk_/),
      token_type: 'bearer',
      expires_in: 3600,
      scope: 'user:read',
    });
    expect(await (await api(tokens.access_token)).json()).toMatchObject({ username: 'creator' });
    expect(await introspect(tokens.access_token)).toMatchObject({
      active: true,
      client_id: app.clientId,
      sub: owner.id,
    });
    const wider = await refusal(grant({ scope: 'user:update' }), oauth.ResponseBodyError);
    expect(wider.error).toBe('invalid_scope');
  });
});

// --- revocation and introspection ----------------------------------------------------------

describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
  it('introspection describes an active access token and refresh token to a resource server', async () => {
    const { client, tokens } = await publicTokens({ scope: 'user:read' });
    const now = Math.floor(Date.now() / 1000);
    const access = await introspect(tokens.access_token, 'access_token');
    expect(access).toEqual({
      active: true,
      scope: 'user:read',
      client_id: client.client_id,
      username: 'ada',
      sub: ada.id,
      aud: `${accessUrl}/`,
      iss: as.issuer,
      exp: expect.any(Number),
      iat: expect.any(Number),
      token_type: 'Bearer',
    });
    expect((access.exp as number) - now).toBeGreaterThan(3500);
    expect(await introspect(tokens.refresh_token as string, 'refresh_token')).toMatchObject({
      active: true,
      client_id: client.client_id,
      sub: ada.id,
      iss: as.issuer,
    });
  });

  it('revoking a refresh token ends the grant: both tokens inactive, refresh refused', async () => {
    const { client, tokens } = await publicTokens();
    await expect(revoke(client, oauth.None(), tokens.refresh_token as string)).resolves.toBeUndefined();
    expect(await introspect(tokens.refresh_token as string)).toEqual({ active: false });
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    await refusedAtApi(tokens.access_token);
    const err = await refusal(
      refresh(client, oauth.None(), tokens.refresh_token as string),
      oauth.ResponseBodyError,
    );
    expect(err.error).toBe('invalid_grant');
  });

  it('revoking an access token ends only that token', async () => {
    const { client, tokens } = await publicTokens();
    expect((await api(tokens.access_token)).status).toBe(200);
    await revoke(client, oauth.None(), tokens.access_token);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    await refusedAtApi(tokens.access_token);
    expect(await introspect(tokens.refresh_token as string)).toMatchObject({ active: true });
    const next = await refresh(client, oauth.None(), tokens.refresh_token as string);
    expect((await api(next.access_token)).status).toBe(200);
  });

  it("leaves another client's token alone, and still answers 200", async () => {
    const { tokens } = await publicTokens();
    const stranger = await registerPublic();
    await expect(revoke(stranger, oauth.None(), tokens.access_token)).resolves.toBeUndefined();
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true });
  });
});

// --- errors --------------------------------------------------------------------------------

describe('errors (RFC 6749 §5.2) as oauth4webapi surfaces them', () => {
  it('a replayed code is invalid_grant, and what the first redemption issued is revoked', async () => {
    const client = await registerPublic();
    const got = await authorize(client, loopback());
    const first = await redeem(client, oauth.None(), got);
    expect((await api(first.access_token)).status).toBe(200);
    const err = await refusal(redeem(client, oauth.None(), got), oauth.ResponseBodyError);
    expect(err).toMatchObject({ status: 400, error: 'invalid_grant' });
    expect(err.error_description).toMatch(/already used/);
    await refusedAtApi(first.access_token);
  });

  it.each([
    ['client_secret_basic', oauth.ClientSecretBasic],
    ['client_secret_post', oauth.ClientSecretPost],
  ] as const)(
    'a wrong secret (%s) is a 401 invalid_client with a Basic challenge; the code survives',
    async (method, auth) => {
      const client = await register({ redirect_uris: [WEB_REDIRECT], token_endpoint_auth_method: method });
      const got = await authorize(client, WEB_REDIRECT);
      // A response with a WWW-Authenticate challenge comes back as the challenge, body unread.
      const err = await refusal(
        redeem(client, auth('lkcs_not-the-secret'), got),
        oauth.WWWAuthenticateChallengeError,
      );
      expect(err.status).toBe(401);
      expect(err.cause).toEqual([{ scheme: 'basic', parameters: { realm: 'latchkey' } }]);
      expect(await err.response.json()).toMatchObject({
        error: 'invalid_client',
        error_description: expect.any(String),
      });
      // Client authentication comes first: the code was not spent by the failed attempt.
      expect((await redeem(client, auth(client.client_secret as string), got)).access_token).toMatch(/^lk_/);
    },
  );

  it.each([
    ['no PKCE', {}, { pkce: false }, 'invalid_request'],
    ['a resource it issues no tokens for', { resource: 'http://other.example/' }, {}, 'invalid_target'],
    ['a scope outside the catalog', { scope: 'user:read no:such' }, {}, 'invalid_scope'],
  ] as const)(
    'an authorization request with %s comes back to the client as an error, with state and iss',
    async (_, extra, options, error) => {
      const client = await registerPublic();
      const got = await authorize(client, loopback(), extra, options);
      expect(got.callback.searchParams.has('code')).toBe(false);
      const err = await refusal(
        Promise.resolve().then(() => oauth.validateAuthResponse(as, client, got.callback, got.state)),
        oauth.AuthorizationResponseError,
      );
      expect(err.error).toBe(error);
      expect(err.cause.get('iss')).toBe(as.issuer);
    },
  );

  it('a resource other than the authorized one is invalid_target (RFC 8707 §2)', async () => {
    const client = await registerPublic();
    const got = await authorize(client, loopback(), { resource: `${accessUrl}/mcp` });
    const err = await refusal(
      redeem(client, oauth.None(), got, 'https://other.example/mcp'),
      oauth.ResponseBodyError,
    );
    expect(err).toMatchObject({ status: 400, error: 'invalid_target' });
    // At refresh too: a grant for /mcp cannot be stretched to another resource server.
    const tokens = await redeem(
      client,
      oauth.None(),
      await authorize(client, loopback(), { resource: `${accessUrl}/mcp` }),
    );
    const elsewhere = await refusal(
      refresh(client, oauth.None(), tokens.refresh_token as string, {
        resource: 'https://other.example/mcp',
      }),
      oauth.ResponseBodyError,
    );
    expect(elsewhere.error).toBe('invalid_target');
  });
});

// --- the access token at Latchkey's API ---------------------------------------------------

describe('audience of access tokens at the API', () => {
  it('accepts a token for the MCP endpoint (a resource under the access URL)', async () => {
    const { tokens } = await publicTokens({ resource: `${accessUrl}/mcp` });
    expect(await introspect(tokens.access_token)).toMatchObject({ aud: `${accessUrl}/mcp` });
    const me = await api(tokens.access_token);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'ada' });
  });

  it.each([
    ['another resource server', 'https://other.example/mcp'],
    ['another port of the same host', 'http://127.0.0.1:1/'],
  ])('refuses a token for %s, pointing the client at its metadata', async (_, resource) => {
    const { tokens } = await publicTokens({ resource });
    // Valid where it belongs: a resource server introspecting it sees its own audience.
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, aud: resource });
    const challenge = await refusedAtApi(tokens.access_token);
    expect(challenge.parameters.resource_metadata).toBe(`${accessUrl}/.well-known/oauth-protected-resource`);
  });
});
