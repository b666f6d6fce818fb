import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { pino } from 'pino';
import { issueKey } from '../src/apikeys/index.ts';
import { authorizingStore, systemActors } from '../src/authz/index.ts';
import { type Config, loadConfig } from '../src/config/index.ts';
import { createStore, type DatabaseHandle, openDatabase, type Store } from '../src/db/index.ts';
import {
  checkEncryptionKeys,
  dbcryptStore,
  ENCRYPTED_TABLES,
  Keyring,
  keyDigest,
  TableCodec,
} from '../src/dbcrypt/index.ts';
import { createLogger, Metrics } from '../src/observability/index.ts';
import { type RunningServer, startServer } from '../src/runtime/index.ts';
import { type FakeProvider, startFakeProvider } from '../test/fakes/index.ts';
import { providerFor, seedLink } from '../test/kit/providers.ts';
import { benchDatabase } from './lib/database.ts';
import { load } from './lib/load.ts';
import { type Figure, report } from './lib/report.ts';

/**
 * Encryption at rest (DC), the two figures the issue asks for.
 *
 * 1. Read path: a cached `GET /api/v1/external-auth/github/token` (fresh link: one read of
 *    the link, then decryption) on a server with keys against one without, side by side on
 *    the same PostgreSQL, alternating rounds at 50 connections. Target: on ≥ 0.90 × off.
 * 2. `latchkey dbcrypt rotate` over `links` links (default 100,000) as a child process, as
 *    an operator runs it: wall time (target < 60 s) and its resident memory sampled every
 *    100 ms. V8 grows its heap before it collects, so RSS climbs for a while and then
 *    levels off; flat means the second half of the run holds no more than the middle did.
 *    Then a second rotation (to a third key) with the V8 heap capped at 64 MiB: it can only
 *    finish if what it holds depends on the batch, not on the number of rows.
 */
const TOKEN_PATH = '/api/v1/external-auth/github/token';
const BIN = fileURLToPath(new URL('../bin/latchkey.js', import.meta.url));

export async function benchDbcrypt(
  options: { seconds?: number; rounds?: number; links?: number } = {},
): Promise<void> {
  const { seconds = 5, rounds = 4, links = 100_000 } = options;
  const read = await readPath(seconds, rounds);
  const rotation = await rotate(links);
  const figures: Figure[] = [
    { name: 'GET …/token, encryption off (baseline)', value: read.off.rps, unit: 'req/s' },
    {
      name: 'GET …/token, encryption on',
      value: read.on.rps,
      unit: 'req/s',
      ratio: read.on.rps / read.off.rps,
      target: '>= 0.90',
      met: read.on.rps / read.off.rps >= 0.9,
    },
    { name: 'p99 …/token, encryption off', value: read.off.p99, unit: 'ms' },
    { name: 'p99 …/token, encryption on', value: read.on.p99, unit: 'ms' },
    { name: 'PostgreSQL round trips per token, off', value: read.off.queries, unit: 'queries' },
    { name: 'PostgreSQL round trips per token, on', value: read.on.queries, unit: 'queries' },
    { name: 'seal one token (AES-256-GCM)', value: read.sealUs, unit: 'µs' },
    { name: 'open one token', value: read.openUs, unit: 'µs' },
    {
      name: `rotate ${links.toLocaleString('en-US')} links`,
      value: rotation.seconds,
      unit: 's',
      target: '< 60 s',
      met: rotation.seconds < 60 && rotation.ok,
    },
    { name: 'rotate: rows per second', value: rotation.rowsPerSecond, unit: 'rows/s' },
    { name: 'rotate: peak RSS', value: rotation.peakRssMiB, unit: 'MiB' },
    { name: 'rotate: RSS at 50% of the run', value: rotation.midRssMiB, unit: 'MiB' },
    {
      name: 'rotate: RSS at 95% of the run',
      value: rotation.lateRssMiB,
      unit: 'MiB',
      ratio: rotation.lateRssMiB / rotation.midRssMiB,
      target: 'flat (<= 1.15x of 50%)',
      met: rotation.lateRssMiB <= rotation.midRssMiB * 1.15,
    },
    {
      name: 'rotate again, V8 heap capped at 64 MiB',
      value: rotation.cappedSeconds,
      unit: 's',
      target: 'completes',
      met: rotation.cappedOk,
    },
    { name: 'rotate again: peak RSS', value: rotation.cappedPeakRssMiB, unit: 'MiB' },
    {
      name: `start-up key check over ${links.toLocaleString('en-US')} links`,
      value: rotation.checkMs,
      unit: 'ms',
    },
  ];
  report('dbcrypt', figures, {
    seconds,
    rounds,
    connections: 50,
    links,
    read_rounds: read.rounds,
    rotate_rss_samples_mib: rotation.samples,
    rotate_output_tail: rotation.tail,
  });
}

