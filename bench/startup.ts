import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/kit/tcp-proxy.ts';
import { report } from './lib/report.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * `npm start` to the first 200 from /readyz, exactly as a person runs it (embedded
 * PostgreSQL, no DATABASE_URL): a first run that initialises the cluster, then later runs
 * on the same data directory. Then the idle RSS of the server process (PostgreSQL not
 * included). Baseline: `node -e ""`, the floor any Node process pays to start.
 */
export async function benchStartup(laterRuns = 3): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-start-'));
  try {
    const floor = await timeNodeFloor();
    const first = await startOnce(dataDir, true);
    const later: number[] = [];
    for (let i = 0; i < laterRuns; i++) later.push((await startOnce(dataDir, false)).ms);
    const laterMean = later.reduce((a, b) => a + b, 0) / later.length;
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
        value: laterMean,
        unit: 'ms',
        ratio: laterMean / floor,
        target: '< 2500 ms',
        met: laterMean < 2500,
      },
      {
        name: 'server idle RSS (without PostgreSQL)',
        value: first.rssMb,
        unit: 'MB',
        target: '< 120 MB',
        met: first.rssMb < 120,
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
  const pid = (
    JSON.parse(out.split('\n').find((l) => l.includes('Latchkey is listening')) ?? '{}') as { pid?: number }
  ).pid;
  let rssMb = 0;
  if (measureRss && pid) {
    // Idle: let start-up garbage settle, then read the resident set of the server alone.
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

async function stop(child: ChildProcess, pid: number | undefined): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  if (pid) process.kill(pid, 'SIGTERM');
  else child.kill('SIGTERM');
  await exited;
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
