import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { generateKey, hashPassword } from '../src/apikeys/index.ts';
import { OPTION_LIST } from '../src/config/index.ts';
import { createStore, openDatabase } from '../src/db/index.ts';
import { CODE_LIFETIME_SECONDS, newClientSecret, ownResource, s256 } from '../src/oauth2/index.ts';
import { createLogger, Metrics } from '../src/observability/index.ts';
import { benchDatabase } from './lib/database.ts';
import { type OidcProviderProcess, startOidcProvider } from './lib/oidc-provider-process.ts';
import {
  PUBLIC_CLIENT_ID,
  REDIRECT_URI,
  SERVICE_CLIENT_ID,
  SERVICE_CLIENT_SECRET,
} from './lib/oidc-provider-server.ts';
import { type Figure, report } from './lib/report.ts';

/**
 * Issue 8's OAuth figures: Latchkey's authorization server against oidc-provider
 * (configured alike, bench/lib/oidc-provider-server.ts), each in a process of its own on
 * one PostgreSQL database, driven by autocannon at 50 connections from this process.
 *
 * - refresh_token grants and authorization_code exchanges, Latchkey against oidc-provider
 *   with a PostgreSQL adapter (bench/lib/oidc-provider-adapter.ts). Every request presents
 *   a code or refresh token never presented before (minted in bulk before timing, handed
 *   out one per request); after each run the database must show exactly as many codes
 *   redeemed or refresh tokens rotated as the server answered 200, so no answer was a
 *   grace-window repeat.
 * - client_credentials grants and introspection, Latchkey on PostgreSQL against
 *   oidc-provider with its in-memory adapter (and with the PostgreSQL one).
 * - Per request, on each side: PostgreSQL round trips (Latchkey's /metrics counter; the
 *   adapter's own count), CPU time of the server process and of its PostgreSQL backends.
 * - A CPU profile (node --cpu-prof) of Latchkey under each grant, summarised by self time,
 *   with what its PostgreSQL backends were waiting on meanwhile.
 *
 * Runs alternate between the sides, so a machine shared with other work loads both alike;
 * the load average is kept with every run.
 */
const CONNECTIONS = 50;
const LATCHKEY_SCOPE = 'user:read';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const KINDS = ['refresh', 'code', 'client_credentials', 'introspect'] as const;
type Kind = (typeof KINDS)[number];
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export async function benchOAuth2(
  options: { seconds?: number; rounds?: number; warmSeconds?: number; profileSeconds?: number } = {},
): Promise<void> {
  const { seconds = 5, rounds = 2, warmSeconds = 2, profileSeconds = 6 } = options;
  const loadBefore = loadavg();
  const database = await benchDatabase('oauth2');
  const bench = new pg.Pool({ connectionString: database.url, max: 4, application_name: 'latchkey-bench' });
  // Connections still open when the database is dropped at the end are terminated: expected.
  bench.on('error', () => undefined);
  const stops: Array<() => Promise<void>> = [];
  try {
    const server = await startLatchkey(database.url, []);
    stops.push(() => server.stop());
    // The server has migrated the database; its apps are made once, for every run and the profile.
    const apps = await seedLatchkey(database.url);
    const latchkey = latchkeySide(server, apps, bench);
    const oidcPg = oidcSide(
      await startOidcProvider({ adapter: 'postgres', port: await freePort(), databaseUrl: database.url }),
      bench,
    );
    stops.push(() => oidcPg.stop());
    const oidcMemory = oidcSide(
      await startOidcProvider({ adapter: 'memory', port: await freePort() }),
      bench,
    );
    stops.push(() => oidcMemory.stop());
    const sides = [latchkey, oidcPg, oidcMemory];
    for (const side of sides) await verify(side);
    await sameShape(latchkey, bench);

    const runs: Run[] = [];
    const say = (r: Run) => {
      runs.push(r);
      console.log(describeRun(r));
    };
    // Round 0 warms every path up (JIT, pools, caches) and measures each side's rate, so
    // the measured rounds can ask for an exact number of requests lasting about `seconds`.
    const warm: Run[] = [];
    for (const side of sides) {
      for (const kind of KINDS) {
        if (side === oidcMemory && (kind === 'refresh' || kind === 'code')) continue;
        warm.push(await run(side, kind, 0, { seconds: warmSeconds }));
        console.log(`${describeRun(warm.at(-1) as Run)}  (warm-up)`);
      }
    }
    const amount = (side: Side, kind: Kind) => {
      const rate = warm.find((r) => r.side === side.label && r.kind === kind)?.rps ?? 1000;
      return Math.max(500, Math.round(rate * seconds));
    };
    for (let round = 1; round <= rounds; round++) {
      for (const kind of KINDS) {
        for (const side of sides) {
          if (side === oidcMemory && (kind === 'refresh' || kind === 'code')) continue;
          say(await run(side, kind, round, { amount: amount(side, kind) }));
        }
      }
    }

    // The profile run: Latchkey alone, restarted under --cpu-prof.
    for (const stop of stops.splice(0)) await stop();
    const profiles = await profileLatchkey(database.url, apps, bench, profileSeconds);

    report('oauth2', figures(runs, profiles), {
      database: database.where,
      connections: CONNECTIONS,
      seconds,
      rounds,
      latchkey_source: sourceState(),
      oidc_provider: {
        version: packageVersion('oidc-provider'),
        // bench/lib/oidc-provider-adapter.ts: one statement per adapter call, each prepared.
        postgres_adapter: 'bench/lib/oidc-provider-adapter.ts, prepared statements',
      },
      autocannon: packageVersion('autocannon'),
      load_average: { before: loadBefore, after: loadavg() },
      runs,
      warm_up: warm,
      profiles,
    });
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await bench.end();
    await database.close();
  }
}

