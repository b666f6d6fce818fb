import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from './process.ts';

/** Another Latchkey process runs the embedded PostgreSQL in this data directory. */
export class DataDirInUseError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `The data directory ${dir} is in use by another Latchkey process (pid ${pid}). ` +
        'Stop it, or give this one its own LATCHKEY_DATA_DIR or a DATABASE_URL.',
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * Claims the data directory for this process. Without it, a second `latchkey server` in
 * the same folder would take the first one's running PostgreSQL for an orphan of a crash
 * and stop it under a live server. A claim whose process is gone is stale and taken over.
 */
export function claimDataDir(dir: string): { release(): void } {
  const path = join(dir, 'latchkey.pid');
  const mine = String(process.pid);
  try {
    writeFileSync(path, mine, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(other) && other > 0 && other !== process.pid && isProcessAlive(other)) {
      throw new DataDirInUseError(dir, other);
    }
    writeFileSync(path, mine, { mode: 0o600 });
  }
  return {
    release() {
      try {
        if (readFileSync(path, 'utf8').trim() === mine) rmSync(path, { force: true });
      } catch {
        // Already gone.
      }
    },
  };
}
