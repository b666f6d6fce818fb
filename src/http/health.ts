import type { FastifyInstance } from 'fastify';
import { type Kysely, sql } from 'kysely';
import { KNOWN_MIGRATIONS } from '../db/index.ts';
import { errorBody } from './api-error.ts';

const READY_TIMEOUT_MS = 2000;

/**
 * /healthz: the process is up (for restarts). /readyz: this replica can serve, meaning the
 * database answers and has every migration this build knows (for load balancers).
 * One statement answers both database questions.
 */
export function registerHealthRoutes<DB>(app: FastifyInstance, db: Kysely<DB>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    let applied: Set<string>;
    try {
      applied = await withTimeout(appliedMigrations(db), READY_TIMEOUT_MS);
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'readiness check: database not reachable');
      return reply
        .code(503)
        .send(errorBody('Not ready: the database is not reachable.', (err as Error).message));
    }
    const pending = KNOWN_MIGRATIONS.filter((name) => !applied.has(name));
    if (pending.length > 0) {
      return reply.code(503).send(errorBody('Not ready: migrations are pending.', pending.join(', ')));
    }
    return { status: 'ok', checks: { database: 'ok', migrations: 'ok' } };
  });
}

async function appliedMigrations<DB>(db: Kysely<DB>): Promise<Set<string>> {
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
    return new Set(rows.map((r) => r.name));
  } catch (err) {
    // No migration table yet: nothing applied.
    if ((err as { code?: string }).code === '42P01') return new Set();
    throw err;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
