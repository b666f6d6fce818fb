import { type RateLimiterAbstract, RateLimiterMemory } from 'rate-limiter-flexible';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Logger } from '../../observability/index.ts';
import { StoreHealth, withFallback } from './fallback.ts';

// The circuit breaker around a shared store, with a fake store and fake timers.

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A store whose availability the test switches; it counts the calls it receives. */
function fakeStore(points: number) {
  const inner = new RateLimiterMemory({ points, duration: 60 });
  const state = { up: true, hang: false, calls: 0 };
  const store = {
    points,
    consume: (key: string) => {
      state.calls++;
      if (state.hang) return new Promise(() => {});
      return state.up ? inner.consume(key) : Promise.reject(new Error('connection refused'));
    },
  } as unknown as RateLimiterAbstract;
  const probe = () => (state.up ? Promise.resolve(null) : Promise.reject(new Error('connection refused')));
  return { store, probe, state };
}

function setup(points = 2) {
  const fake = fakeStore(points);
  const logger = { warn: vi.fn(), info: vi.fn() };
  const changes: boolean[] = [];
  const health = new StoreHealth({
    store: 'test',
    probe: fake.probe,
    logger: logger as unknown as Logger,
    onChange: (degraded) => changes.push(degraded),
    timeoutMs: 100,
    delay: () => 1000,
  });
  const limiter = withFallback(fake.store, new RateLimiterMemory({ points, duration: 60 }), health);
  return { ...fake, logger, changes, health, limiter };
}

it('counts in memory while the store fails, warns once, and stops calling the store', async () => {
  const t = setup();
  expect((await t.limiter.consume('k')).remaining).toBe(1);
  t.state.up = false;
  const during = [];
  for (let i = 0; i < 3; i++) during.push(await t.limiter.consume('k'));
  // In memory the bucket starts afresh, and the limit still holds.
  expect(during.map((v) => v.allowed)).toEqual([true, true, false]);
  expect(t.state.calls).toBe(2); // one success, one failure; then the breaker is open
  expect(t.logger.warn).toHaveBeenCalledTimes(1);
  expect(t.changes).toEqual([true]);
  t.health.close();
});

it('goes back to the store once a check succeeds, with one info line', async () => {
  const t = setup();
  t.state.up = false;
  await t.limiter.consume('k');
  expect(t.health.degraded).toBe(true);
  await vi.advanceTimersByTimeAsync(1000); // a check while still down: stays degraded
  expect(t.health.degraded).toBe(true);
  t.state.up = true;
  await vi.advanceTimersByTimeAsync(1000);
  expect(t.health.degraded).toBe(false);
  expect(t.logger.info).toHaveBeenCalledTimes(1);
  expect(t.changes).toEqual([true, false]);
  const calls = t.state.calls;
  await t.limiter.consume('k');
  expect(t.state.calls).toBe(calls + 1);
  t.health.close();
});

it('does not let a store that hangs hold requests longer than the timeout', async () => {
  const t = setup();
  t.state.hang = true;
  const pending = t.limiter.consume('k');
  await vi.advanceTimersByTimeAsync(100);
  expect(await pending).toMatchObject({ allowed: true, remaining: 1 });
  expect(t.health.degraded).toBe(true);
  t.health.close();
});

it('a refusal from the store is a verdict, not a failure', async () => {
  const t = setup(1);
  expect((await t.limiter.consume('k')).allowed).toBe(true);
  expect(await t.limiter.consume('k')).toMatchObject({ allowed: false, remaining: 0, limit: 1 });
  expect(t.health.degraded).toBe(false);
  expect(t.logger.warn).not.toHaveBeenCalled();
});