// ---------------------------------------------------------------------------------------
// The two servers, each behind one interface.

interface Side {
  readonly label: 'latchkey' | 'oidc-provider/postgres' | 'oidc-provider/memory';
  readonly url: string;
  readonly pid: number;
  /** Whether it keeps its grants in PostgreSQL (so the database can confirm each was consumed). */
  readonly onPostgres: boolean;
  readonly paths: { readonly token: string; readonly introspect: string };
  /** Form bodies of requests, each with a code or refresh token never presented before. */
  bodies(kind: 'refresh' | 'code', count: number): Promise<string[]>;
  /** A fresh access token (from a code exchange), for introspection. */
  accessToken(): Promise<string>;
  /** How the confidential service client authenticates (client_secret_basic). */
  readonly serviceAuth: Record<string, string>;
  /** PostgreSQL statements it has sent (round trips), as it counts them. */
  queries(): Promise<number>;
  /** Codes redeemed / refresh tokens rotated, as the database records them. */
  consumed(kind: 'refresh' | 'code'): Promise<number>;
  /** CPU time of each of its PostgreSQL backends; undefined without any (or without /proc access to them). */
  backendCpu(): Promise<Map<number, number> | undefined>;
  stop(): Promise<void>;
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});
const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
const sha256 = (text: string) => createHash('sha256').update(text).digest();

function latchkeySide(server: LatchkeyProcess, apps: LatchkeyApps, bench: pg.Pool): Side {
  const minter = latchkeyMinter(bench, apps, ownResource(server.url));
  const side: Side = {
    label: 'latchkey',
    url: server.url,
    pid: server.pid,
    onPostgres: true,
    paths: { token: '/oauth2/token', introspect: '/oauth2/introspect' },
    async bodies(kind, count) {
      if (kind === 'refresh') {
        const tokens = await minter.refreshTokens(count);
        return tokens.map((t) =>
          form({ grant_type: 'refresh_token', client_id: apps.publicClientId, refresh_token: t }),
        );
      }
      const codes = await minter.codes(count);
      return codes.map((c) =>
        form({
          grant_type: 'authorization_code',
          client_id: apps.publicClientId,
          code: c.code,
          code_verifier: c.verifier,
          redirect_uri: REDIRECT_URI,
        }),
      );
    },
    async accessToken() {
      const [body = ''] = await side.bodies('code', 1);
      return (await postJson(side.url, side.paths.token, body, {})).access_token;
    },
    serviceAuth: basic(apps.serviceClientId, apps.serviceSecret),
    async queries() {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return promValue(text, 'latchkey_db_queries_total');
    },
    async consumed(kind) {
      const sql =
        kind === 'refresh'
          ? 'SELECT count(*)::int AS n FROM oauth2_refresh_tokens WHERE rotated_at IS NOT NULL'
          : 'SELECT count(*)::int AS n FROM oauth2_codes WHERE redeemed_at IS NOT NULL';
      return (await bench.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
    },
    backendCpu: () => pgBackendCpu(bench, 'latchkey'),
    stop: () => server.stop(),
  };
  return side;
}

function oidcSide(provider: OidcProviderProcess, bench: pg.Pool): Side {
  const side: Side = {
    label: provider.adapter === 'postgres' ? 'oidc-provider/postgres' : 'oidc-provider/memory',
    url: provider.url,
    pid: provider.pid,
    onPostgres: provider.adapter === 'postgres',
    paths: { token: '/token', introspect: '/token/introspection' },
    async bodies(kind, count) {
      if (kind === 'refresh') {
        const tokens = await provider.mintRefreshTokens(count);
        return tokens.map((t) =>
          form({ grant_type: 'refresh_token', client_id: PUBLIC_CLIENT_ID, refresh_token: t }),
        );
      }
      const codes = await provider.mintCodes(count);
      return codes.map((c) =>
        form({
          grant_type: 'authorization_code',
          client_id: PUBLIC_CLIENT_ID,
          code: c.code,
          code_verifier: c.verifier,
          redirect_uri: REDIRECT_URI,
        }),
      );
    },
    async accessToken() {
      const [body = ''] = await side.bodies('code', 1);
      return (await postJson(side.url, side.paths.token, body, {})).access_token;
    },
    serviceAuth: basic(SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET),
    queries: async () => (await provider.stats()).queries,
    async consumed(kind) {
      if (provider.adapter !== 'postgres') return 0;
      const type = kind === 'refresh' ? 'RefreshToken' : 'AuthorizationCode';
      const { rows } = await bench.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM oidc_payloads WHERE type = $1 AND consumed_at IS NOT NULL',
        [type],
      );
      return rows[0]?.n ?? 0;
    },
    backendCpu: async () =>
      provider.adapter === 'postgres' ? pgBackendCpu(bench, 'oidc-provider-bench') : undefined,
    stop: () => provider.stop(),
  };
  return side;
}

