import { once } from 'node:events';
import { createRequire } from 'node:module';
import type pg from 'pg';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
} from 'rate-limiter-flexible';
import type { Config } from '../../config/index.ts';
import type { Logger } from '../../observability/index.ts';
import { StoreHealth, withFallback } from './fallback.ts';
import { type Limiter, verdictOf, withTimeout } from './limiter.ts';

/** Created by migration 0004_rate_limits. */
export const RATE_LIMIT_TABLE = 'rate_limits';

/** How long start-up waits for Redis before serving with in-memory counters. */
const REDIS_READY_TIMEOUT_MS = 3000;

/** Where counters live; limiters of one store share its connection and its health. */
export interface CounterStore {
  /** A fixed-window limiter of `points` per `windowSeconds`, keys prefixed with `name`. */
  limiter(name: string, points: number, windowSeconds: number): Limiter;
  /** Waits (briefly) until the store can answer; never fails. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface CounterStoreOptions {
  readonly config: Pick<Config, 'rateLimitStore' | 'rateLimitKeyPrefix' | 'redisUrl'>;
  /** The app's pool, for the postgres store. */
  readonly pool: pg.Pool;
  readonly logger: Logger;
  /** Told when the replica starts and stops counting in memory because the store is down. */
  readonly onFallback: (active: boolean) => void;
}

export function createCounterStore(options: CounterStoreOptions): CounterStore {
  switch (options.config.rateLimitStore) {
    case 'memory':
      return memoryStore(options.config.rateLimitKeyPrefix);
    case 'postgres':
      return postgresStore(options);
    case 'redis':
      return redisStore(options);
  }
}

function memoryStore(prefix: string): CounterStore {
  return {
    limiter: (name, points, duration) => {
      const memory = new RateLimiterMemory({ keyPrefix: `${prefix}:${name}`, points, duration });
      return { consume: (key) => verdictOf(memory, key) };
    },
    ready: async () => {},
    close: async () => {},
  };
}

type StoreLimiterOptions = { keyPrefix: string; points: number; duration: number };

/** The parts postgres and redis share: a health check, fallbacks, the in-memory block. */
function sharedStore(
  store: string,
  make: (options: StoreLimiterOptions) => RateLimiterAbstract,
  options: CounterStoreOptions,
  hooks: { ready: (health: StoreHealth) => Promise<void>; close: () => Promise<void> },
): CounterStore {
  const prefix = options.config.rateLimitKeyPrefix;
  // The check consumes like a request does (an upsert, or Redis's script), so a store that
  // answers reads but refuses writes is not taken for healthy; with points it never reaches,
  // it is never answered from the in-memory block instead of the store.
  const probe = make({ keyPrefix: `${prefix}:health`, points: 1_000_000, duration: 1 });
  const health = new StoreHealth({
    store,
    probe: () => verdictOf(probe, 'probe'),
    logger: options.logger,
    onChange: options.onFallback,
  });
  return {
    limiter: (name, points, duration) => {
      const keyPrefix = `${prefix}:${name}`;
      return withFallback(
        make({ keyPrefix, points, duration }),
        new RateLimiterMemory({ keyPrefix, points, duration }),
        health,
      );
    },
    ready: () => hooks.ready(health),
    close: async () => {
      health.close();
      await hooks.close();
    },
  };
}

// A key over its limit is then refused from memory until its window ends, so a client
// hammering a refused bucket costs no store round trip per request.
const blockInMemory = (points: number) => ({ inMemoryBlockOnConsumed: points + 1 });

function postgresStore(options: CounterStoreOptions): CounterStore {
  // Expired rows are deleted by the library every five minutes; one limiter doing it is enough.
  let cleaner = true;
  return sharedStore(
    'postgres',
    (o) => {
      const limiter = new RateLimiterPostgres({
        ...o,
        ...blockInMemory(o.points),
        storeClient: options.pool,
        storeType: 'pool',
        tableName: RATE_LIMIT_TABLE,
        tableCreated: true,
        clearExpiredByTimeout: cleaner,
      });
      cleaner = false;
      return limiter;
    },
    options,
    { ready: async () => {}, close: async () => {} },
  );
}

function redisStore(options: CounterStoreOptions): CounterStore {
  const url = options.config.redisUrl;
  if (url === undefined) throw new Error('LATCHKEY_RATE_LIMIT_STORE is redis, but REDIS_URL is not set');
  // Commands fail at once while disconnected instead of queueing (the library's advice), so
  // a Redis outage turns into in-memory counting, not requests waiting for a reconnect.
  // Loaded only in redis mode: most deployments never need the client resident.
  const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const client = new Redis(url, {
    // RESP2, as with the ioredis 5 the library is tested against: it works with every Redis
    // the library supports (RESP3's HELLO needs Redis 6+), and counters need nothing newer.
    protocol: 2,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  // Reconnect attempts fail noisily and repeatedly; the store health logs the outage once.
  client.on('error', (err) => options.logger.debug({ err: err.message }, 'redis connection error'));
  return sharedStore(
    'redis',
    (o) =>
      new RateLimiterRedis({
        ...o,
        ...blockInMemory(o.points),
        storeClient: client,
        rejectIfRedisNotReady: true,
      }),
    options,
    {
      ready: async (health) => {
        if (client.status === 'ready') return;
        try {
          await withTimeout(once(client, 'ready'), REDIS_READY_TIMEOUT_MS);
        } catch (err) {
          health.failed(err);
        }
      },
      close: async () => {
        client.disconnect();
      },
    },
  );
}
