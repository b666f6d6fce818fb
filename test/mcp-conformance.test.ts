import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type BearerProxy, startBearerProxy } from './kit/bearer-proxy.ts';
import { useTestDatabase } from './kit/database.ts';
import { exchange, type Flow, ISSUER, startFlow } from './kit/oauth2-flow.ts';

// The official MCP conformance suite (@modelcontextprotocol/conformance) runs the server
// scenarios of its active suite against Latchkey's own /mcp, as a client would: a real
// server on PostgreSQL, a signed-in user's OAuth access token for `<access url>/mcp`, and a
// local proxy that adds that token to every request (the suite sends none). Scenarios that
// need what Latchkey's server does not offer by design are listed, with their reasons, in
// test/conformance/expected-failures.yml; this file keeps that list honest both ways.

const EXPECTED_FAILURES = fileURLToPath(new URL('./conformance/expected-failures.yml', import.meta.url));
/** The whole suite takes a few seconds; this only stops a hung run. */
const SUITE_TIMEOUT_MS = 45_000;

/** One check of a scenario, as the suite writes it to `checks.json`. */
interface Check {
  readonly id: string;
  readonly status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  readonly description: string;
  readonly errorMessage?: string;
}

interface ScenarioResult {
  readonly scenario: string;
  /** Undefined when the scenario crashed before the suite saved its checks. */
  readonly checks: readonly Check[] | undefined;
}

interface SuiteRun {
  readonly exitCode: number | null;
  readonly output: string;
  /** "Running active suite (N scenarios)". */
  readonly announced: number | undefined;
  readonly results: readonly ScenarioResult[];
}

const db = useTestDatabase();
let flow: Flow;
let proxy: BearerProxy;
let run: SuiteRun;

beforeAll(async () => {
  flow = await startFlow(db.url);
  const ada = await flow.kit.user('ada');
  const client = await flow.createApp({ name: 'MCP conformance suite' });
  const resource = `${ISSUER}/mcp`;
  const got = await flow.code(client, ada, { scope: 'latchkey:all', resource });
  const { access_token } = await exchange(flow, client, got, { resource });
  proxy = await startBearerProxy(flow.server.url, access_token);
  run = await runServerSuite(`${proxy.url}/mcp`);
});
afterAll(async () => {
  await proxy?.close();
  await flow?.close();
});

/**
 * Runs `conformance server` on the active suite with the expected-failures baseline. Its
 * results go to a temporary directory (it is also the working directory, so nothing lands
 * in the repository), read back per scenario before the directory is removed.
 */
