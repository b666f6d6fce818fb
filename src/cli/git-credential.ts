import { setTimeout as delay } from 'node:timers/promises';
import { Command } from 'commander';
import { formatDuration, OPTIONS, parseDuration } from '../config/index.ts';
import { EXIT, exitWithError } from './exit.ts';
import { UsageError } from './run.ts';

// `latchkey git-credential`: git's credential helper, and its GIT_ASKPASS program, backed by
// the token vault (EA-10). A client of a running server, not of the database: it maps the
// repository URL to a provider by the provider's REGEX (GET /api/v1/external-auth) and prints
// a fresh token from GET /api/v1/external-auth/{id}/token, waiting while the user links.
// The helper protocol is gitcredentials(7) and git-credential(1). The API key is never printed.

const REQUEST_TIMEOUT_MS = 30_000;
/** The server holds a `?wait=true` poll for at most 60 s; give its answer time on top. */
const POLL_TIMEOUT_MS = 75_000;
/** A poll that comes back sooner than this is not waiting (an old server?): do not spin. */
const MIN_POLL_MS = 1_000;
const DEFAULT_WAIT = '5m';

/**
 * The username git sends with the token as the password, per forge:
 * - GitHub: `x-access-token`, as GitHub documents for app tokens over HTTPS
 *   ("git clone https://x-access-token:TOKEN@github.com/owner/repo.git", docs.github.com →
 *   Authenticating as a GitHub App installation); GitHub does not check the username of a
 *   token, so it serves the user tokens Latchkey holds as well.
 * - GitLab: `oauth2`, the username GitLab requires with an OAuth token
 *   (docs.gitlab.com/ee/api/oauth2.html#access-git-over-https-with-access-token; newer
 *   releases accept any, gitlab-org/gitlab!152282).
 * - Bitbucket Cloud: the literal `x-token-auth` ("Cloning a repository with an access token",
 *   support.atlassian.com/bitbucket-cloud/docs/use-oauth-on-bitbucket-cloud/).
 * - Others (Gitea, Azure DevOps, generic OAuth): `oauth2`; they take the token as the
 *   password whatever the username.
 */
const GIT_USERNAMES: Readonly<Record<string, string>> = {
  github: 'x-access-token',
  gitlab: 'oauth2',
  bitbucket: 'x-token-auth',
};

export function gitUsername(providerType: string): string {
  return GIT_USERNAMES[providerType] ?? 'oauth2';
}

/** A provider as GET /api/v1/external-auth lists it (the fields used here). */
interface ListedProvider {
  readonly id: string;
  readonly type: string;
  readonly display_name: string;
  readonly link_url: string;
  readonly regex?: string | null;
}

interface ErrorBody {
  readonly message?: string;
  readonly detail?: string;
  readonly code?: string;
  readonly link_url?: string;
}

interface Server {
  readonly url: string;
  readonly token: string;
}

type Answer = { ok: true; body: Record<string, unknown> } | { ok: false; status: number; error: ErrorBody };

/** The server did not answer in time. */
class ServerTimeout extends Error {}

/**
 * The repository URL of a credential description: `url` if given, else
 * protocol://host/path. Git sends no path unless credential.useHttpPath is set.
 */
export function repositoryUrl(attrs: ReadonlyMap<string, string>): string | undefined {
  const url = attrs.get('url');
  if (url) return normalizeUrl(url);
  const protocol = attrs.get('protocol');
  const host = attrs.get('host');
  if (!protocol || !host) return undefined;
  return normalizeUrl(`${protocol}://${host}/${(attrs.get('path') ?? '').replace(/^\/+/, '')}`);
}

/**
 * Drops `user@` (a REGEX describes repositories, not accounts, and git puts the username it
 * is asking about there) and gives a bare host a `/` path.
 */
export function normalizeUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^/?#]*@)?([^/?#]*)(.*)$/is.exec(url);
  if (!m) return url;
  const [, scheme, authority, rest] = m;
  return `${scheme}${authority}${rest === '' ? '/' : rest}`;
}

/** Git's askpass prompts: `Username for 'https://host': `, `Password for 'https://user@host': `. */
export function parsePrompt(prompt: string): { want: 'username' | 'password'; url: string } | undefined {
  const m = /^(Username|Password) for '([^']+)': ?$/.exec(prompt.trimEnd());
  if (!m) return undefined;
  return { want: m[1] === 'Username' ? 'username' : 'password', url: normalizeUrl(m[2] as string) };
}

