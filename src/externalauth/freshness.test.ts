import { describe, expect, it } from 'vitest';
import { isFresh, refreshLeadMs } from './freshness.ts';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);
const link = (issuedMs: number, expiresMs: number | null, accessToken = 'at') => ({
  oauth_access_token: accessToken,
  oauth_token_issued_at: at(issuedMs),
  oauth_expiry: expiresMs === null ? null : at(expiresMs),
});

describe('refresh lead', () => {
  it('is the configured lead for long-lived tokens', () => {
    expect(refreshLeadMs(link(0, 8 * 3_600_000), 120_000)).toBe(120_000);
  });

  it('is capped at half the lifetime, so short-lived tokens are not refreshed on every call', () => {
    // A 60-second token with a 2-minute lead: refreshed after 30 s, not immediately.
    expect(refreshLeadMs(link(0, 60_000), 120_000)).toBe(30_000);
    expect(isFresh(link(0, 60_000), at(1_000), 120_000)).toBe(true);
    expect(isFresh(link(0, 60_000), at(31_000), 120_000)).toBe(false);
  });

  it('tokens without expiry are always fresh; empty ones never', () => {
    expect(isFresh(link(0, null), at(10 ** 12), 120_000)).toBe(true);
    expect(isFresh(link(0, null, ''), at(0), 120_000)).toBe(false);
  });

  it('a token inside its lead is due even though it still works', () => {
    expect(isFresh(link(0, 3_600_000), at(3_600_000 - 60_000), 120_000)).toBe(false);
  });
});