interface Side {
  rps: number;
  p99: number;
  queries: number;
}

async function readPath(seconds: number, rounds: number) {
  const database = await benchDatabase('dbcrypt_read');
  const github = await startFakeProvider({ flavour: 'github' });
  const seedHandle = open(database.url);
  const keys = [randomBytes(32)];
  const servers: RunningServer[] = [];
  try {
    // The server without keys starts first: its start-up check would refuse a database
    // already holding encrypted tokens. Each side then serves its own user's link.
    const off = await startReplica(database.url, github, undefined);
    servers.push(off);
    const on = await startReplica(database.url, github, keys);
    servers.push(on);
    const plain = createStore(seedHandle.db, seedHandle.inTx);
    const encrypted = dbcryptStore(plain, Keyring.from(keys));
    const side = async (store: Store, name: string) => {
      const user = await store.insertUser({ email: `${name}@example.com`, username: name });
      await seedLink(store, github, { userId: user.id, expiresInMs: 24 * 3_600_000 });
      const { token } = await issueKey(store, {
        userId: user.id,
        name,
        loginType: 'token',
        scopes: ['latchkey:all'],
        allowList: ['*:*'],
        lifetimeMs: 3_600_000,
        now: new Date(),
      });
      return { authorization: `Bearer ${token}` };
    };
    const offHeaders = await side(plain, 'off');
    const onHeaders = await side(encrypted, 'on');
    const stored = await seedHandle.db
      .selectFrom('external_auth_links')
      .innerJoin('users', 'users.id', 'external_auth_links.user_id')
      .select(['username', 'oauth_access_token'])
      .execute();
    if (!stored.find((r) => r.username === 'on')?.oauth_access_token.startsWith('dbcrypt:v1:')) {
      throw new Error('the encrypted side is not encrypted');
    }
    const urls = { off: `${off.url}${TOKEN_PATH}`, on: `${on.url}${TOKEN_PATH}` };
    await load(urls.off, 1, 50, offHeaders);
    await load(urls.on, 1, 50, onHeaders);
    const results = { off: [] as Side[], on: [] as Side[] };
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so drift (JIT, caches, the machine) favours neither.
      const order = i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const name of order) {
        const server = name === 'off' ? off : on;
        const q = await dbQueries(server);
        const r = await load(urls[name], seconds, 50, name === 'off' ? offHeaders : onHeaders);
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        results[name].push({
          rps: r.requestsPerSecond,
          p99: r.p99Ms,
          queries: ((await dbQueries(server)) - q) / (r.requestsPerSecond * seconds),
        });
      }
    }
    return {
      off: mean(results.off),
      on: mean(results.on),
      rounds: results,
      ...cipherCost(keys[0] as Buffer),
    };
  } finally {
    for (const s of servers) await s.close();
    await seedHandle.close();
    await github.close();
    await database.close();
  }
}

function cipherCost(secret: Buffer) {
  const codec = new TableCodec(
    ENCRYPTED_TABLES[0] as (typeof ENCRYPTED_TABLES)[number],
    Keyring.from([secret]),
  );
  const key = ['0d5b6b0e-0000-4000-8000-00000000000a', 'github'];
  const token = `gho_${randomBytes(18).toString('base64url')}`;
  const n = 50_000;
  let sealed = '';
  let t = performance.now();
  for (let i = 0; i < n; i++) sealed = codec.encrypt('oauth_access_token', key, token);
  const sealUs = ((performance.now() - t) * 1000) / n;
  t = performance.now();
  for (let i = 0; i < n; i++) codec.decrypt('oauth_access_token', key, sealed);
  const openUs = ((performance.now() - t) * 1000) / n;
  return { sealUs, openUs };
}

