import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../observability/index.ts';

/**
 * After Latchkey is killed with SIGKILL (or crashes without cleanup), its detached
 * PostgreSQL keeps running and holds the data directory's lock file. Stop that orphan
 * cleanly so the next start needs no manual cleanup. A lock file whose process is gone
 * is left to PostgreSQL, which removes stale ones itself.
 */
export async function stopOrphanedPostmaster(pgdata: string, logger: Logger): Promise<void> {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  if (!isPostmasterFor(pid, pgdata)) {
    // The pid was reused by an unrelated process; PostgreSQL would refuse to start
    // while the lock file names a live process, so the stale file must go.
    rmSync(pidFile, { force: true });
    return;
  }
  logger.warn({ pid }, 'found embedded PostgreSQL left running by a previous run; stopping it');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  while (alive(pid)) await new Promise((r) => setTimeout(r, 25));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An orphan that has exited stays a zombie until whatever adopted it reaps it;
  // signal 0 still succeeds then, but the database is already shut down.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
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
