import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../observability/index.ts';
import { isProcessAlive } from './process.ts';

/**
 * Call only while holding the data directory's claim (data-dir-lock.ts): then a running
 * postmaster here cannot belong to a live Latchkey.
 *
 * After Latchkey is killed with SIGKILL (or crashes without cleanup), its detached
 * PostgreSQL keeps running and holds the data directory's lock file. Stop that orphan
 * cleanly so the next start needs no manual cleanup. A lock file whose process is gone
 * is left to PostgreSQL, which removes stale ones itself.
 */
export async function stopOrphanedPostmaster(pgdata: string, logger: Logger): Promise<void> {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return;
  if (!isPostmasterFor(pid, pgdata)) {
    // The pid was reused by an unrelated process; PostgreSQL would refuse to start
    // while the lock file names a live process, so the stale file must go.
    rmSync(pidFile, { force: true });
    return;
  }
  logger.warn({ pid }, 'found embedded PostgreSQL left running by a previous run; stopping it');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  while (isProcessAlive(pid)) await new Promise((r) => setTimeout(r, 25));
}

function isPostmasterFor(pid: number, pgdata: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith('postgres')) && cmdline.includes(pgdata);
  } catch {
    // No /proc (macOS): trust the lock file, as PostgreSQL itself would.
    return true;
  }
}
