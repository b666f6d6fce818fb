import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../src/db/embedded/process.ts';
import { freePort } from '../test/kit/tcp-proxy.ts';
import { report } from './lib/report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * `npm start` to the first 200 from /readyz, exactly as a person runs it (embedded
 * PostgreSQL, no DATABASE_URL): a first run that initialises the cluster, then later runs
 * on the same data directory. Then the idle RSS of the server process 3 s after it is
 * ready (PostgreSQL not included). Baseline: `node -e ""`, the floor any Node process
 * pays to start.
 */
export async function benchStartup(laterRuns = 3): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-start-'));
  try {
    const floor = await timeNodeFloor();
    const first = await startOnce(dataDir, true);
    const later: Array<{ ms: number; rssMb: number }> = [];
    for (let i = 0; i < laterRuns; i++) later.push(await startOnce(dataDir, i === laterRuns - 1));
    const laterMs = later.reduce((a, b) => a + b.ms, 0) / later.length;
    const laterRss = later.at(-1)?.rssMb ?? 0;
    report('startup', [
      { name: 'node -e "" (baseline)', value: floor, unit: 'ms' },
      {
        name: 'npm start → /readyz 200, first run',
        value: first.ms,
        unit: 'ms',
        ratio: first.ms / floor,
        target: '< 6000 ms',
        met: first.ms < 6000,
      },
      {
        name: 'npm start → /readyz 200, later runs',
        value: laterMs,
        unit: 'ms',
        ratio: laterMs / floor,
        target: '< 2500 ms',
        met: laterMs < 2500,
      },
      // The first run after an install also loads Node's TypeScript stripper; later runs
      // get type-stripped code from the compile cache (see bin/latchkey.js).
      { name: 'server idle RSS, first run', value: first.rssMb, unit: 'MB' },
      {
        name: 'server idle RSS, later runs (no PostgreSQL)',
        value: laterRss,
        unit: 'MB',
        target: '< 120 MB',
        met: laterRss < 120,
      },
    ]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function startOnce(dataDir: string, measureRss: boolean): Promise<{ ms: number; rssMb: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...withoutLatchkeyEnv(), LATCHKEY_DATA_DIR: dataDir, LATCHKEY_HTTP_ADDRESS: `127.0.0.1:${port}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  while (!(await ready(port))) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${out}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = performance.now() - started;
  // The server's own pid (npm and a shell sit in between) from its "listening" log line,
  // which the asynchronous logger may flush a moment after /readyz already answers.
  let pid: number | undefined;
  while (pid === undefined) {
    const line = out.split('\n').find((l) => l.includes('Latchkey is listening'));
    if (line) pid = (JSON.parse(line) as { pid: number }).pid;
    else await new Promise((r) => setTimeout(r, 10));
  }
  let rssMb = 0;
  if (measureRss) {
    await new Promise((r) => setTimeout(r, 3000));
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }
  await stop(child, pid);
  return { ms, rssMb };
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess, pid: number): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(pid, 'SIGTERM');
  await exited;
  // npm may exit before its grandchild does; the next run needs the data directory free.
  while (isProcessAlive(pid)) await new Promise((r) => setTimeout(r, 10));
}

async function timeNodeFloor(): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await new Promise((r) => spawn(process.execPath, ['-e', '']).once('exit', r));
    runs.push(performance.now() - t);
  }
  return Math.min(...runs);
}

function withoutLatchkeyEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k === 'DATABASE_URL' || k.startsWith('LATCHKEY_')) delete env[k];
  return env;
}
