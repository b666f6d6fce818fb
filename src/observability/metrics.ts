import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

// One registry per server instance rather than prom-client's global one, so tests and
// benchmarks can run several servers in one process without metrics colliding.
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'latchkey_http_requests_total',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'latchkey_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly dbQueries = new Counter({
    name: 'latchkey_db_queries_total',
    help: 'SQL statements sent to PostgreSQL (round trips); always on, it is one increment.',
    registers: [this.registry],
  });

  readonly externalAuthRefreshes = new Counter({
    name: 'latchkey_external_auth_refreshes_total',
    help: 'Upstream token refreshes by provider and outcome (refreshed, permanent, transient, error, joined).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly dbQueryDuration = new Histogram({
    name: 'latchkey_db_query_duration_seconds',
    help: 'SQL statement latency (only with LATCHKEY_DB_QUERY_METRICS=true).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly txDuration = new Histogram({
    name: 'latchkey_db_tx_duration_seconds',
    help: 'Transaction latency including retries, by transaction name and outcome.',
    labelNames: ['name', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly txRetries = new Counter({
    name: 'latchkey_db_tx_retries_total',
    help: 'Transactions retried, by transaction name and SQLSTATE cause.',
    labelNames: ['name', 'cause'] as const,
    registers: [this.registry],
  });

  readonly txFailures = new Counter({
    name: 'latchkey_db_tx_failures_total',
    help: 'Transactions that finally failed, by transaction name and cause.',
    labelNames: ['name', 'cause'] as const,
    registers: [this.registry],
  });

  #poolStats: (() => PoolStats) | undefined;

  readonly dbPool = new Gauge({
    name: 'latchkey_db_pool_connections',
    help: 'PostgreSQL pool connections by state (total, idle, waiting clients).',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: () => {
      const stats = this.#poolStats?.();
      if (!stats) return;
      this.dbPool.set({ state: 'total' }, stats.total);
      this.dbPool.set({ state: 'idle' }, stats.idle);
      this.dbPool.set({ state: 'waiting' }, stats.waiting);
    },
  });

  /** The pool reports its counts here; they are read on each scrape, not polled. */
  watchPool(stats: () => PoolStats): void {
    this.#poolStats = stats;
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'latchkey_' });
    }
  }
}
