import { Counter, Gauge, type Registry } from 'prom-client';
import type { InFlightGate } from './in-flight.ts';

export const LIMIT_KINDS = ['route', 'client', 'token', 'concurrency'] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];

/** Rate-limit metrics, on the server's own registry. */
export class RateLimitMetrics {
  readonly refused: Counter<'limit'>;
  readonly fallback: Gauge;
  readonly inFlight: Gauge<'group'>;

  constructor(registry: Registry, gates: ReadonlyMap<string, InFlightGate>) {
    this.refused = new Counter({
      name: 'latchkey_ratelimit_refused_total',
      help: 'Requests refused by a limit: route, client or token (429), concurrency (503).',
      labelNames: ['limit'] as const,
      registers: [registry],
    });
    for (const limit of LIMIT_KINDS) this.refused.inc({ limit }, 0);
    this.fallback = new Gauge({
      name: 'latchkey_ratelimit_store_fallback',
      help: '1 while the shared rate-limit store is unreachable and this replica counts in memory.',
      registers: [registry],
    });
    this.fallback.set(0);
    const inFlight: Gauge<'group'> = new Gauge({
      name: 'latchkey_ratelimit_in_flight',
      help: 'Requests of a concurrency-limited route group running on this replica.',
      labelNames: ['group'] as const,
      registers: [registry],
      collect: () => {
        for (const [group, gate] of gates) inFlight.set({ group }, gate.inFlight);
      },
    });
    this.inFlight = inFlight;
  }
}
