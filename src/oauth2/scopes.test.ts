import { describe, expect, it } from 'vitest';
import { describeScope, narrowScope, negotiateScope, scopeCovers, unionScope } from './scopes.ts';

const granted = (r: ReturnType<typeof negotiateScope>) => (r.ok ? r.scope : `! ${r.error.code}`);

describe('negotiateScope', () => {
  it.each([
    // [requested, ceiling, result]
    [undefined, '', 'latchkey:all'],
    ['user:read', '', 'user:read'],
    [undefined, 'user:read api_key:read', 'user:read api_key:read'],
    ['api_key:read', 'user:read api_key:read', 'api_key:read'],
    ['user:read user:read', 'user:read', 'user:read'],
    ['offline_access', 'user:read', 'user:read offline_access'],
    ['user:read offline_access', 'user:read', 'user:read offline_access'],
    ['workspace:read template:use', 'latchkey:application_connect', 'workspace:read template:use'],
    ['latchkey:application_connect', 'latchkey:all', 'latchkey:application_connect'],
    ['user:update', 'user:read', '! invalid_scope'],
    ['workspace:update', 'latchkey:application_connect', '! invalid_scope'],
    ['latchkey:application_connect', 'workspace:read workspace:use', '! invalid_scope'],
    ['latchkey:all', 'user:read', '! invalid_scope'],
    ['openid', '', '! invalid_scope'],
    ['workspace:*', '', '! invalid_scope'],
    ['User:Read', '', '! invalid_scope'],
    [undefined, 'offline_access', '! invalid_scope'],
  ])('%s within "%s" → %s', (requested, ceiling, result) => {
    expect(granted(negotiateScope(requested, ceiling))).toBe(result);
  });
});

describe('narrowScope', () => {
  it.each([
    ['user:read api_key:read', undefined, 'user:read api_key:read'],
    ['user:read api_key:read', 'user:read', 'user:read'],
    ['user:read offline_access', 'offline_access', 'user:read offline_access'],
    ['latchkey:all', 'user:update', 'user:update'],
    ['latchkey:application_connect', 'workspace:use', 'workspace:use'],
    ['user:read', 'user:read user:update', '! invalid_scope'],
    ['user:read', 'latchkey:all', '! invalid_scope'],
  ])('%s narrowed to %s → %s', (grant, requested, result) => {
    expect(granted(narrowScope(grant, requested))).toBe(result);
  });
});

describe('consent bookkeeping', () => {
  it('covers by authority and unions names', () => {
    expect(scopeCovers('latchkey:application_connect', 'workspace:read')).toBe(true);
    expect(scopeCovers('workspace:read', 'latchkey:application_connect')).toBe(false);
    expect(scopeCovers('latchkey:all offline_access', 'user:update')).toBe(true);
    expect(unionScope('user:read', 'api_key:read user:read')).toBe('user:read api_key:read');
    expect(unionScope('user:read', 'latchkey:all')).toBe('latchkey:all');
  });

  it('describes an unrestricted grant as full access', () => {
    expect(describeScope('latchkey:all user:read offline_access').map((s) => s.name)).toEqual([
      'latchkey:all',
      'offline_access',
    ]);
    expect(describeScope('latchkey:all')[0]?.description).toMatch(/^Full access/);
  });
});