/** `key=value` lines up to a blank line or the end of input (git-credential(1)). */
async function readDescription(): Promise<Map<string, string>> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    text += chunk as string;
    if (/(^|\n)\r?\n/.test(text)) break;
  }
  const attrs = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '') break;
    const eq = line.indexOf('=');
    if (eq > 0) attrs.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return attrs;
}

async function call(server: Server, path: string, timeoutMs: number): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${server.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    if ((err as Error).name === 'TimeoutError')
      throw new ServerTimeout(
        `The Latchkey server at ${server.url} did not answer within ${formatDuration(timeoutMs)}.`,
      );
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new Error(
      `Could not reach the Latchkey server at ${server.url} (${why}); is it running, and is LATCHKEY_URL right?`,
    );
  }
  const body = (await res.json().catch(() => undefined)) as unknown;
  const error = typeof body === 'object' && body !== null ? (body as ErrorBody) : {};
  if (res.status === 401)
    throw new Error(
      `LATCHKEY_TOKEN was refused by ${server.url}: ${said(error)} Create a key with \`latchkey keys create\`.`,
    );
  if (typeof body !== 'object' || body === null)
    throw new Error(
      `${server.url}${path} answered ${res.status}, not with JSON; is ${server.url} a Latchkey server?`,
    );
  if (res.ok) return { ok: true, body: body as Record<string, unknown> };
  return { ok: false, status: res.status, error };
}

/** The server's message and detail as one sentence. */
function said(error: ErrorBody): string {
  const message = (error.message ?? 'No reason given.').replace(/\.$/, '');
  return `${message}${error.detail ? ` (${error.detail})` : ''}.`;
}

function failure(server: Server, answer: Answer & { ok: false }): Error {
  return new Error(`${server.url} answered ${answer.status}: ${said(answer.error)}`);
}

/** The first provider whose REGEX matches the repository URL, as the server's registry picks. */
async function matchProvider(server: Server, url: string): Promise<ListedProvider | undefined> {
  const answer = await call(server, '/api/v1/external-auth', REQUEST_TIMEOUT_MS);
  if (!answer.ok) throw failure(server, answer);
  const providers = (answer.body.providers ?? []) as ListedProvider[];
  return providers.find((p) => {
    if (typeof p.regex !== 'string') return false;
    try {
      return new RegExp(p.regex).test(url);
    } catch {
      return false; // the server compiled it with the same engine; never expected
    }
  });
}

interface Token {
  readonly accessToken: string;
  readonly expiresAt: Date | undefined;
}

function tokenOf(body: Record<string, unknown>): Token {
  const accessToken = body.access_token;
  // A line break would let a bad answer inject attributes into git's credential stream.
  if (typeof accessToken !== 'string' || accessToken === '' || /[\r\n\0]/.test(accessToken))
    throw new Error('The Latchkey server answered without a usable access_token.');
  const expiresAt = typeof body.expires_at === 'string' ? new Date(body.expires_at) : undefined;
  return { accessToken, expiresAt: expiresAt && !Number.isNaN(expiresAt.getTime()) ? expiresAt : undefined };
}

/** A fresh token for the provider; when the user has not linked it, asks them to and waits. */
async function fetchToken(server: Server, provider: ListedProvider, waitMs: number): Promise<Token> {
  const path = `/api/v1/external-auth/${encodeURIComponent(provider.id)}/token`;
  const name = provider.display_name || provider.id;
  const first = await call(server, path, REQUEST_TIMEOUT_MS);
  if (first.ok) return tokenOf(first.body);
  if (first.status !== 404 || first.error.code !== 'not_linked') throw vaultFailure(server, name, first);
  const linkUrl = first.error.link_url ?? provider.link_url;
  process.stderr.write(`Open ${linkUrl} to link your ${name} account; waiting…\n`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(
        `Gave up after ${formatDuration(waitMs)} waiting for you to link ${name} at ${linkUrl}.`,
      );
    const started = Date.now();
    let answer: Answer;
    try {
      // Each poll is woken by the server the moment the user links, or ends after its limit.
      answer = await call(server, `${path}?wait=true`, Math.min(POLL_TIMEOUT_MS, left));
    } catch (err) {
      if (err instanceof ServerTimeout && left <= POLL_TIMEOUT_MS) continue; // our deadline
      throw err;
    }
    if (answer.ok) return tokenOf(answer.body);
    if (answer.status !== 404 || answer.error.code !== 'not_linked') throw vaultFailure(server, name, answer);
    const quick = MIN_POLL_MS - (Date.now() - started);
    if (quick > 0) await delay(Math.min(quick, Math.max(0, deadline - Date.now())));
  }
}

