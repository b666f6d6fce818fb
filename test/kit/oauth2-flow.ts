import { randomBytes } from 'node:crypto';
import { issueKey } from '../../src/apikeys/index.ts';
import type { Config } from '../../src/config/index.ts';
import type { OAuth2App, User } from '../../src/db/index.ts';
import { hashClientSecret, newClientSecret, s256 } from '../../src/oauth2/index.ts';
import { startTestServer, type TestServer } from './server.ts';
import { type StoreKit, storeKit } from './store.ts';

// Drives the authorization server the way a client and a browser would: apps made in the
// database, a signed-in browser session as a cookie, the consent form read from the page
// and posted back, codes taken from the redirect.

export const ISSUER = 'http://127.0.0.1:3000';
export const REDIRECT = 'https://client.example/callback';
export const LOOPBACK_REDIRECT = 'http://127.0.0.1:8123/callback';

/** A JSON answer as the tests read it (fields of token, error and introspection answers). */
export interface Answer {
  readonly [key: string]: unknown;
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: string;
  readonly scope: string;
  readonly expires_in: number;
  readonly error: string;
  readonly error_description: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly apps: unknown[];
  readonly scopes_supported: string[];
}

export interface AppOptions {
  readonly name?: string;
  readonly origin?: OAuth2App['origin'];
  readonly method?: OAuth2App['token_endpoint_auth_method'];
  readonly redirectUris?: string[];
  readonly grantTypes?: string[];
  readonly scope?: string;
  readonly createdBy?: string | null;
}

export interface TestApp {
  readonly app: OAuth2App;
  readonly clientId: string;
  readonly secret: string | undefined;
}

export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
}

/** The Authorization header of client_secret_basic (RFC 6749 §2.3.1: both parts encoded). */
export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256(verifier) };
}

export interface Flow {
  readonly server: TestServer;
  readonly kit: StoreKit;
  createApp(options?: AppOptions): Promise<TestApp>;
  /** A signed-in browser: the Cookie header of a fresh session. */
  session(user: User): Promise<string>;
  /** GET /oauth2/authorize without following redirects. */
  authorize(params: Record<string, string | undefined>, cookie?: string): Promise<Response>;
  /** POSTs the consent form found in `html` with the chosen button. */
  decide(
    html: string,
    decision: 'allow' | 'deny',
    cookie: string,
    overrides?: Record<string, string>,
  ): Promise<Response>;
  /** The whole way to a code: authorize, consent (if shown) Allow, and the redirect's parameters. */
  code(
    client: TestApp,
    user: User,
    extra?: Record<string, string | undefined>,
  ): Promise<{ code: string; verifier: string; location: URL; cookie: string }>;
  /** POST /oauth2/token with a form body, authenticating as `client` per its method. */
  token(client: TestApp | undefined, form: Record<string, string>): Promise<Response>;
  /** POST to an OAuth endpoint with a form body and optional headers. */
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** The hidden fields and CSRF token of the consent form in a page. */
export function formFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[unescapeHtml(m[1] as string)] = unescapeHtml(m[2] as string);
  }
  return fields;
}

function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
const FORM = 'application/x-www-form-urlencoded';