async function runServerSuite(url: string): Promise<SuiteRun> {
  const pkg = createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json');
  const { bin } = JSON.parse(readFileSync(pkg, 'utf8')) as { bin: { conformance: string } };
  const work = await mkdtemp(join(tmpdir(), 'latchkey-conformance-'));
  const out = join(work, 'results');
  try {
    // This Node, not the one on PATH the bin's shebang would find.
    const child = spawn(
      process.execPath,
      [
        join(dirname(pkg), bin.conformance),
        'server',
        '--url',
        url,
        '--suite',
        'active',
        '--expected-failures',
        EXPECTED_FAILURES,
        '--output-dir',
        out,
      ],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const hung = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS);
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    }).finally(() => clearTimeout(hung));

    const saved = new Map<string, readonly Check[]>();
    for (const dir of await readdir(out).catch(() => [])) {
      // server-<scenario>-<ISO time with ':' and '.' as '-'>
      const scenario = /^server-(.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/.exec(dir)?.[1];
      if (scenario) saved.set(scenario, JSON.parse(await readFile(join(out, dir, 'checks.json'), 'utf8')));
    }
    const ran = [...output.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1] as string);
    const announced = /^Running active suite \((\d+) scenarios\)/m.exec(output)?.[1];
    return {
      exitCode,
      output,
      announced: announced === undefined ? undefined : Number(announced),
      results: ran.map((scenario) => ({ scenario, checks: saved.get(scenario) })),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function expectedFailures(): Set<string> {
  const baseline = parse(readFileSync(EXPECTED_FAILURES, 'utf8')) as { server?: string[] };
  return new Set(baseline.server ?? []);
}

/** The suite's own rule: a failure or a warning fails the scenario. */
function failures(result: ScenarioResult): string[] {
  if (result.checks === undefined) return [`${result.scenario}: crashed before saving its checks`];
  return result.checks
    .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
    .map((c) => `${result.scenario}: ${c.id} ${c.status}: ${c.errorMessage ?? c.description}`);
}

describe('the MCP conformance suite against /mcp', () => {
  it('runs every scenario of the active suite, through the token-adding proxy', () => {
    expect(run.results.length, run.output).toBeGreaterThan(0);
    expect(run.results.length).toBe(run.announced);
    // Every request of the suite went through the proxy, so every one carried the token.
    expect(proxy.forwarded).toBeGreaterThanOrEqual(run.results.length);
    // An entry for a scenario the suite no longer has is as stale as one that passes.
    const names = new Set(run.results.map((r) => r.scenario));
    expect([...expectedFailures()].filter((name) => !names.has(name))).toEqual([]);
  });

  it('passes every scenario that is not an expected failure', () => {
    const expected = expectedFailures();
    const unexpected = run.results.filter((r) => !expected.has(r.scenario)).flatMap(failures);
    expect(unexpected).toEqual([]);
  });

  it('still fails every expected failure (once one passes, remove it from the list)', () => {
    const expected = expectedFailures();
    const passing = run.results.filter((r) => expected.has(r.scenario) && failures(r).length === 0);
    expect(passing.map((r) => r.scenario)).toEqual([]);
  });

  it("agrees with the suite's own check of the expected failures", () => {
    // On failure, show the suite's summary and its verdict on the baseline (all of it if it crashed).
    const summary = run.output.indexOf('=== SUMMARY ===');
    expect(run.exitCode, summary < 0 ? run.output : run.output.slice(summary)).toBe(0);
  });
});

describe('POST /mcp, calling a tool the server does not have', () => {
  const call = (name: string) =>
    fetch(`${proxy.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } }),
    });

  it('is the protocol error "Unknown tool" (-32602), not a tool result', async () => {
    const res = await call('test_simple_text');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32602, message: 'Unknown tool: test_simple_text' },
    });
  });

  it('leaves calls of its own tools alone', async () => {
    const res = await call('whoami');
    const body = (await res.json()) as {
      id: number;
      result: { isError?: boolean; structuredContent: unknown };
    };
    expect(body.id).toBe(7);
    expect(body.result.isError).toBeUndefined();
    expect(body.result.structuredContent).toMatchObject({ username: 'ada', scopes: ['latchkey:all'] });
  });
});

describe('the bearer proxy', () => {
  it('signs each request, streams the request body up and an SSE answer down event by event', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const upstream = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(`data: ${req.headers.authorization} ${req.headers.host} ${body}\n\n`);
      // The second event is written only once the client has read the first one.
      await released;
      res.end('data: second\n\n');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    const address = upstream.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const signing = await startBearerProxy(`http://127.0.0.1:${port}`, 'tok-1');
    try {
      const res = await fetch(`${signing.url}/stream`, { method: 'POST', body: 'hello' });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const read = async (): Promise<string | undefined> => {
        const part = await reader.read();
        return part.done ? undefined : decoder.decode(part.value, { stream: true });
      };
      let first = '';
      while (!first.endsWith('\n\n')) first += (await read()) ?? '\n\n(ended)';
      // The Host is the one the client sent to the proxy, as a Host-preserving reverse proxy does.
      expect(first).toBe(`data: Bearer tok-1 ${new URL(signing.url).host} hello\n\n`);
      release();
      let rest = '';
      for (let part = await read(); part !== undefined; part = await read()) rest += part;
      expect(rest).toBe('data: second\n\n');
      expect(signing.forwarded).toBe(1);
    } finally {
      release();
      await signing.close();
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});
