import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueKey } from '../src/apikeys/index.ts';
import { gitUsername, normalizeUrl, parsePrompt, repositoryUrl } from '../src/cli/git-credential.ts';
import type { User } from '../src/db/index.ts';
import { type FakeProvider, startFakeProvider } from './fakes/index.ts';
import { type CliResult, cleanEnv, ROOT, spawnCli } from './kit/cli.ts';
import { useTestDatabase } from './kit/database.ts';
import { providerFor, seedLink } from './kit/providers.ts';
import { startTestServer, type TestServer } from './kit/server.ts';
import { type StoreKit, storeKit } from './kit/store.ts';
import { asUser, testAuthenticator } from './kit/test-auth.ts';

// `latchkey git-credential` (EA-10) as git runs it: a separate process talking to a real
// server with a real API key, against a fake GitHub whose REGEX is ^https?://github\.example/.*$

const BIN = fileURLToPath(new URL('../bin/latchkey.js', import.meta.url));
const REPO = 'protocol=https\nhost=github.example\npath=org/repo.git\n\n';

const db = useTestDatabase();
let kit: StoreKit;
let github: FakeProvider;
let server: TestServer;
let user: User;
let key: string;

beforeAll(async () => {
  kit = storeKit(db.url);
  github = await startFakeProvider({ flavour: 'github' });
  server = await startTestServer(db.url, {
    authenticate: testAuthenticator(kit),
    config: { rateLimitApi: 0, externalAuth: [providerFor(github)] },
  });
});
afterAll(async () => {
  await server.close();
  await github.close();
  await kit.close();
});

let n = 0;
beforeEach(async () => {
  user = await kit.user(`gitter${++n}`);
  ({ token: key } = await issueKey(kit.raw, {
    userId: user.id,
    name: `git-${n}`,
    loginType: 'token',
    scopes: ['latchkey:all'],
    allowList: ['*:*'],
    lifetimeMs: 3_600_000,
    now: new Date(),
  }));
});

function helper(args: string[], stdin: string, env: Record<string, string> = {}) {
  const proc = spawnCli(['git-credential', ...args], {
    LATCHKEY_URL: server.url,
    LATCHKEY_TOKEN: key,
    ...env,
  });
  proc.child.stdin?.end(stdin);
  return proc;
}
const get = (stdin = REPO, env: Record<string, string> = {}) => helper(['get'], stdin, env).done;

function expectNoKey(result: CliResult) {
  expect(`${result.stdout}${result.stderr}`).not.toContain(key);
}

/** The browser part of linking (Latchkey → fake GitHub → callback), which NOTIFYs waiters. */
async function link(who: User) {
  const as = { ...asUser(who) };
  const start = await server.request('/external-auth/github/link', { headers: as, redirect: 'manual' });
  expect(start.status).toBe(302);
  const upstream = await fetch(start.headers.get('location') as string, { redirect: 'manual' });
  const callback = new URL(upstream.headers.get('location') as string);
  const done = await server.request(`${callback.pathname}${callback.search}`, {
    headers: as,
    redirect: 'manual',
  });
  expect(done.status).toBe(303);
}

