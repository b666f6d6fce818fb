import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/db/embedded/process.ts';
import { type CliProcess, runCli, spawnCli } from './kit/cli.ts';
import { freePort } from './kit/tcp-proxy.ts';

// The path `npm start` takes on a fresh machine: no DATABASE_URL, so Latchkey runs its
// own PostgreSQL in the data directory. One cluster serves the whole sequence below.
describe('embedded PostgreSQL (no DATABASE_URL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-embedded-'));
  const started: CliProcess[] = [];
  afterAll(() => {
    for (const p of started) p.child.kill('SIGKILL');
    stopPostmaster();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<{ proc: CliProcess; url: string; pgPid: number; pgPort: number }> {
    const port = await freePort();
    const proc = spawnCli(['server'], {
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_HTTP_ADDRESS: `127.0.0.1:${port}`,
    });
    started.push(proc);
    const pgLine = JSON.parse(await proc.waitForOutput(/embedded PostgreSQL started/)) as {
      pid: number;
      port: number;
    };
    await proc.waitForOutput(/Latchkey is listening/);
    return { proc, url: `http://127.0.0.1:${port}`, pgPid: pgLine.pid, pgPort: pgLine.port };
  }

  function stopPostmaster() {
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGQUIT');
      } catch {}
    }
  }

  async function query(pgPort: number, text: string): Promise<unknown[]> {
    const password = readFileSync(join(dataDir, 'password'), 'utf8').trim();
    const client = new pg.Client({
      host: '127.0.0.1',
      port: pgPort,
      user: 'postgres',
      password,
      database: 'latchkey',
    });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  }

  it('initialises on first start, keeps a 0600 password, recovers after kill -9, stops on SIGTERM', async () => {
    // First start: initdb, migrations, ready.
    const first = await start();
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);

    // CLI commands next to a running server use its database instead of being refused.
    const status = await runCli(['migrate', 'status'], { LATCHKEY_DATA_DIR: dataDir });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Database is up to date.');
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect(statSync(join(dataDir, 'password')).mode & 0o777).toBe(0o600);
    await query(first.pgPort, "INSERT INTO users (email, username) VALUES ('kept@example.com', 'kept')");

    // A second server on the same data directory refuses, and leaves the first one's
    // database alone (it must not mistake a live postmaster for an orphan).
    const intruder = await spawnCli(['server'], {
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_HTTP_ADDRESS: `127.0.0.1:${await freePort()}`,
    }).done;
    expect(intruder.code).toBe(1);
    expect(intruder.stderr).toContain(`is in use by another Latchkey process (pid ${first.proc.child.pid})`);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);

    // Crash: the server dies without cleanup and its PostgreSQL is orphaned.
    first.proc.child.kill('SIGKILL');
    await first.proc.done;
    expect(isProcessAlive(first.pgPid)).toBe(true);

    // The next start comes up without manual cleanup, with the data intact.
    const second = await start();
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    expect(isProcessAlive(first.pgPid)).toBe(false);
    expect(await query(second.pgPort, "SELECT username FROM users WHERE email = 'kept@example.com'")).toEqual(
      [{ username: 'kept' }],
    );

    // SIGTERM drains and stops PostgreSQL cleanly (a clean shutdown removes the lock file).
    second.proc.child.kill('SIGTERM');
    const result = await second.proc.done;
    expect(result.code).toBe(0);
    expect(isProcessAlive(second.pgPid)).toBe(false);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(readFileSync(join(dataDir, 'postgres.log'), 'utf8')).toContain('database system is shut down');
  });
});
