import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import type { User } from '../src/db/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { type Flow, formFields, startFlow } from './kit/oauth2-flow.ts';
import { providerFor, seedLink } from './kit/providers.ts';
import { freePort } from './kit/tcp-proxy.ts';

// OA-7 and "the proof": Latchkey's MCP endpoint, driven by the official MCP TypeScript
// SDK client and its OAuth provider interface against the running server: 401 → resource
// metadata → AS metadata → registration → authorize (signed-in user, consent "Allow" via
// the form) → token with `resource` → tools → refresh once the access token is gone.

const db = useTestDatabase();
let flow: Flow;
let github: FakeProvider;
let accessUrl: string;
let ada: User;

beforeAll(async () => {
  github = await startFakeProvider({ flavour: 'github' });
  const port = await freePort();
  accessUrl = `http://127.0.0.1:${port}`;
  flow = await startFlow(db.url, {
    httpAddress: { host: '127.0.0.1', port },
    accessUrl,
    externalAuth: [providerFor(github)],
  });
  ada = await flow.kit.user('ada');
});
afterAll(async () => {
  await flow?.close();
  await github?.close();
});

const mcpUrl = () => new URL(`${accessUrl}/mcp`);

/** The OAuth client state an MCP client keeps, in memory; the test plays the browser. */
class TestOAuthProvider implements OAuthClientProvider {
  readonly redirectUrl = 'http://127.0.0.1:33418/callback';
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  /** The code the "browser" brought back from the redirect. */
  code: string | undefined;
  authorizations = 0;

  readonly user: User;
  readonly scope: string;

  constructor(user: User, scope = 'latchkey:all offline_access') {
    this.user = user;
    this.scope = scope;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'MCP SDK test client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: this.scope,
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  /** The browser: signed in, opens the URL, clicks "Allow", lands on the redirect. */
  async redirectToAuthorization(url: URL) {
    this.authorizations++;
    expect(url.origin).toBe(accessUrl);
    const cookie = await flow.session(this.user);
    const page = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('MCP SDK test client');
    const decided = await fetch(`${accessUrl}/oauth2/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: accessUrl },
      body: new URLSearchParams({ ...formFields(html), decision: 'allow' }).toString(),
      redirect: 'manual',
    });
    expect(decided.status).toBe(303);
    const location = new URL(decided.headers.get('location') as string);
    expect(`${location.origin}${location.pathname}`).toBe(this.redirectUrl);
    expect(location.searchParams.get('iss')).toBe(accessUrl);
    this.code = location.searchParams.get('code') ?? undefined;
  }
}

/** Connects the SDK client, going through authorization on the first 401. */
async function connect(provider: TestOAuthProvider): Promise<Client> {
  const client = new Client({ name: 'latchkey-test', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider }));
    return client;
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  expect(provider.code).toBeDefined();
  const transport = new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider });
  await transport.finishAuth(provider.code as string);
  const again = new Client({ name: 'latchkey-test', version: '1.0.0' });
  await again.connect(new StreamableHTTPClientTransport(mcpUrl(), { authProvider: provider }));
  return again;
}

const structured = (result: unknown) =>
  (result as CallToolResult).structuredContent as Record<string, unknown>;
const text = (result: unknown) => {
  const first = (result as CallToolResult).content[0];
  return first?.type === 'text' ? first.text : '';
};

const bearerKey = async (user: User, scopes: string[]) =>
  (
    await issueKey(flow.kit.raw, {
      userId: user.id,
      name: `mcp-${scopes.join('-')}-${Math.random().toString(36).slice(2)}`,
      loginType: 'token',
      scopes,
      allowList: ['*:*'],
      lifetimeMs: 3_600_000,
      now: new Date(),
    })
  ).token;

describe('POST /mcp without a token', () => {
  it('is 401 with a challenge naming the MCP resource metadata, readable cross-origin', async () => {
    const res = await fetch(mcpUrl(), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        origin: 'https://agent.example',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    const metadataUrl = `${accessUrl}/.well-known/oauth-protected-resource/mcp`;
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer realm="latchkey", resource_metadata="${metadataUrl}"`,
    );
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('www-authenticate');
    // The document it names describes this very endpoint.
    const prm = (await (await fetch(metadataUrl)).json()) as {
      resource: string;
      authorization_servers: string[];
    };
    expect(prm.resource).toBe(`${accessUrl}/mcp`);
    expect(prm.authorization_servers).toEqual([accessUrl]);
  });