export async function startFlow(databaseUrl: string, config: Partial<Config> = {}): Promise<Flow> {
  const kit = storeKit(databaseUrl);
  // Request-count limits off (each has its own tests): flows here send many requests at once.
  const limits: Partial<Config> = {
    rateLimitApi: 0,
    rateLimitOauth2Token: 0,
    rateLimitOauth2TokenPerClient: 0,
    rateLimitOauth2Authorize: 0,
    rateLimitOauth2AuthorizePerClient: 0,
    rateLimitOauth2RegisterPerClient: 0,
  };
  const server = await startTestServer(databaseUrl, { config: { ...limits, ...config } });
  let n = 0;
  const post = (path: string, values: Record<string, string>, headers: Record<string, string> = {}) =>
    server.request(path, {
      method: 'POST',
      headers: { 'content-type': FORM, ...headers },
      body: form(values),
      redirect: 'manual',
    });
  const flow: Flow = {
    server,
    kit,
    async createApp(options = {}) {
      n++;
      const method = options.method ?? 'none';
      const app = await kit.raw.insertOAuth2App({
        clientId: `client-${n}-${randomBytes(4).toString('hex')}`,
        origin: options.origin ?? 'dynamic',
        name: options.name ?? `App ${n}`,
        applicationType: 'web',
        tokenEndpointAuthMethod: method,
        redirectUris: options.redirectUris ?? [REDIRECT],
        grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token'],
        responseTypes: ['code'],
        scope: options.scope ?? '',
        metadata: {},
        registrationTokenHash: null,
        createdBy: options.createdBy ?? null,
      });
      let secret: string | undefined;
      if (method !== 'none') {
        const s = newClientSecret();
        secret = s.secret;
        await kit.raw.insertOAuth2AppSecret({
          appId: app.id,
          displayPrefix: s.displayPrefix,
          hashedSecret: hashClientSecret(s.secret),
        });
      }
      return { app, clientId: app.client_id, secret };
    },
    async session(user) {
      const issued = await issueKey(kit.raw, {
        userId: user.id,
        name: '',
        loginType: 'password',
        scopes: ['latchkey:all'],
        allowList: ['*:*'],
        lifetimeMs: 3_600_000,
        now: new Date(),
      });
      return `latchkey_session=${issued.token}`;
    },
    authorize(params, cookie) {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined) query.append(k, v);
      return server.request(`/oauth2/authorize?${query}`, {
        redirect: 'manual',
        headers: cookie ? { cookie } : {},
      });
    },
    decide(html, decision, cookie, overrides = {}) {
      return post(
        '/oauth2/authorize',
        { ...formFields(html), decision, ...overrides },
        { cookie, origin: new URL(ISSUER).origin },
      );
    },
    async code(client, user, extra = {}) {
      const p = pkce();
      const cookie = await flow.session(user);
      const params = {
        response_type: 'code',
        client_id: client.clientId,
        redirect_uri: client.app.redirect_uris[0],
        code_challenge: p.challenge,
        code_challenge_method: 'S256',
        state: 'st-1',
        ...extra,
      };
      let res = await flow.authorize(params, cookie);
      if (res.status === 200) res = await flow.decide(await res.text(), 'allow', cookie);
      if (res.status !== 303) throw new Error(`expected a redirect, got ${res.status}: ${await res.text()}`);
      const location = new URL(res.headers.get('location') as string);
      const code = location.searchParams.get('code');
      if (!code) throw new Error(`no code in ${location.href}`);
      return { code, verifier: p.verifier, location, cookie };
    },
    token(client, values) {
      const headers: Record<string, string> = {};
      const body = { ...values };
      if (client) {
        const method = client.app.token_endpoint_auth_method;
        if (method === 'client_secret_basic') {
          headers.authorization = basicAuth(client.clientId, client.secret ?? '');
        } else {
          body.client_id = client.clientId;
          if (method === 'client_secret_post') body.client_secret = client.secret ?? '';
        }
      }
      return post('/oauth2/token', body, headers);
    },
    post,
    async close() {
      await server.close();
      await kit.close();
    },
  };
  return flow;
}

/** Exchanges a code for tokens and returns the JSON (throws on anything but 200). */
export async function exchange(
  flow: Flow,
  client: TestApp,
  got: { code: string; verifier: string },
  extra: Record<string, string> = {},
): Promise<{ access_token: string; refresh_token?: string; scope: string; expires_in: number }> {
  const res = await flow.token(client, {
    grant_type: 'authorization_code',
    code: got.code,
    code_verifier: got.verifier,
    redirect_uri: client.app.redirect_uris[0] as string,
    ...extra,
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`token: ${res.status} ${JSON.stringify(body)}`);
  return body as { access_token: string; refresh_token?: string; scope: string; expires_in: number };
}

/**
 * A signed-in browser following an authorization URL a client built: GET it with the
 * session cookie and, when the consent page is shown, post its form back from the page's
 * own origin with the chosen button. Returns where the browser is sent back to (the
 * client's redirect URI with code or error, state and iss). Unlike Flow.code it takes the
 * URL as the client made it, so it works for any access URL and any client library.
 */
export async function followAuthorization(
  url: URL,
  cookie: string,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  let res = await fetch(url, { redirect: 'manual', headers: { cookie } });
  if (res.status === 200) {
    res = await fetch(new URL(url.pathname, url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: url.origin, 'content-type': FORM },
      body: form({ ...formFields(await res.text()), decision }),
    });
  }
  if (res.status !== 303) throw new Error(`expected a redirect, got ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get('location') as string, url);
}