async function currentToken(who: User): Promise<string> {
  const res = await server.request('/api/v1/external-auth/github/token', { headers: asUser(who) });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('git credential helper', () => {
  it('prints the linked account’s fresh token for a matching repository', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    const result = await get();
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('username=x-access-token');
    expect(lines[1]).toBe(`password=${seeded.accessToken}`);
    expect(lines[2]).toMatch(/^password_expiry_utc=\d+$/);
    expectNoKey(result);
  });

  it('matches without a path (git’s default) and with url= and a user@ in it', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    for (const input of [
      'protocol=https\nhost=github.example\n\n',
      'url=https://someone@github.example/org/repo.git\n\n',
      'protocol=https\nhost=github.example\nusername=someone\n', // EOF, no blank line
    ]) {
      const result = await get(input);
      expect(result.stdout).toContain(`password=${seeded.accessToken}\n`);
    }
  });

  it('asks the user to link, waits, and answers as soon as they do', async () => {
    const proc = helper(['get'], REPO);
    const line = await proc.waitForOutput(/to link your/);
    expect(line).toBe(
      'Open http://127.0.0.1:3000/external-auth/github/link to link your github account; waiting…',
    );
    await link(user);
    const result = await proc.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`password=${await currentToken(user)}\n`);
    expect(result.stdout).not.toContain('Open ');
  });

  it('gives up after --wait-timeout', async () => {
    const result = await helper(['get', '--wait-timeout', '200ms'], REPO).done;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('quit=1\n');
    expect(result.stderr).toContain('Gave up after 200ms waiting for you to link github');
  });

  it('prints nothing and exits 0 when no provider serves the repository', async () => {
    for (const input of [
      'protocol=https\nhost=gitlab.example\npath=org/repo.git\n\n',
      'protocol=https\n\n',
    ]) {
      const result = await get(input);
      expect(result).toMatchObject({ code: 0, stdout: '' });
    }
  });

  it('sends a user whose link broke to link again, and stops git from prompting', async () => {
    await seedLink(kit.raw, github, { userId: user.id, expiresInMs: -1000 });
    github.revokeAll(github.users[0]?.login as string);
    const result = await get();
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('quit=1\n');
    expect(result.stderr).toContain(
      'Open http://127.0.0.1:3000/external-auth/github/link to link github again.',
    );
  });

  it('says clearly when the key is refused, the server is unreachable, or no key is set', async () => {
    const bad = await get(REPO, { LATCHKEY_TOKEN: `lk_0123456789_${'x'.repeat(38)}` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`LATCHKEY_TOKEN was refused by ${server.url}`);
    expect(bad.stderr).not.toContain('x'.repeat(38));

    const port = await closedPort();
    const down = await get(REPO, { LATCHKEY_URL: `http://127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(
      `Could not reach the Latchkey server at http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expectNoKey(down);

    const none = await get(REPO, { LATCHKEY_TOKEN: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('set LATCHKEY_TOKEN');
  });

  it('store, erase and unknown operations read their input and do nothing', async () => {
    for (const op of ['store', 'erase', 'someday']) {
      const result = await helper([op], `${REPO.trimEnd()}\npassword=p\n\n`).done;
      expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
    }
  });
});

describe('GIT_ASKPASS', () => {
  const ask = (prompt: string) => helper(['askpass', prompt], '').done;

  it('answers git’s username and password prompts', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    expect(await ask("Username for 'https://github.example': ")).toMatchObject({
      code: 0,
      stdout: 'x-access-token\n',
    });
    const password = await ask("Password for 'https://x-access-token@github.example': ");
    expect(password).toMatchObject({ code: 0, stdout: `${seeded.accessToken}\n` });
  });

  it('fails (so git prompts on the terminal) for other hosts and other prompts', async () => {
    expect((await ask("Username for 'https://gitlab.example': ")).code).toBe(1);
    const other = await ask("Enter passphrase for key '/home/me/.ssh/id_ed25519': ");
    expect(other.code).toBe(1);
    expect(other.stdout).toBe('');
  });
});

describe('with git itself', () => {
  const hasGit = spawnSync('git', ['--version']).status === 0;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-git-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** `git credential fill` runs helpers, then GIT_ASKPASS, exactly as a fetch would. */
  function fill(config: string[], env: Record<string, string>): Promise<CliResult> {
    const child = spawn('git', [...config, 'credential', 'fill'], {
      cwd: ROOT,
      env: cleanEnv({
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_TERMINAL_PROMPT: '0',
        LATCHKEY_URL: server.url,
        LATCHKEY_TOKEN: key,
        ...env,
      }),
    });
    child.stdin.end('protocol=https\nhost=github.example\n\n');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
  }

  it.skipIf(!hasGit)('git uses it as a credential helper', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    const helperCommand = `!"${process.execPath}" "${BIN}" git-credential`;
    const result = await fill(['-c', `credential.https://github.example.helper=${helperCommand}`], {});
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('username=x-access-token\n');
    expect(result.stdout).toContain(`password=${seeded.accessToken}\n`);
  });

  it.skipIf(!hasGit)('git uses it through a GIT_ASKPASS wrapper script', async () => {
    const seeded = await seedLink(kit.raw, github, { userId: user.id, expiresInMs: 3_600_000 });
    const script = join(dir, 'latchkey-askpass');
    await writeFile(script, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" git-credential askpass "$@"\n`);
    await chmod(script, 0o755);
    const result = await fill([], { GIT_ASKPASS: script });
    expect(result.stdout).toContain('username=x-access-token\n');
    expect(result.stdout).toContain(`password=${seeded.accessToken}\n`);
  });
});

describe('provider list', () => {
  it('GET /api/v1/external-auth tells clients each provider’s REGEX', async () => {
    const res = await server.request('/api/v1/external-auth', {
      headers: { authorization: `Bearer ${key}` },
    });
    const { providers } = (await res.json()) as { providers: Array<{ id: string; regex: string | null }> };
    expect(providers).toEqual([
      expect.objectContaining({ id: 'github', regex: '^https?:\\/\\/github\\.example\\/.*$' }),
    ]);
  });
});

describe('parsing', () => {
  it('builds the repository URL git describes, without userinfo', () => {
    const attrs = (o: Record<string, string>) => new Map(Object.entries(o));
    expect(repositoryUrl(attrs({ protocol: 'https', host: 'github.com', path: 'a/b.git' }))).toBe(
      'https://github.com/a/b.git',
    );
    expect(repositoryUrl(attrs({ protocol: 'https', host: 'git.corp:8443' }))).toBe('https://git.corp:8443/');
    expect(repositoryUrl(attrs({ url: 'https://me:pw@github.com' }))).toBe('https://github.com/');
    expect(repositoryUrl(attrs({ host: 'github.com' }))).toBeUndefined();
    expect(normalizeUrl('https://a@b@host/x?y')).toBe('https://host/x?y');
  });

  it('reads git’s prompts', () => {
    expect(parsePrompt("Password for 'https://x-access-token@github.com': ")).toEqual({
      want: 'password',
      url: 'https://github.com/',
    });
    expect(parsePrompt("Username for 'https://gitlab.com': ")).toEqual({
      want: 'username',
      url: 'https://gitlab.com/',
    });
    expect(parsePrompt('Password: ')).toBeUndefined();
  });

  it('uses each forge’s username for a token', () => {
    expect(['github', 'gitlab', 'bitbucket', 'gitea', 'oidc'].map(gitUsername)).toEqual([
      'x-access-token',
      'oauth2',
      'x-token-auth',
      'oauth2',
      'oauth2',
    ]);
  });
});

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
