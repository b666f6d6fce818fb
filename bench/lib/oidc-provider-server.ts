import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type OidcClient, type OidcModel } from 'oidc-provider';
import pg from 'pg';
import { OIDC_PAYLOADS_SCHEMA, PostgresAdapter } from './oidc-provider-adapter.ts';

// oidc-provider configured as Latchkey's authorization server is, for the OAuth benchmark
// (bench/oauth2.ts), run in a process of its own: `node bench/lib/oidc-provider-server.ts`
// forked with an IPC channel (bench/lib/oidc-provider-process.ts drives it).
//
// What is configured to match Latchkey:
// - PKCE required for every client (S256, the only method oidc-provider 9 accepts);
// - refresh tokens for every client allowed the refresh_token grant, rotated on every use;
// - opaque tokens everywhere (resource indicators with accessTokenFormat 'opaque'), stored
//   through the adapter, as Latchkey stores every token;
// - resource indicators (RFC 8707): codes and refresh tokens carry the resource, access
//   tokens are bound to it, client_credentials defaults to it;
// - a public client (token_endpoint_auth_method none) and a confidential service client
//   (client_secret_basic) that may use client_credentials and introspect any token;
// - tokens do not end with a browser session (Latchkey has none to end them with), and no
//   ID token is issued (no openid scope): Latchkey is an OAuth server, not an OP.
// Lifetimes are Latchkey's defaults: access tokens 1 h, refresh tokens 30 days, codes 300 s.
// Clients are static configuration (held in memory by oidc-provider).

export const PUBLIC_CLIENT_ID = 'bench-public';
export const SERVICE_CLIENT_ID = 'bench-service';
export const SERVICE_CLIENT_SECRET = 'bench-service-secret-0123456789abcdef0123456789abcdef';
export const REDIRECT_URI = 'https://client.example/callback';
export const RESOURCE = 'https://api.example/';
export const SCOPE = 'api:read';
const ACCOUNT_ID = 'bench-user';

export type AdapterKind = 'postgres' | 'memory';

export type Command =
  | { readonly id: number; readonly kind: 'mint-refresh-tokens'; readonly count: number }
  | { readonly id: number; readonly kind: 'mint-codes'; readonly count: number }
  | { readonly id: number; readonly kind: 'stats' }
  | { readonly id: number; readonly kind: 'stop' };

export interface MintedCode {
  readonly code: string;
  readonly verifier: string;
}

export interface Stats {
  /** Statements the PostgreSQL adapter sent. */
  readonly queries: number;
}

export type Answer =
  | { readonly kind: 'ready'; readonly url: string }
  | { readonly id: number; readonly kind: 'refresh-tokens'; readonly values: string[] }
  | { readonly id: number; readonly kind: 'codes'; readonly codes: MintedCode[] }
  | { readonly id: number; readonly kind: 'stats'; readonly stats: Stats }
  | { readonly id: number; readonly kind: 'stopped' };

async function configuration(adapter: AdapterKind): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'bench' };
  return {
    ...(adapter === 'postgres' ? { adapter: PostgresAdapter } : {}),
    clients: [
      {
        client_id: PUBLIC_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT_URI],
      },
      {
        client_id: SERVICE_CLIENT_ID,
        client_secret: SERVICE_CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: async (_ctx: unknown, accountId: string) => ({
      accountId,
      claims: async () => ({ sub: accountId }),
    }),
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx: unknown, client: OidcClient) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    clientBasedCORS: () => true,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 300,
      ClientCredentials: 3600,
      Grant: 30 * 86_400,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 30 * 86_400,
      Session: 86_400,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // As Latchkey: a confidential client introspects; a resource server any token.
        allowedPolicy: async (_ctx: unknown, client: OidcClient) => client.clientAuthMethod !== 'none',
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: SCOPE,
          accessTokenFormat: 'opaque',
          accessTokenTTL: 3600,
        }),
      },
    },
  };
}