function vaultFailure(server: Server, name: string, answer: Answer & { ok: false }): Error {
  const { code, link_url: linkUrl } = answer.error;
  if (code === 'relink_required')
    return new Error(`${said(answer.error)} Open ${linkUrl} to link ${name} again.`);
  if (code === 'upstream_unavailable') return new Error(`${said(answer.error)} Try again shortly.`);
  return failure(server, answer);
}

interface Options {
  readonly url?: string;
  readonly token?: string;
  readonly waitTimeout: string;
}

function settings(o: Options): { server: Server; waitMs: number } {
  const raw = o.url ?? process.env.LATCHKEY_URL ?? OPTIONS.accessUrl.default;
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new UsageError(`"${raw}" is not a URL (LATCHKEY_URL or --url).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`"${raw}" is not an http(s) URL (LATCHKEY_URL or --url).`);
  const token = o.token ?? process.env.LATCHKEY_TOKEN;
  if (!token) throw new UsageError('set LATCHKEY_TOKEN to an API key (see `latchkey keys create`).');
  const waitMs = parseDuration(o.waitTimeout);
  if (waitMs === undefined) throw new UsageError(`"${o.waitTimeout}" is not a duration (e.g. 5m).`);
  return { server: { url: url.href.replace(/\/+$/, ''), token }, waitMs };
}

/** `get`: print username and password for a matching provider, or nothing at all. */
async function get(o: Options): Promise<void> {
  const url = repositoryUrl(await readDescription());
  const { server, waitMs } = settings(o);
  if (url === undefined) return;
  // Nothing printed: git goes on to its other helpers, then prompts (gitcredentials(7)).
  const provider = await matchProvider(server, url);
  if (!provider) return;
  let token: Token;
  try {
    token = await fetchToken(server, provider, waitMs);
  } catch (err) {
    // This host is Latchkey's: stop git from consulting other helpers or prompting.
    process.stdout.write('quit=1\n');
    throw err;
  }
  const expiry = token.expiresAt
    ? `password_expiry_utc=${Math.floor(token.expiresAt.getTime() / 1000)}\n`
    : '';
  process.stdout.write(`username=${gitUsername(provider.type)}\npassword=${token.accessToken}\n${expiry}`);
}

/** GIT_ASKPASS: answer one prompt on stdout; a failure makes git prompt on the terminal. */
async function askpass(o: Options, prompt: string | undefined): Promise<void> {
  const asked = prompt === undefined ? undefined : parsePrompt(prompt);
  if (!asked) throw new Error(`not a git username or password prompt: ${JSON.stringify(prompt ?? '')}`);
  const { server, waitMs } = settings(o);
  const provider = await matchProvider(server, asked.url);
  if (!provider) throw new Error(`no Latchkey provider serves ${asked.url}`);
  if (asked.want === 'username') {
    process.stdout.write(`${gitUsername(provider.type)}\n`);
    return;
  }
  process.stdout.write(`${(await fetchToken(server, provider, waitMs)).accessToken}\n`);
}

export function gitCredentialCommand(): Command {
  const command = new Command('git-credential')
    .description('Git credential helper and GIT_ASKPASS program: prints a fresh token for a repository.')
    .argument('<operation>', 'get, store or erase (from git), or askpass')
    .argument('[prompt]', 'askpass: the prompt git passes')
    .option('--url <url>', `Latchkey server URL (env: LATCHKEY_URL, default: ${OPTIONS.accessUrl.default})`)
    .option('--token <key>', 'API key (env: LATCHKEY_TOKEN; prefer it: arguments are visible to others)')
    .option('--wait-timeout <duration>', 'how long to wait for you to link an account', DEFAULT_WAIT)
    .addHelpText(
      'after',
      [
        '',
        'Setup (see docs/external-auth.md#git-credentials):',
        "  git config --global credential.https://github.com.helper '!latchkey git-credential'",
        '  GIT_ASKPASS: a script running `exec latchkey git-credential askpass "$@"`',
      ].join('\n'),
    );
  command.action(async (operation: string, prompt: string | undefined) => {
    const o = command.opts<Options>();
    try {
      if (operation === 'get') await get(o);
      else if (operation === 'askpass') await askpass(o, prompt);
      // store, erase and any future operation: tokens live in Latchkey, so there is nothing
      // to do, and gitcredentials(7) asks helpers to ignore operations they do not know.
      else await readDescription();
    } catch (err) {
      if (err instanceof UsageError) {
        console.error(`latchkey git-credential: ${err.message}`);
        process.exit(EXIT.usage);
      }
      exitWithError(err);
    }
  });
  return command;
}
