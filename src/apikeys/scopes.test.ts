import { describe, expect, it } from 'vitest';
import { Subject } from '../authz/index.ts';
import { parseScopes, publicScopes } from './scopes.ts';

describe('parseScopes', () => {
  it('treats no scopes and latchkey:all as no limit', () => {
    expect(parseScopes([])).toEqual({ ok: true, scopes: ['latchkey:all'], permissions: undefined });
    expect(parseScopes(['workspace:read', 'LATCHKEY:ALL'])).toEqual({
      ok: true,
      scopes: ['latchkey:all'],
      permissions: undefined,
    });
  });

  it('narrows to resource:action scopes, deduplicated', () => {
    const r = parseScopes(['User:Read', 'user:read', 'api_key:*']);
    expect(r.ok && r.scopes).toEqual(['user:read', 'api_key:*']);
    if (!r.ok) throw new Error(r.error);
    const s = new Subject({ id: 'u', kind: 'user', roles: [], scopes: r.permissions });
    expect(s.decision('user', 'read').scoped).toBe(true);
    expect(s.decision('user', 'update').scoped).toBe(false);
    expect(s.decision('api_key', 'delete').scoped).toBe(true);
  });

  it('refuses unknown scopes, naming them', () => {
    expect(parseScopes(['spaceship:fly'])).toEqual({ ok: false, error: 'unknown scope "spaceship:fly"' });
    expect(parseScopes(['user:fly'])).toMatchObject({
      ok: false,
      error: expect.stringContaining('no action "fly"'),
    });
    expect(parseScopes(['latchkey:root'])).toMatchObject({ ok: false });
  });

  it('lists the canonical scopes first, then every resource:action', () => {
    const names = publicScopes().map((s) => s.name);
    expect(names.slice(0, 2)).toEqual(['latchkey:all', 'latchkey:application_connect']);
    expect(names).toContain('workspace:use');
    expect(names.every((n) => parseScopes([n]).ok)).toBe(true);
  });
});