async function rotate(links: number) {
  const database = await benchDatabase('dbcrypt_rotate');
  const handle = open(database.url);
  const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  try {
    // Migrations, then `links` users each with a link encrypted under A.
    const started = await startReplica(database.url, undefined, [a]);
    await started.close();
    await seedEncryptedLinks(handle, links, a);
    const checkStarted = performance.now();
    await checkEncryptionKeys(
      authorizingStore(dbcryptStore(createStore(handle.db, handle.inTx), Keyring.from([a]))).as(
        systemActors.systemDbcrypt,
      ),
      Keyring.from([a]),
    );
    const checkMs = performance.now() - checkStarted;

    const run = await runCli(
      ['dbcrypt', 'rotate', '--new-key', b.toString('base64'), '--old-keys', a.toString('base64')],
      { DATABASE_URL: database.url },
    );
    const left = async (key: Buffer) => {
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM external_auth_links
        WHERE oauth_access_token NOT LIKE ${`dbcrypt:v1:${keyDigest(key)}:%`}
           OR oauth_refresh_token NOT LIKE ${`dbcrypt:v1:${keyDigest(key)}:%`}`.execute(handle.db);
      return rows[0]?.n;
    };
    const ok = run.code === 0 && (await left(b)) === 0;
    const capped = await runCli(
      ['dbcrypt', 'rotate', '--new-key', c.toString('base64'), '--old-keys', b.toString('base64')],
      { DATABASE_URL: database.url },
      ['--max-old-space-size=64'],
    );
    const cappedOk = capped.code === 0 && (await left(c)) === 0;
    if (!cappedOk)
      console.error(`capped rotate failed (exit ${capped.code}):\n${capped.output.slice(-2000)}`);
    if (!ok) console.error(`rotate failed (exit ${run.code}):\n${run.output.slice(-2000)}`);
    const samples = run.rss;
    const at = (f: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * f))] ?? 0;
    return {
      ok,
      seconds: run.seconds,
      rowsPerSecond: links / run.seconds,
      peakRssMiB: run.peakRssMiB,
      midRssMiB: at(0.5),
      lateRssMiB: at(0.95),
      cappedOk,
      cappedSeconds: capped.seconds,
      cappedPeakRssMiB: capped.peakRssMiB,
      samples: samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 40)) === 0),
      tail: run.output.split('\n').slice(-6),
      checkMs,
    };
  } finally {
    await handle.close();
    await database.close();
  }
}

async function seedEncryptedLinks(handle: DatabaseHandle, n: number, secret: Buffer): Promise<void> {
  await sql`
    INSERT INTO users (email, username)
    SELECT 'rot' || i || '@example.com', 'rot' || i FROM generate_series(1, ${n}) AS i`.execute(handle.db);
  const ids = (
    await handle.db.selectFrom('users').select('id').where('username', 'like', 'rot%').execute()
  ).map((r) => r.id);
  const codec = new TableCodec(
    ENCRYPTED_TABLES[0] as (typeof ENCRYPTED_TABLES)[number],
    Keyring.from([secret]),
  );
  const expiry = new Date(Date.now() + 3_600_000);
  for (let i = 0; i < ids.length; i += 5_000) {
    const rows = ids.slice(i, i + 5_000).map((id) => {
      const key = [id, 'github'];
      return {
        user_id: id,
        provider_id: 'github',
        oauth_access_token: codec.encrypt(
          'oauth_access_token',
          key,
          `gho_${randomBytes(27).toString('base64url')}`,
        ),
        oauth_refresh_token: codec.encrypt(
          'oauth_refresh_token',
          key,
          `ghr_${randomBytes(57).toString('base64url')}`,
        ),
        oauth_expiry: expiry,
        oauth_extra: '{}',
      };
    });
    await handle.db.insertInto('external_auth_links').values(rows).execute();
  }
  await sql`VACUUM ANALYZE external_auth_links`.execute(handle.db);
}

/** Runs the CLI to completion, sampling its resident memory every 100 ms. */
function runCli(args: string[], env: Record<string, string>, nodeFlags: string[] = []) {
  return new Promise<{
    code: number | null;
    seconds: number;
    rss: number[];
    peakRssMiB: number;
    output: string;
  }>((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...nodeFlags, BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const rss: number[] = [];
    let peak = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
        rss.push(kib('VmRSS') / 1024);
        peak = Math.max(peak, kib('VmHWM') / 1024);
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(sample, 100);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, seconds: (performance.now() - started) / 1000, rss, peakRssMiB: peak, output });
    });
  });
}

function open(url: string): DatabaseHandle {
  return openDatabase({
    url,
    poolMax: 2,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger('silent'),
  });
}

async function startReplica(
  url: string,
  github: FakeProvider | undefined,
  keys: Buffer[] | undefined,
): Promise<RunningServer> {
  const overrides: Partial<Config> = {
    databaseUrl: url,
    httpAddress: { host: '127.0.0.1', port: 0 },
    // Measure the vault, not the limiters (as bench/externalauth.ts does).
    rateLimitApi: 0,
    rateLimitPerToken: 0,
    proxyConcurrency: 0,
    externalAuth: github ? [providerFor(github)] : [],
  };
  if (keys) overrides.externalTokenEncryptionKeys = keys;
  return startServer({
    config: loadConfig({ env: {}, overrides }),
    logger: createLogger('info', pino.destination({ dest: '/dev/null', sync: false })),
    metrics: new Metrics({ processMetrics: false }),
  });
}

async function dbQueries(server: RunningServer): Promise<number> {
  return (await server.metrics.dbQueries.get()).values[0]?.value ?? 0;
}

function mean(xs: readonly Side[]): Side {
  const avg = (f: (s: Side) => number) => xs.reduce((n, s) => n + f(s), 0) / Math.max(1, xs.length);
  return { rps: avg((s) => s.rps), p99: avg((s) => s.p99), queries: avg((s) => s.queries) };
}
