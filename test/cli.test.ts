import { createServer } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { OPTION_LIST } from '../src/config/index.ts';
import { runCli } from './kit/cli.ts';
import { createTestDatabase, useTestDatabase } from './kit/database.ts';
import { freePort } from './kit/tcp-proxy.ts';

describe('latchkey CLI', () => {
  it('prints its version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('lists every option with its env var and default in `server --help`', async () => {
    const { code, stdout } = await runCli(['server', '--help']);
    expect(code).toBe(0);
    const flat = stdout.replace(/\s+/g, ' ');
    for (const def of OPTION_LIST) {
      expect(flat).toContain(def.env);
      if (def.default !== undefined) expect(flat).toContain(`default: ${def.default}`);
    }
  });

  it('exits 2 naming the variable when a value is bad', async () => {
    const result = await runCli(['server'], { LATCHKEY_HTTP_ADDRESS: 'nope', LATCHKEY_DB_POOL_MAX: '-3' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('LATCHKEY_HTTP_ADDRESS="nope": expected host:port');
    expect(result.stderr).toContain('LATCHKEY_DB_POOL_MAX="-3": must be at least 1');
  });

  it('exits 2 naming the variable when an external auth provider is misconfigured', async () => {
    const result = await runCli(['server'], {
      LATCHKEY_EXTERNAL_AUTH_0_ID: 'Git Hub',
      LATCHKEY_EXTERNAL_AUTH_0_TYPE: 'github',
      LATCHKEY_EXTERNAL_AUTH_0_CLIENT_ID: 'abc',
      LATCHKEY_EXTERNAL_AUTH_0_CLIENT_SECRET: 'hunter2',
      LATCHKEY_EXTERNAL_AUTH_1_TYPE: 'gitlab',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'LATCHKEY_EXTERNAL_AUTH_0_ID="Git Hub": may contain only lowercase letters',
    );
    expect(result.stderr).toContain('LATCHKEY_EXTERNAL_AUTH_1_CLIENT_ID: is required');
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
  });

  it('exits 2 for an unknown flag', async () => {
    const result = await runCli(['server', '--http-adress', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--http-adress'");
  });
});

describe('latchkey server start-up failures', () => {
  const db = useTestDatabase();

  it('says clearly when the HTTP address is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const result = await runCli(['server'], {
        DATABASE_URL: db.url,
        LATCHKEY_HTTP_ADDRESS: `127.0.0.1:${port}`,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Cannot listen on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('retries an unreachable database for the configured time, then fails clearly', async () => {
    const port = await freePort();
    const result = await runCli(['server'], {
      DATABASE_URL: `postgres://latchkey:secret-pw@127.0.0.1:${port}/latchkey`,
      LATCHKEY_DB_CONNECT_TIMEOUT: '1s',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}/latchkey is not reachable after \\d+ attempts`),
    );
    // Several attempts were logged before giving up, and the password never was.
    expect(result.stdout.match(/database not reachable, retrying/g)?.length).toBeGreaterThan(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain('secret-pw');
  });
});

describe('latchkey migrate', () => {
  it('shows pending migrations, applies them, then shows them applied', async () => {
    const empty = await createTestDatabase({ empty: true });
    try {
      const before = await runCli(['migrate', 'status'], { DATABASE_URL: empty.url });
      expect(before.code).toBe(0);
      expect(before.stdout).toMatch(/0001_identity\tpending/);

      const up = await runCli(['migrate', 'up'], { DATABASE_URL: empty.url });
      expect(up.code).toBe(0);
      expect(up.stdout).toContain('applied 0001_identity');

      const after = await runCli(['migrate', 'status'], { DATABASE_URL: empty.url });
      expect(after.stdout).toMatch(/0001_identity\tapplied \d{4}-/);
      expect(after.stdout).toContain('Database is up to date.');

      const again = await runCli(['migrate', 'up'], { DATABASE_URL: empty.url });
      expect(again.stdout).toContain('Database is up to date.');

      const client = new pg.Client({ connectionString: empty.url });
      await client.connect();
      const { rows } = await client.query('SELECT name FROM organizations WHERE is_default');
      await client.end();
      expect(rows).toEqual([{ name: 'default' }]);
    } finally {
      await empty.drop();
    }
  });
});