/** A grant for one authorization, as the consent step would save it. */
async function newGrant(provider: Provider): Promise<string> {
  const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: PUBLIC_CLIENT_ID });
  grant.addResourceScope(RESOURCE, SCOPE);
  return grant.save();
}

/** Codes and refresh tokens made by the models themselves (their own save()), fields as issued. */
async function mint(adapter: AdapterKind, make: () => Promise<void>): Promise<void> {
  if (adapter === 'postgres') await PostgresAdapter.deferWrites(make);
  else await make();
}

async function mintRefreshTokens(provider: Provider, client: OidcClient, count: number): Promise<string[]> {
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const token: OidcModel = new provider.RefreshToken({
      accountId: ACCOUNT_ID,
      authTime: Math.floor(Date.now() / 1000),
      client,
      grantId: await newGrant(provider),
      gty: 'authorization_code',
      resource: RESOURCE,
      rotations: 0,
      scope: SCOPE,
      sessionUid: randomBytes(16).toString('base64url'),
    });
    values.push(await token.save());
  }
  return values;
}

async function mintCodes(provider: Provider, client: OidcClient, count: number): Promise<MintedCode[]> {
  const codes: MintedCode[] = [];
  for (let i = 0; i < count; i++) {
    const verifier = randomBytes(32).toString('base64url');
    const code: OidcModel = new provider.AuthorizationCode({
      accountId: ACCOUNT_ID,
      authTime: Math.floor(Date.now() / 1000),
      client,
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      codeChallengeMethod: 'S256',
      grantId: await newGrant(provider),
      redirectUri: REDIRECT_URI,
      resource: RESOURCE,
      scope: SCOPE,
      sessionUid: randomBytes(16).toString('base64url'),
    });
    codes.push({ code: await code.save(), verifier });
  }
  return codes;
}

async function serve(port: number, adapter: AdapterKind, databaseUrl: string | undefined): Promise<void> {
  const send = (answer: Answer) => process.send?.(answer);
  let pool: pg.Pool | undefined;
  if (adapter === 'postgres') {
    if (!databaseUrl) throw new Error('--database-url is required with --adapter postgres');
    // Latchkey's default pool (LATCHKEY_DB_POOL_MAX, idle timeout), so both sides have as many connections.
    pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 10,
      idleTimeoutMillis: 30_000,
      application_name: 'oidc-provider-bench',
    });
    await pool.query(OIDC_PAYLOADS_SCHEMA);
    PostgresAdapter.use(pool);
  }
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, await configuration(adapter));
  const server = http.createServer(provider.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const client = await provider.Client.find(PUBLIC_CLIENT_ID);
  if (!client) throw new Error('the public client is not configured');

  process.on('message', async (command: Command) => {
    switch (command.kind) {
      case 'mint-refresh-tokens': {
        let values: string[] = [];
        await mint(adapter, async () => {
          values = await mintRefreshTokens(provider, client, command.count);
        });
        send({ id: command.id, kind: 'refresh-tokens', values });
        return;
      }
      case 'mint-codes': {
        let codes: MintedCode[] = [];
        await mint(adapter, async () => {
          codes = await mintCodes(provider, client, command.count);
        });
        send({ id: command.id, kind: 'codes', codes });
        return;
      }
      case 'stats':
        send({ id: command.id, kind: 'stats', stats: { queries: PostgresAdapter.queries } });
        return;
      case 'stop':
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await pool?.end();
        // Exiting through process.exit still writes the --cpu-prof profile, when one was asked for.
        process.send?.({ id: command.id, kind: 'stopped' } satisfies Answer, undefined, {}, () =>
          process.exit(0),
        );
        return;
    }
  });
  send({ kind: 'ready', url: issuer });
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

if (import.meta.main) {
  const adapter = argument('adapter') === 'memory' ? 'memory' : 'postgres';
  await serve(Number(argument('port') ?? '0'), adapter, argument('database-url'));
}
