import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';

/** What one consumed request learned about its bucket. */
export interface Verdict {
  readonly allowed: boolean;
  /** Requests the bucket allows per window. */
  readonly limit: number;
  readonly remaining: number;
  /** Until the window ends and the bucket is full again. */
  readonly msBeforeReset: number;
}

/** A counter of requests per key. `consume` answers a verdict; it never rejects. */
export interface Limiter {
  consume(key: string): Promise<Verdict>;
}

/**
 * rate-limiter-flexible resolves an allowed request and rejects a refused one with the same
 * result type (and rejects with an Error when its store fails); this turns the first two
 * into one value and lets store errors through.
 */
export async function verdictOf(limiter: RateLimiterAbstract, key: string): Promise<Verdict> {
  try {
    return toVerdict(true, await limiter.consume(key), limiter.points);
  } catch (err) {
    if (err instanceof RateLimiterRes) return toVerdict(false, err, limiter.points);
    throw err;
  }
}

function toVerdict(allowed: boolean, res: RateLimiterRes, limit: number): Verdict {
  return {
    allowed,
    limit,
    remaining: Math.max(0, res.remainingPoints),
    msBeforeReset: Math.max(0, res.msBeforeNext),
  };
}

/** Rejects when `promise` has not settled within `ms`; its later outcome is ignored. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms}ms`)), ms);
  });
  promise.catch(() => {}); // a late failure after the timeout is not unhandled
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
