import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CliResult, runCli, spawnCli } from './kit/cli.ts';
import { createTestDatabase, type TestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';

let db: TestDatabase;
let server: TestServer;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db.url);
});
afterAll(async () => {
  await server.close();
  await db.drop();
});

function withStdin(args: string[], input: string): Promise<CliResult> {
  const proc = spawnCli(args, { DATABASE_URL: db.url });
  proc.child.stdin?.end(input);
  return proc.done;
}

const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.url });

it('first owner from the CLI signs in by API; a CLI key works and its revocation is immediate', async () => {
  const created = await withStdin(
    ['users', 'create', '--email', 'root@example.com', '--username', 'root', '--owner', '--password-stdin'],
    'a long enough password\n',
  );
  expect(created.code).toBe(0);

  const login = await server.request('/api/v1/users/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'root@example.com', password: 'a long enough password' }),
  });
  expect(login.status).toBe(200);

  const made = await cli(
    'keys',
    'create',
    '--user',
    'root',
    '--name',
    'deploy',
    '--scope',
    'user:read',
    '--lifetime',
    '2h',
  );
  expect(made.code).toBe(0);
  const token = made.stdout.trim();
  expect(token).toMatch(/^lk_[0-9A-Za-z]{10}_[0-9A-Za-z]{38}$/);
  expect(made.stderr).toContain('This is the only time the key is shown');

  const listed = await cli('keys', 'list', '--user', 'root');
  expect(listed.stdout).toContain('deploy');
  expect(listed.stdout).not.toContain(token.slice(14));

  const me = await server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
  expect(await me.json()).toMatchObject({ username: 'root' });

  const id = token.slice(3, 13);
  const dropped = new Promise<void>((resolve) => {
    const off = server.keys.onDrop((k) => {
      if (k === id) {
        off();
        resolve();
      }
    });
  });
  expect((await cli('keys', 'delete', '--user', 'root', id)).code).toBe(0);
  await dropped;
  expect(
    (await server.request('/api/v1/users/me', { headers: { authorization: `Bearer ${token}` } })).status,
  ).toBe(401);
});

it('refuses bad input with exit 2 and unknown keys with exit 1', async () => {
  expect((await cli('keys', 'create', '--user', 'root', '--name', 'x', '--scope', 'nope:nope')).code).toBe(2);
  expect((await cli('keys', 'create', '--user', 'root', '--name', 'x', '--lifetime', '5')).code).toBe(2);
  expect(
    (
      await withStdin(
        ['users', 'create', '--email', 'a@example.com', '--username', 'a', '--password-stdin'],
        'short\n',
      )
    ).code,
  ).toBe(2);
  expect((await cli('keys', 'delete', '--user', 'root', 'AAAAAAAAAA')).code).toBe(1);
});
