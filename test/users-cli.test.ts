import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidated, userChanged } from './kit/api.ts';
import { cleanEnv, ROOT, runCli } from './kit/cli.ts';
import { createTestDatabase, type TestDatabase } from './kit/database.ts';
import { startTestServer } from './kit/server.ts';

// `latchkey users …` against a database of its own, in a child process as an operator
// would run it. Tests run in order: each builds on the users the previous ones made.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const users = (...args: string[]) => runCli(['users', ...args], { DATABASE_URL: db.url });

interface ListedUser {
  id: string;
  username: string;
  email: string;
  name: string;
  status: string;
  roles: string[];
}
const list = async (): Promise<ListedUser[]> => {
  const res = await users('list', '--json');
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as ListedUser[];
};
const byName = async (username: string) => (await list()).find((u) => u.username === username);

describe('latchkey users', () => {
  it('create --owner makes the first owner', async () => {
    const res = await users('create', '--email', 'ada@example.com', '--username', 'ada', '--owner');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Created user ada \([0-9a-f-]{36}\) with roles member, owner\.$/m);
  });

  it('list shows it, as a table and as JSON', async () => {
    const table = await users('list');
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+USERNAME\s+EMAIL\s+STATUS\s+ROLES$/);
    expect(lines[1]).toMatch(/^[0-9a-f-]{36}\s+ada\s+ada@example\.com\s+active\s+member,owner$/);
    expect(await list()).toEqual([
      expect.objectContaining({
        username: 'ada',
        email: 'ada@example.com',
        status: 'active',
        roles: ['member', 'owner'],
      }),
    ]);
  });

  it('create makes a second, plain user', async () => {
    const res = await users(
      'create',
      '--email',
      'bob@example.com',
      '--username',
      'bob',
      '--name',
      'Bob Builder',
    );
    expect(res.code).toBe(0);
    expect(await byName('bob')).toMatchObject({ name: 'Bob Builder', roles: ['member'], status: 'active' });
  });

  it('suspend and activate, by username or id', async () => {
    expect((await users('suspend', 'bob')).stdout).toContain('Suspended bob.');
    const bob = await byName('bob');
    expect(bob?.status).toBe('suspended');
    const activate = await users('activate', bob?.id as string);
    expect(activate.code).toBe(0);
    expect(activate.stdout).toContain('Activated bob.');
    expect((await byName('bob'))?.status).toBe('active');
  });

  it('a running server hears of the change (its cached roles for that user are dropped)', async () => {
    const server = await startTestServer(db.url);
    try {
      const bob = await byName('bob');
      const heard = invalidated(server, userChanged(bob?.id as string));
      expect((await users('suspend', 'bob')).code).toBe(0);
      await heard;
      expect((await users('activate', 'bob')).code).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('the last owner cannot be suspended or deleted (exit 1, and they stay)', async () => {
    const suspend = await users('suspend', 'ada');
    expect(suspend.code).toBe(1);
    expect(suspend.stderr).toContain('last owner');
    const del = await users('delete', 'ada', '--yes');
    expect(del.code).toBe(1);
    expect(del.stderr).toContain('This is the last owner');
    expect(await byName('ada')).toMatchObject({ status: 'active', roles: ['member', 'owner'] });
  });

  it('delete refuses without --yes when stdin is not a terminal (exit 2), touching nothing', async () => {
    const res = await users('delete', 'bob');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Pass --yes');
    expect(await byName('bob')).toBeDefined();
  });

  it('delete --yes deletes', async () => {
    const res = await users('delete', 'bob', '--yes');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Deleted bob.');
    expect(await byName('bob')).toBeUndefined();
  });

  // `script` (util-linux, in Debian's essential bsdutils) is on every machine of this kind.
  it('delete asks on a terminal, and does nothing unless told yes', async () => {
    expect((await users('create', '--email', 'cy@example.com', '--username', 'cy')).code).toBe(0);
    // `script` gives the command a pseudo-terminal; what we write is what the operator types.
    const onTerminal = (answer: string) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(
          'script',
          ['-qec', `${process.execPath} bin/latchkey.js users delete cy`, '/dev/null'],
          {
            cwd: ROOT,
            env: cleanEnv({ DATABASE_URL: db.url }),
            stdio: 'pipe',
          },
        );
        let output = '';
        child.stdout.on('data', (d: Buffer) => {
          output += d.toString();
        });
        child.stdin.end(`${answer}\n`);
        child.on('close', (code) => resolve({ code, output }));
      });
    const no = await onTerminal('n');
    expect(no.output).toContain('Delete user cy <cy@example.com>? [y/N]');
    expect(no.code).toBe(1);
    expect(await byName('cy')).toBeDefined();
    const yes = await onTerminal('y');
    expect(yes.output).toContain('Deleted cy.');
    expect(yes.code).toBe(0);
    expect(await byName('cy')).toBeUndefined();
  });
});

describe('latchkey users: refusals', () => {
  it('a user that does not exist: exit 1 naming it', async () => {
    for (const cmd of [['suspend'], ['activate'], ['delete', '--yes']]) {
      const res = await users(...cmd, 'nobody');
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('No user "nobody"');
    }
  });

  it('a username or email that is taken: exit 1', async () => {
    const res = await users('create', '--email', 'ADA@example.com', '--username', 'ada2');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('already exists');
  });

  it('usage errors exit 2: missing or bad options, `me`, no argument', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['create', '--username', 'x'], /required option '--email/],
      [['create', '--email', 'x@example.com'], /required option '--username/],
      [['create', '--email', 'not-an-email', '--username', 'x'], /"not-an-email" is not an email address/],
      [['create', '--email', 'x@example.com', '--username', 'has space'], /not a valid username/],
      [['suspend', 'me'], /name the user by id or username/],
      [['suspend'], /missing required argument 'user'/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [args, message] of cases) {
      const res = await users(...args);
      expect({ args, code: res.code }).toEqual({ args, code: 2 });
      expect(res.stderr).toMatch(message);
    }
    expect((await list()).map((u) => u.username)).toEqual(['ada']);
  });
});

it('works on a fresh install: it migrates an empty database first', async () => {
  const empty = await createTestDatabase({ empty: true });
  try {
    const env = { DATABASE_URL: empty.url };
    const res = await runCli(
      ['users', 'create', '--email', 'first@example.com', '--username', 'first', '--owner'],
      env,
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const listed = await runCli(['users', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ username: 'first', roles: ['member', 'owner'] }),
    ]);
  } finally {
    await empty.drop();
  }
});
