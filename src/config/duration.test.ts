import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['0', 0],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '30', 's', '1x', '1m 30s', '-1s', 'ten seconds'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats back to the shortest unit', () => {
    expect([0, 500, 2000, 120_000, 7_200_000].map(formatDuration)).toEqual(['0', '500ms', '2s', '2m', '2h']);
  });
});