  it('names the MCP metadata when a token is refused too', async () => {
    const res = await fetch(mcpUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer lk_nope_nope' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(`resource_metadata="${accessUrl}/.well-known/oauth-protected-resource/mcp"`);
  });

  it('answers the CORS preflight', async () => {
    const res = await fetch(mcpUrl(), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://agent.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('GET and DELETE authenticate, then say 405 (stateless: no stream, no session)', async () => {
    expect((await fetch(mcpUrl())).status).toBe(401);
    const key = await bearerKey(ada, ['latchkey:all']);
    const res = await fetch(mcpUrl(), { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const del = await fetch(mcpUrl(), { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect(del.status).toBe(405);
  });
});

describe('the official MCP SDK client over OAuth', () => {
  it('registers, authorizes, calls tools, and refreshes once its access token is revoked', async () => {
    const provider = new TestOAuthProvider(ada);
    const client = await connect(provider);
    expect(provider.authorizations).toBe(1);
    expect(provider.client?.client_id).toMatch(/^lkc_/);
    const first = provider.saved;
    expect(first?.refresh_token).toBeTruthy();

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['get_external_token', 'list_external_auth', 'whoami']);

    const me = await client.callTool({ name: 'whoami', arguments: {} });
    expect(me.isError).toBeFalsy();
    expect(structured(me)).toEqual({ user_id: ada.id, username: 'ada', scopes: ['latchkey:all'] });

    // The token is bound to the MCP endpoint (RFC 8707 resource).
    const key = await flow.kit.handle.db
      .selectFrom('api_keys')
      .select(['audience', 'login_type', 'scopes'])
      .where('user_id', '=', ada.id)
      .where('login_type', '=', 'oauth2_app')
      .executeTakeFirstOrThrow();
    expect(key.audience).toBe(`${accessUrl}/mcp`);
    // The SDK asks for every scope in scopes_supported; latchkey:all absorbs the rest.
    expect(key.scopes).toEqual(['latchkey:all']);

    // The server drops the access token; the SDK's next call gets a 401 and refreshes.
    const revoked = await flow.post('/oauth2/revoke', {
      token: first?.access_token as string,
      client_id: provider.client?.client_id as string,
    });
    expect(revoked.status).toBe(200);
    const again = await client.callTool({ name: 'whoami', arguments: {} });
    expect(structured(again)).toMatchObject({ user_id: ada.id });
    expect(provider.saved?.access_token).not.toBe(first?.access_token);
    expect(provider.saved?.refresh_token).not.toBe(first?.refresh_token);
    expect(provider.authorizations).toBe(1);
    await client.close();
  });
});

describe('tools', () => {
  const connectWith = async (scopes: string[]) => {
    const client = new Client({ name: 'latchkey-test', version: '1.0.0' });
    const key = await bearerKey(ada, scopes);
    await client.connect(
      new StreamableHTTPClientTransport(mcpUrl(), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    return client;
  };

  it('list_external_auth and get_external_token act for the caller', async () => {
    await seedLink(flow.kit.raw, github, { userId: ada.id, expiresInMs: 3_600_000 });
    const client = await connectWith(['latchkey:all']);
    const list = structured(await client.callTool({ name: 'list_external_auth', arguments: {} }));
    expect(list.providers).toEqual([
      expect.objectContaining({
        id: 'github',
        linked: true,
        link_url: `${accessUrl}/external-auth/github/link`,
      }),
    ]);
    const token = await client.callTool({ name: 'get_external_token', arguments: { provider: 'github' } });
    expect(token.isError).toBeFalsy();
    expect(structured(token)).toMatchObject({ provider: 'github', token_type: 'Bearer' });
    expect(String(structured(token).access_token)).not.toBe('');

    const unknown = await client.callTool({ name: 'get_external_token', arguments: { provider: 'nope' } });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toContain('provider_not_found');
    await client.close();
  });

  it('get_external_token needs a scope that reads external-auth links, and says which', async () => {
    const client = await connectWith(['user:read']);
    const me = structured(await client.callTool({ name: 'whoami', arguments: {} }));
    expect(me.scopes).toEqual(['user:read']);
    // Listing works, but links the token may not read show as not linked.
    const list = structured(await client.callTool({ name: 'list_external_auth', arguments: {} }));
    expect(list.providers).toEqual([expect.objectContaining({ id: 'github', linked: false })]);
    const refused = await client.callTool({ name: 'get_external_token', arguments: { provider: 'github' } });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain('external_auth_link:read');
    expect(JSON.stringify(refused)).not.toContain(github.clientSecret);
    await client.close();

    const allowed = await connectWith(['external_auth_link:read']);
    const token = await allowed.callTool({ name: 'get_external_token', arguments: { provider: 'github' } });
    expect(token.isError).toBeFalsy();
    await allowed.close();
  });
});
