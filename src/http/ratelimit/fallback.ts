import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../../observability/index.ts';
import { type Limiter, verdictOf, withTimeout } from './limiter.ts';

/** How long a request waits for the shared store before counting in memory instead. */
export const STORE_TIMEOUT_MS = 1000;

/** Delay before the n-th check (1-based) of a store that failed: 250ms doubling to 5s. */
export const probeDelay = (attempt: number): number => Math.min(250 * 2 ** (attempt - 1), 5000);

export interface StoreHealthOptions {
  /** For log lines: `postgres` or `redis`. */
  readonly store: string;
  /** Resolves when the store answers. */
  readonly probe: () => Promise<unknown>;
  readonly logger: Logger;
  /** Told when the replica starts (true) and stops (false) counting in memory. */
  readonly onChange?: (degraded: boolean) => void;
  readonly timeoutMs?: number;
  readonly delay?: (attempt: number) => number;
}

/**
 * A circuit breaker for the shared counter store. The first failure opens it: requests then
 * count in memory at once, without waiting on a store that is down, while a timer checks the
 * store with backoff; the first check that succeeds closes it again. Each change is logged
 * once, so an outage is one warning and one recovery line, not one line per request.
 */
export class StoreHealth {
  readonly #options: StoreHealthOptions;
  #degraded = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: StoreHealthOptions) {
    this.#options = options;
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs ?? STORE_TIMEOUT_MS;
  }

  /** Reports a failed store call. */
  failed(err: unknown): void {
    if (this.#degraded || this.#closed) return;
    this.#degraded = true;
    this.#options.logger.warn(
      { err: err instanceof Error ? err.message : String(err), store: this.#options.store },
      'rate-limit store unreachable; counting in memory on this replica until it is back',
    );
    this.#options.onChange?.(true);
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    this.#attempt++;
    this.#timer = setTimeout(() => void this.#check(), (this.#options.delay ?? probeDelay)(this.#attempt));
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    try {
      await withTimeout(this.#options.probe(), this.timeoutMs);
    } catch {
      if (!this.#closed) this.#schedule();
      return;
    }
    if (this.#closed) return;
    this.#degraded = false;
    this.#options.logger.info(
      { store: this.#options.store, checks: this.#attempt },
      'rate-limit store reachable again; counters are shared again',
    );
    this.#attempt = 0;
    this.#options.onChange?.(false);
  }
}

/**
 * A store limiter that falls back to `memory` (same points and window) while `health` says
 * the store is down, or when a call fails or times out. During an outage each replica then
 * enforces the limit on its own: never unlimited, never a 500.
 */
export function withFallback(
  store: RateLimiterAbstract,
  memory: RateLimiterAbstract,
  health: StoreHealth,
): Limiter {
  return {
    async consume(key) {
      if (!health.degraded) {
        try {
          return await withTimeout(verdictOf(store, key), health.timeoutMs);
        } catch (err) {
          health.failed(err);
        }
      }
      return verdictOf(memory, key);
    },
  };
}
