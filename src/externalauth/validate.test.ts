import { describe, expect, it } from 'vitest';
import { classifyValidation } from './validate.ts';

const h = (headers: Record<string, string> = {}) => new Headers(headers);

describe('classifyValidation (EA-8)', () => {
  it.each([
    [200, {}, 'valid'],
    [401, {}, 'invalid'],
    [401, { 'x-ratelimit-remaining': '0', 'retry-after': '30' }, 'invalid'],
    [403, { 'x-ratelimit-remaining': '0' }, 'valid'],
    [403, { 'retry-after': '30' }, 'valid'],
    [403, { 'x-ratelimit-remaining': '12' }, 'invalid'],
    [403, {}, 'invalid'],
    [429, {}, 'valid'],
    [500, {}, 'error'],
    [503, { 'retry-after': '5' }, 'error'],
    [404, {}, 'invalid'],
  ] as const)('%i %o → %s', (status, headers, state) => {
    expect(classifyValidation(status, h(headers)).state).toBe(state);
  });

  it('marks rate limiting, which is valid but worth a warning', () => {
    expect(classifyValidation(429, h())).toEqual({ state: 'valid', rateLimited: true });
    expect(classifyValidation(200, h())).toEqual({ state: 'valid', rateLimited: false });
  });
});
