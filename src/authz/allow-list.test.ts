import { describe, expect, it } from 'vitest';
import { formatAllowList, parseAllowList } from './allow-list.ts';
import { formatRoleId, parseRoleId } from './role-id.ts';

describe('parseAllowList', () => {
  it('normalises, deduplicates and lets wildcards absorb', () => {
    const r = parseAllowList(['Workspace:abc', 'workspace:abc', 'workspace:*', 'api_key:k1']);
    expect(r.ok && formatAllowList(r.entries)).toEqual(['workspace:*', 'api_key:k1']);
    const all = parseAllowList(['api_key:k1', '*:*']);
    expect(all.ok && formatAllowList(all.entries)).toEqual(['*:*']);
  });

  it('refuses unknown types, malformed entries and long lists', () => {
    expect(parseAllowList(['spaceship:1'])).toMatchObject({
      ok: false,
      error: expect.stringContaining('unknown resource type'),
    });
    expect(parseAllowList(['workspace'])).toMatchObject({
      ok: false,
      error: expect.stringContaining('type:id'),
    });
    expect(parseAllowList(Array.from({ length: 129 }, (_, i) => `workspace:${i}`))).toMatchObject({
      ok: false,
    });
  });
});

describe('role identifiers', () => {
  it('round-trip site and organization roles and refuse malformed ones', () => {
    const org = '00000000-0000-4000-8000-00000000000a';
    expect(parseRoleId('owner')).toEqual({ name: 'owner', organizationId: undefined });
    expect(formatRoleId(parseRoleId(`organization-admin:${org}`) as never)).toBe(`organization-admin:${org}`);
    expect(parseRoleId('owner:not-a-uuid')).toBeUndefined();
    expect(parseRoleId('Owner')).toBeUndefined();
    expect(parseRoleId('a:b:c')).toBeUndefined();
  });
});
