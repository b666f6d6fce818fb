import { execFileSync } from 'node:child_process';

export interface RunAs {
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the `postgres` system user,
 * creating that user when the machine has none (containers often do not).
 */
export function postgresRunAs(): RunAs {
  if (process.getuid?.() !== 0) return {};
  const ids = lookup();
  if (ids) return ids;
  try {
    execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'pipe' });
  } catch {
    // The group may exist without the user; useradd below reports real failures.
  }
  try {
    execFileSync(
      'useradd',
      ['--system', '-g', 'postgres', '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', 'postgres'],
      {
        stdio: 'pipe',
      },
    );
  } catch (err) {
    throw new Error(
      `Running as root, and could not create the postgres system user: ${(err as Error).message}`,
    );
  }
  const created = lookup();
  if (!created) throw new Error('Created the postgres system user but cannot look it up.');
  return created;
}

function lookup(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}