interface TokenAnswer {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly active?: boolean;
}

async function postJson(
  url: string,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<TokenAnswer> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { ...FORM, ...headers }, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}${path}: ${res.status} ${text}`);
  return JSON.parse(text) as TokenAnswer;
}

/** Before anything is timed: every request kind answers 200 with what it should. */
async function verify(side: Side): Promise<void> {
  const [refreshBody = ''] = await side.bodies('refresh', 1);
  const refreshed = await postJson(side.url, side.paths.token, refreshBody, {});
  const sent = new URLSearchParams(refreshBody).get('refresh_token');
  if (!refreshed.access_token || !refreshed.refresh_token || refreshed.refresh_token === sent) {
    throw new Error(
      `${side.label}: a refresh did not return a new refresh token: ${JSON.stringify(refreshed)}`,
    );
  }
  const [codeBody = ''] = await side.bodies('code', 1);
  const exchanged = await postJson(side.url, side.paths.token, codeBody, {});
  if (!exchanged.access_token || !exchanged.refresh_token) {
    throw new Error(`${side.label}: a code exchange returned no refresh token: ${JSON.stringify(exchanged)}`);
  }
  const introspected = await postJson(
    side.url,
    side.paths.introspect,
    form({ token: exchanged.access_token }),
    side.serviceAuth,
  );
  if (introspected.active !== true) throw new Error(`${side.label}: a fresh access token is not active`);
  const cc = await postJson(
    side.url,
    side.paths.token,
    form({ grant_type: 'client_credentials' }),
    side.serviceAuth,
  );
  if (!cc.access_token) throw new Error(`${side.label}: client_credentials returned no access token`);
}

/**
 * The refresh tokens minted in bulk have the shape the server gives its own: compared with
 * one the server wrote (by exchanging a code), column by column, NULL or not.
 */
async function sameShape(side: Side, bench: pg.Pool): Promise<void> {
  const [minted = ''] = await side.bodies('refresh', 1);
  const [codeBody = ''] = await side.bodies('code', 1);
  const issued = await postJson(side.url, side.paths.token, codeBody, {});
  const shape = async (token: string) => {
    const { rows } = await bench.query<Record<string, unknown>>(
      'SELECT * FROM oauth2_refresh_tokens WHERE token_hash = $1',
      [sha256(token)],
    );
    const row = rows[0];
    if (!row) throw new Error('latchkey: a refresh token is not in oauth2_refresh_tokens');
    return Object.entries(row)
      .map(([column, value]) => `${column}${value === null ? ' NULL' : ''}`)
      .join(', ');
  };
  const ours = await shape(new URLSearchParams(minted).get('refresh_token') ?? '');
  const theirs = await shape(issued.refresh_token ?? '');
  if (ours !== theirs)
    throw new Error(`latchkey: minted refresh tokens (${ours}) differ from issued ones (${theirs})`);
}

// ---------------------------------------------------------------------------------------
// Latchkey: the real `latchkey server` in a child process, its apps, and bulk minting.

/**
 * Every request-count limit off (each takes 0 for off): the grants are measured, not the
 * limiters (bench/auth.ts turns the API limit off too). Read from the option list, so a
 * limit added later is off here too.
 */
const RATE_LIMITS_OFF = Object.fromEntries(
  OPTION_LIST.filter((d) => d.key.startsWith('rateLimit') && /^\d+$/.test(String(d.default ?? ''))).map(
    (d) => [d.env, '0'],
  ),
);

interface LatchkeyProcess {
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, as an operator stops it; resolves once it has exited (and written a profile). */
  stop(): Promise<void>;
}

async function startLatchkey(databaseUrl: string, execArgv: readonly string[]): Promise<LatchkeyProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [...execArgv, fileURLToPath(new URL('../bin/latchkey.js', import.meta.url)), 'server'],
    {
      // Only what the benchmark sets: nothing from this shell (a REDIS_URL, say) changes the server.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATABASE_URL: databaseUrl,
        LATCHKEY_HTTP_ADDRESS: `127.0.0.1:${port}`,
        LATCHKEY_ACCESS_URL: url,
        ...RATE_LIMITS_OFF,
      },
      // The log (one line per request, at the default level) goes to /dev/null.
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`latchkey server exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`latchkey server not ready after 60 s: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    url,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

interface LatchkeyApps {
  readonly userId: string;
  readonly publicAppId: string;
  readonly publicClientId: string;
  readonly accessKeyName: string;
  readonly serviceClientId: string;
  readonly serviceSecret: string;
}

/** A user, a public client (PKCE, refresh tokens) and an admin-made resource server that may use client_credentials. */
async function seedLatchkey(databaseUrl: string): Promise<LatchkeyApps> {
  const seed = openDatabase({
    url: databaseUrl,
    poolMax: 1,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger('silent'),
  });
  try {
    const raw = createStore(seed.db, seed.inTx);
    const user = await raw.insertUser({
      email: 'bench@example.com',
      username: 'bench',
      hashedPassword: await hashPassword('benchmark'),
    });
    const common = { applicationType: 'web', scope: '', metadata: {}, registrationTokenHash: null } as const;
    const publicApp = await raw.insertOAuth2App({
      ...common,
      clientId: 'bench-public',
      origin: 'dynamic',
      name: 'Bench public client',
      tokenEndpointAuthMethod: 'none',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code'],
      createdBy: null,
    });
    const service = await raw.insertOAuth2App({
      ...common,
      clientId: 'bench-service',
      origin: 'admin',
      name: 'Bench resource server',
      tokenEndpointAuthMethod: 'client_secret_basic',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      responseTypes: [],
      createdBy: user.id,
    });
    const secret = newClientSecret();
    await raw.insertOAuth2AppSecret({
      appId: service.id,
      displayPrefix: secret.displayPrefix,
      hashedSecret: secret.hashed,
    });
    return {
      userId: user.id,
      publicAppId: publicApp.id,
      publicClientId: publicApp.client_id,
      // As accessKeyArgs (src/oauth2/grants/tokens.ts) names an app's access keys.
      accessKeyName: `oauth2: ${publicApp.name}`.slice(0, 128),
      serviceClientId: service.client_id,
      serviceSecret: secret.secret,
    };
  } finally {
    await seed.close();
  }
}

interface MintedCode {
  readonly code: string;
  readonly verifier: string;
}

const CHUNK = 5_000;
const REFRESH_LIFETIME_SECONDS = 30 * 86_400;
/** Prefixes and hashing as src/oauth2/grants/tokens.ts makes codes and refresh tokens. */
const opaque = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/**
 * Codes and refresh tokens written straight into Latchkey's tables, thousands per
 * statement, as the server itself leaves them: a code as issueCode stores it (hash, PKCE
 * challenge, resource, scope), and a refresh token as redeemOAuth2Code leaves its grant —
 * the code redeemed, its access key, and the token whose family is the code. verify()
 * and every run's rotated/redeemed count check them against the real endpoints.
 */
function latchkeyMinter(bench: pg.Pool, apps: LatchkeyApps, resource: string) {
  const scopes = [LATCHKEY_SCOPE];
  return {
    async codes(count: number): Promise<MintedCode[]> {
      const minted: MintedCode[] = [];
      for (let done = 0; done < count; done += CHUNK) {
        const batch = Array.from({ length: Math.min(CHUNK, count - done) }, () => ({
          code: opaque('lkac_'),
          verifier: randomBytes(32).toString('base64url'),
        }));
        await bench.query(
          `INSERT INTO oauth2_codes (code_hash, app_id, user_id, redirect_uri, code_challenge, resource, scope, expires_at)
           SELECT code_hash, $3, $4, $5, challenge, $6, $7, now() + make_interval(secs => $8)
           FROM unnest($1::bytea[], $2::text[]) AS t(code_hash, challenge)`,
          [
            batch.map((c) => sha256(c.code)),
            batch.map((c) => s256(c.verifier)),
            apps.publicAppId,
            apps.userId,
            REDIRECT_URI,
            resource,
            LATCHKEY_SCOPE,
            CODE_LIFETIME_SECONDS,
          ],
        );
        minted.push(...batch);
      }
      return minted;
    },

    async refreshTokens(count: number): Promise<string[]> {
      const minted: string[] = [];
      for (let done = 0; done < count; done += CHUNK) {
        const batch = Array.from({ length: Math.min(CHUNK, count - done) }, () => ({
          code: opaque('lkac_'),
          key: generateKey(),
          token: opaque('lkrt_'),
        }));
        await bench.query(
          `WITH input AS (
             SELECT * FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::bytea[])
               AS t(code_hash, key_id, key_hash, token_hash)
           ), keys AS (
             INSERT INTO api_keys (id, hashed_secret, user_id, name, login_type, scopes, allow_list,
                                   lifetime_seconds, expires_at, audience, oauth2_app_id)
             SELECT key_id, key_hash, $5, $6, 'oauth2_app', $7::text[], '{*:*}', 3600,
                    now() + interval '1 hour', $8, $9
             FROM input
           ), codes AS (
             INSERT INTO oauth2_codes (code_hash, app_id, user_id, redirect_uri, code_challenge, resource, scope,
                                       redeemed_at, api_key_id, expires_at)
             SELECT code_hash, $9, $5, $10, $11, $8, $12, now(), key_id, now() + make_interval(secs => $13)
             FROM input
             RETURNING id, api_key_id
           )
           INSERT INTO oauth2_refresh_tokens (token_hash, family_id, app_id, user_id, code_id, api_key_id,
                                              resource, scope, expires_at)
           SELECT i.token_hash, c.id, $9, $5, c.id, c.api_key_id, $8, $12, now() + make_interval(secs => $14)
           FROM codes c JOIN input i ON i.key_id = c.api_key_id`,
          [
            batch.map((b) => sha256(b.code)),
            batch.map((b) => b.key.id),
            batch.map((b) => b.key.hashedSecret),
            batch.map((b) => sha256(b.token)),
            apps.userId,
            apps.accessKeyName,
            scopes,
            resource,
            apps.publicAppId,
            REDIRECT_URI,
            s256(randomBytes(32).toString('base64url')),
            LATCHKEY_SCOPE,
            CODE_LIFETIME_SECONDS,
            REFRESH_LIFETIME_SECONDS,
          ],
        );
        minted.push(...batch.map((b) => b.token));
      }
      return minted;
    },
  };
}

// ---------------------------------------------------------------------------------------
// One timed run: autocannon against one side, with the server's own counters around it.

interface Run {
  readonly side: Side['label'];
  readonly kind: Kind;
  readonly round: number;
  /** Wall time of the load. */
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Requests the costs below are divided by (see run()). */
  readonly served: number;
  readonly queriesPerRequest: number;
  /** CPU time (user + system) of the server process per request. */
  readonly serverCpuUs: number;
  /** The system (kernel) part of serverCpuUs. */
  readonly serverSysUs: number;
  /** CPU time of the server's PostgreSQL backends per request (local server only). */
  readonly pgCpuUs: number | undefined;
  /** 1, 5 and 15-minute load averages at the end of the run. */
  readonly loadAverage: number[];
  /** When the load ran, on the monotonic clock (µs). */
  readonly window: { readonly fromUs: number; readonly toUs: number };
}

interface RunOptions {
  /**
   * Exactly this many requests, all answered before the run ends (so every count is exact);
   * without it the run lasts `seconds` and requests in flight at the end are cut off.
   */
  readonly amount?: number;
  readonly seconds?: number;
  /** Started just before the load and stopped just after it. */
  readonly watch?: { start(): void; stop(): Promise<void> };
}

async function run(side: Side, kind: Kind, round: number, options: RunOptions): Promise<Run> {
  const { amount, seconds = 1, watch } = options;
  const what = `${side.label} ${kind} round ${round}`;
  const path = kind === 'introspect' ? side.paths.introspect : side.paths.token;
  const grants = kind === 'refresh' || kind === 'code' ? kind : undefined;
  let headers: Record<string, string> = {};
  let body: string | (() => string);
  let bodies: string[] = [];
  let used = 0;
  if (grants) {
    // autocannon builds each connection's first request up front: room for those, and for
    // a timed run at up to 12,000 grants/s.
    bodies = await side.bodies(grants, (amount ?? seconds * 12_000) + 2 * CONNECTIONS);
    // Past the end a request would carry no grant and be refused (counted as non-2xx).
    body = () => bodies[used++] ?? form({ grant_type: 'refresh_token', refresh_token: 'exhausted' });
  } else if (kind === 'client_credentials') {
    headers = side.serviceAuth;
    body = form({ grant_type: 'client_credentials' });
  } else {
    headers = side.serviceAuth;
    body = form({ token: await side.accessToken() });
  }
  const consumedBefore = grants && side.onPostgres ? await side.consumed(grants) : 0;
  const before = await snapshot(side);
  watch?.start();
  const fromUs = monotonicUs();
  const result = await drive(side.url, path, amount === undefined ? { seconds } : { amount }, headers, body);
  const toUs = monotonicUs();
  await watch?.stop();
  // Cut-off requests still finish on the server: wait until the database stops changing.
  let consumed = 0;
  for (let settled = false; !settled; ) {
    await sleep(amount === undefined ? 250 : 0);
    const now = grants && side.onPostgres ? (await side.consumed(grants)) - consumedBefore : 0;
    settled = now === consumed;
    consumed = now;
  }
  const after = await snapshot(side);
  if (used > bodies.length) throw new Error(`${what}: ran out of tokens (${bodies.length} minted)`);
  if (result.non2xx > 0 || result.errors > 0) {
    const codes = JSON.stringify(result.statusCodeStats);
    throw new Error(`${what}: ${result.non2xx} non-2xx answers (${codes}), ${result.errors} errors`);
  }
  const answered = result['2xx'];
  if (amount !== undefined && answered !== amount)
    throw new Error(`${what}: ${answered} of ${amount} answered`);
  if (grants && side.onPostgres) {
    // Every 200 consumed a code or refresh token of its own (a repeat inside the grace
    // window would be answered 200 without consuming one). Only a cut-off request may
    // consume one unanswered: at most one per connection, and none in an exact run.
    const slack = amount === undefined ? CONNECTIONS : 0;
    if (consumed < answered || consumed > answered + slack) {
      throw new Error(
        `${what}: ${answered} answered 200 but ${consumed} grants were consumed in the database`,
      );
    }
  }
  // Costs per grant made (cut-off ones included: their work was done), else per answer.
  const served = grants && side.onPostgres ? consumed : answered;
  const per = (a: number, b: number) => (a - b) / Math.max(1, served);
  return {
    side: side.label,
    kind,
    round,
    seconds: (toUs - fromUs) / 1e6,
    rps: answered / ((toUs - fromUs) / 1e6),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    served,
    queriesPerRequest: per(after.queries, before.queries),
    serverCpuUs: per(after.cpu.userUs + after.cpu.sysUs, before.cpu.userUs + before.cpu.sysUs),
    serverSysUs: per(after.cpu.sysUs, before.cpu.sysUs),
    pgCpuUs: pgCpuPer(before.pg, after.pg, served),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    window: { fromUs, toUs },
  };
}

/** CLOCK_MONOTONIC in µs: the clock V8 stamps CPU profile samples with on Linux. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function drive(
  url: string,
  path: string,
  length: { readonly seconds: number } | { readonly amount: number },
  headers: Record<string, string>,
  body: string | (() => string),
): Promise<autocannon.Result> {
  const request: autocannon.Request = { method: 'POST', path, headers: { ...FORM, ...headers } };
  if (typeof body === 'string') request.body = body;
  else request.setupRequest = (req) => ({ ...req, body: body() });
  // The servers run in processes of their own, so autocannon runs here, on the main thread.
  return autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: 1,
    requests: [request],
    ...('amount' in length ? { amount: length.amount } : { duration: length.seconds }),
  });
}

interface Snapshot {
  readonly cpu: CpuTimes;
  readonly pg: Map<number, number> | undefined;
  readonly queries: number;
}

async function snapshot(side: Side): Promise<Snapshot> {
  return {
    cpu: cpuTimes(side.pid) ?? { userUs: 0, sysUs: 0 },
    pg: await side.backendCpu(),
    queries: await side.queries(),
  };
}

function describeRun(r: Run): string {
  const pgCpu = r.pgCpuUs === undefined ? '' : `, PostgreSQL ${r.pgCpuUs.toFixed(0)} µs`;
  return (
    `  ${r.side.padEnd(22)} ${r.kind.padEnd(18)} r${r.round}: ${r.rps.toFixed(0).padStart(6)} req/s` +
    ` p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms, ${r.queriesPerRequest.toFixed(2)} queries,` +
    ` CPU ${r.serverCpuUs.toFixed(0)} µs (sys ${r.serverSysUs.toFixed(0)})${pgCpu} per request, load ${r.loadAverage[0]}`
  );
}

// ---------------------------------------------------------------------------------------
// Processes: free ports, CPU time from /proc, PostgreSQL backends.

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface CpuTimes {
  readonly userUs: number;
  readonly sysUs: number;
}

/** User and system CPU time of a process (all its threads), or undefined where /proc cannot say. */
function cpuTimes(pid: number): CpuTimes | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      userUs: (Number(fields[11]) * 1e6) / CLOCK_TICKS,
      sysUs: (Number(fields[12]) * 1e6) / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}

/** CPU time of each PostgreSQL backend of `application` (visible only when PostgreSQL runs on this machine). */
async function pgBackendCpu(bench: pg.Pool, application: string): Promise<Map<number, number> | undefined> {
  const { rows } = await bench.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
    [application],
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const times = cpuTimes(pid);
    if (times === undefined) return undefined;
    cpu.set(pid, times.userUs + times.sysUs);
  }
  return cpu;
}

function pgCpuPer(
  before: Map<number, number> | undefined,
  after: Map<number, number> | undefined,
  served: number,
): number | undefined {
  if (!before || !after) return undefined;
  let total = 0;
  // A backend opened during the run (the pool growing) did all its work in it.
  for (const [pid, us] of after) total += us - (before.get(pid) ?? 0);
  return total / Math.max(1, served);
}

/** The sum of a Prometheus metric's samples whose labels include `labels`. */
function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function packageVersion(name: string): string {
  const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Which Latchkey was measured: other work may be in progress in the checkout. */
function sourceState(): Record<string, string | number> {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
  try {
    return {
      commit: git('rev-parse', 'HEAD').trim(),
      uncommitted_files_in_src: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length,
      src_diff_sha256: createHash('sha256')
        .update(git('diff', 'HEAD', '--', 'src'))
        .digest('hex')
        .slice(0, 16),
    };
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------------------
// The profile: Latchkey restarted under --cpu-prof, one window per grant.

interface ProfileSummary {
  readonly kind: 'refresh' | 'code';
  /** Throughput under the profiler (it slows the server a little). */
  readonly rps: number;
  readonly busyMs: number;
  /** Share of the window the server's main thread had nothing to do. */
  readonly idleShare: number;
  /** Functions by self time, as shares of the busy time. */
  readonly top: ReadonlyArray<{ readonly function: string; readonly where: string; readonly share: number }>;
  /** Self time by where the code comes from. */
  readonly categories: ReadonlyArray<{ readonly name: string; readonly share: number }>;
  /** What the server's PostgreSQL backends were doing, sampled every few ms. */
  readonly pgStates: ReadonlyArray<{ readonly state: string; readonly share: number }>;
}

async function profileLatchkey(
  databaseUrl: string,
  apps: LatchkeyApps,
  bench: pg.Pool,
  seconds: number,
): Promise<ProfileSummary[]> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-oauth2-profile-'));
  const windows: Array<{ run: Run; states: Map<string, number> }> = [];
  try {
    const server = await startLatchkey(databaseUrl, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    try {
      const side = latchkeySide(server, apps, bench);
      for (const kind of ['refresh', 'code'] as const) {
        const warm = await run(side, kind, 0, { seconds: 2 });
        const watch = stateSampler(bench, 'latchkey');
        const measured = await run(side, kind, 0, { amount: Math.round(warm.rps * seconds), watch });
        console.log(`${describeRun(measured)}  (under --cpu-prof)`);
        windows.push({ run: measured, states: watch.states });
      }
    } finally {
      await server.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no CPU profile was written to ${dir}`);
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    return windows.map(({ run: r, states }) => ({
      kind: r.kind as 'refresh' | 'code',
      rps: r.rps,
      ...summariseProfile(profile, r.window.fromUs, r.window.toUs),
      pgStates: shares(states).map(([state, share]) => ({ state, share })),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Samples pg_stat_activity for the server's pooled connections (not its LISTEN one). */
function stateSampler(bench: pg.Pool, application: string) {
  const states = new Map<string, number>();
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  return {
    states,
    start() {
      running = true;
      loop = (async () => {
        while (running) {
          const { rows } = await bench.query<{ state: string; type: string | null; event: string | null }>(
            `SELECT state, wait_event_type AS type, wait_event AS event FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = $1 AND query NOT LIKE 'LISTEN%'`,
            [application],
          );
          for (const { state, type, event } of rows) {
            const name =
              state === 'idle'
                ? 'idle in the pool'
                : state === 'active' && event === null
                  ? 'active: on CPU'
                  : `${state}: ${type}/${event}`;
            states.set(name, (states.get(name) ?? 0) + 1);
          }
          await sleep(5);
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }>;
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const ROOT = new URL('..', import.meta.url).href;

/** Where code comes from: a package, a directory of src/, Node itself, V8. */
function origin(functionName: string, url: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(V8 builtins, native)';
  if (url.startsWith('node:')) return 'node: core';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1] as string;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src) return `latchkey src/${src[1]}`;
  return 'other';
}

function summariseProfile(
  profile: CpuProfile,
  fromUs: number,
  toUs: number,
): Pick<ProfileSummary, 'busyMs' | 'idleShare' | 'top' | 'categories'> {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  const categories = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    // A sample stands for the time until the next one.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const frame = frames.get(profile.samples[i] as number);
    const fn = frame?.functionName || '(anonymous)';
    if (fn === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const url = frame?.url ?? '';
    const where =
      url === ''
        ? ''
        : `${url.replace(ROOT, '').replace(/^file:\/\/.*\/node_modules\//, '')}:${(frame?.lineNumber ?? 0) + 1}`;
    const key = `${fn}\t${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const category = origin(fn, url);
    categories.set(category, (categories.get(category) ?? 0) + dt);
  }
  if (busy === 0) throw new Error('the CPU profile has no samples in the measured window');
  return {
    busyMs: busy / 1000,
    idleShare: idle / Math.max(1, busy + idle),
    top: shares(self)
      .slice(0, 20)
      .map(([key, share]) => {
        const [fn = '', where = ''] = key.split('\t');
        return { function: fn, where, share };
      }),
    categories: shares(categories).map(([name, share]) => ({ name, share })),
  };
}

function shares(counts: ReadonlyMap<string, number>): Array<[string, number]> {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / Math.max(1, total)]);
}

function printProfile(p: ProfileSummary): void {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  console.log(
    `\n  Latchkey CPU profile, ${p.kind === 'refresh' ? 'refresh_token grant' : 'code exchange'}` +
      ` (${p.rps.toFixed(0)} req/s under the profiler; main thread idle ${pct(p.idleShare)}):`,
  );
  for (const t of p.top.slice(0, 15)) console.log(`    ${pct(t.share)}  ${t.function.padEnd(36)} ${t.where}`);
  console.log(`    by origin: ${p.categories.map((c) => `${c.name} ${pct(c.share).trim()}`).join(', ')}`);
  console.log(
    `    PostgreSQL backends: ${p.pgStates.map((s) => `${s.state} ${pct(s.share).trim()}`).join(', ')}`,
  );
}

// ---------------------------------------------------------------------------------------
// Figures: means over the measured rounds.

function figures(runs: readonly Run[], profiles: readonly ProfileSummary[]): Figure[] {
  for (const p of profiles) printProfile(p);
  const mean = (side: Side['label'], kind: Kind, of: (r: Run) => number | undefined): number => {
    const xs = runs
      .filter((r) => r.side === side && r.kind === kind)
      .map(of)
      .filter((x): x is number => x !== undefined);
    return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const L = 'latchkey';
  const PG = 'oidc-provider/postgres';
  const MEM = 'oidc-provider/memory';
  const out: Figure[] = [];
  const costs = (kind: Kind, sides: ReadonlyArray<[Side['label'], string]>, per: string) => {
    for (const [side, name] of sides) {
      out.push({
        name: `${per}: ${name} round trips`,
        value: mean(side, kind, (r) => r.queriesPerRequest),
        unit: 'queries',
      });
    }
    for (const [side, name] of sides) {
      out.push({
        name: `${per}: ${name} server CPU`,
        value: mean(side, kind, (r) => r.serverCpuUs),
        unit: 'µs',
      });
    }
    for (const [side, name] of sides) {
      const pgCpu = mean(side, kind, (r) => r.pgCpuUs);
      if (!Number.isNaN(pgCpu))
        out.push({ name: `${per}: ${name} PostgreSQL CPU`, value: pgCpu, unit: 'µs' });
    }
  };

  for (const [kind, title] of [
    ['refresh', 'refresh_token'],
    ['code', 'authorization_code'],
  ] as const) {
    const base = mean(PG, kind, (r) => r.rps);
    const lk = mean(L, kind, (r) => r.rps);
    const p99 = mean(L, kind, (r) => r.p99Ms);
    out.push({ name: `${title}: oidc-provider, PostgreSQL (baseline)`, value: base, unit: 'req/s' });
    out.push({
      name: `${title}: Latchkey, PostgreSQL`,
      value: lk,
      unit: 'req/s',
      ratio: lk / base,
      target: '>= 1.5x',
      met: lk / base >= 1.5,
    });
    if (kind === 'refresh') {
      out.push({
        name: 'refresh_token: Latchkey grants/s',
        value: lk,
        unit: 'req/s',
        target: '>= 3000',
        met: lk >= 3000,
      });
    }
    out.push({ name: `${title}: oidc-provider p99`, value: mean(PG, kind, (r) => r.p99Ms), unit: 'ms' });
    out.push({ name: `${title}: Latchkey p99`, value: p99, unit: 'ms', target: '< 25 ms', met: p99 < 25 });
    costs(
      kind,
      [
        [L, 'Latchkey'],
        [PG, 'oidc-provider'],
      ],
      `${title} per grant`,
    );
  }

  for (const [kind, title] of [
    ['client_credentials', 'client_credentials'],
    ['introspect', 'introspection'],
  ] as const) {
    const base = mean(MEM, kind, (r) => r.rps);
    const onPg = mean(PG, kind, (r) => r.rps);
    const lk = mean(L, kind, (r) => r.rps);
    out.push({ name: `${title}: oidc-provider, memory (baseline)`, value: base, unit: 'req/s' });
    out.push({ name: `${title}: oidc-provider, PostgreSQL`, value: onPg, unit: 'req/s', ratio: onPg / base });
    out.push({
      name: `${title}: Latchkey, PostgreSQL`,
      value: lk,
      unit: 'req/s',
      ratio: lk / base,
      ...(kind === 'introspect' ? { target: '>= 5000', met: lk >= 5000 } : {}),
    });
    out.push({ name: `${title}: Latchkey / oidc-provider, PostgreSQL`, value: lk / onPg, unit: 'x' });
    for (const [side, name] of [
      [MEM, 'oidc-provider, memory'],
      [PG, 'oidc-provider, PostgreSQL'],
      [L, 'Latchkey'],
    ] as const) {
      out.push({ name: `${title}: ${name} p99`, value: mean(side, kind, (r) => r.p99Ms), unit: 'ms' });
    }
    costs(
      kind,
      [
        [L, 'Latchkey'],
        [PG, 'oidc-provider PG'],
        [MEM, 'oidc-provider memory'],
      ],
      `${title} per request`,
    );
  }
  return out;
}
