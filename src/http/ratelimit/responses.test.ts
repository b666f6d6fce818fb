import { expect, it } from 'vitest';
import { retryAfterSeconds } from './responses.ts';

it('Retry-After rounds up, so a client that waits that long finds its bucket refilled', () => {
  expect(retryAfterSeconds(59_001)).toBe(60);
  expect(retryAfterSeconds(1_500)).toBe(2);
  expect(retryAfterSeconds(1_000)).toBe(1);
  expect(retryAfterSeconds(1)).toBe(1);
  // Never "retry after 0": the window may end between the answer and the retry.
  expect(retryAfterSeconds(0)).toBe(1);
});
