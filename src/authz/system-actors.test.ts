import { expect, it } from 'vitest';
import { systemActors } from './system-actors.ts';

// A widening of any system actor changes this list and so shows up in review.
it('each system actor holds exactly these permissions', () => {
  const listed = Object.fromEntries(
    Object.entries(systemActors).map(([name, actor]) => [
      name,
      actor.roles
        .flatMap((r) => [...r.site, ...r.org, ...r.user])
        .map((p) => `${p.negate ? '!' : ''}${p.resourceType}:${p.action}`),
    ]),
  );
  expect(listed).toEqual({
    systemBootstrap: [
      'user:create',
      'user:read',
      'organization:read',
      'organization_member:create',
      'organization_member:read',
      'assign_role:assign',
      'assign_org_role:assign',
    ],
    systemAuthn: [
      'user:read',
      'organization_member:read',
      'role:read',
      'api_key:read',
      'api_key:update',
      'oidc_link:read',
    ],
    systemDirectory: ['organization:read'],
    systemSessions: [
      'api_key:create',
      'api_key:read',
      'api_key:delete',
      'oidc_link:create',
      'oidc_link:read',
      'oidc_link:update',
    ],
    systemOAuth2: [
      'user:read',
      'oauth2_app:read',
      'oauth2_app_secret:read',
      'oauth2_app_secret:update',
      'oauth2_app_code_token:create',
      'oauth2_app_code_token:read',
      'oauth2_app_code_token:delete',
      'api_key:create',
      'api_key:read',
      'api_key:delete',
      'oauth2_signing_key:create',
      'oauth2_signing_key:read',
    ],
    systemClientRegistration: [
      'oauth2_app:create',
      'oauth2_app:read',
      'oauth2_app:update',
      'oauth2_app:delete',
      'oauth2_app_secret:create',
      'oauth2_app_secret:read',
      'oauth2_app_secret:delete',
    ],
    systemExternalAuthRefresher: [
      'user:read',
      'external_auth_provider:read',
      'external_auth_link:read',
      'external_auth_link:update',
      'oidc_link:read',
      'oidc_link:update',
    ],
    systemPurge: [
      'api_key:read',
      'api_key:delete',
      'oauth2_app_code_token:read',
      'oauth2_app_code_token:delete',
      'oauth2_signing_key:delete',
    ],
    systemDbcrypt: [
      'user:read',
      'external_auth_link:read',
      'external_auth_link:update',
      'oidc_link:read',
      'oidc_link:update',
      'dbcrypt_key:create',
      'dbcrypt_key:read',
      'dbcrypt_key:update',
      'dbcrypt_key:delete',
    ],
  });
  for (const actor of Object.values(systemActors)) {
    expect(actor.roles.every((r) => r.site.every((p) => p.resourceType !== '*' && p.action !== '*'))).toBe(
      true,
    );
  }
});
