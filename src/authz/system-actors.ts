import { allow, type Permission } from './permission.ts';
import { siteRole } from './role-id.ts';
import type { Role } from './roles.ts';
import { Subject } from './subject.ts';

// Background jobs act as system actors. Each is named for its job and holds only what
// that job needs: there is deliberately no all-powerful system actor. Request handlers
// never get one (they get store.as(theCaller)); only the modules running the job import
// it. system-actors.test.ts lists every permission, so a widening shows up in review.

function actor(job: string, permissions: Permission[]): Subject {
  const role: Role = {
    id: siteRole(`system-${job}`),
    displayName: job,
    site: permissions,
    org: [],
    user: [],
    builtIn: true,
  };
  return new Subject({ id: `system:${job}`, kind: 'system', roles: [role] });
}

export const systemActors = {
  /**
   * First-run setup: creates users and their default memberships. It holds no role, so by
   * the no-escalation rule it cannot grant one (the first owner comes from the CLI operator).
   */
  systemBootstrap: actor('bootstrap', [
    ...allow('user', 'create', 'read'),
    ...allow('organization', 'read'),
    ...allow('organization_member', 'create', 'read'),
    ...allow('assign_role', 'assign'),
    ...allow('assign_org_role', 'assign'),
  ]),
  /** Resolves who a request is: reads a user's roles and the custom roles they name. */
  systemAuthn: actor('authn', [
    ...allow('user', 'read'),
    ...allow('organization_member', 'read'),
    ...allow('role', 'read'),
    ...allow('api_key', 'read', 'update'),
    // AK-6: an OIDC session is valid only with a valid link (refreshing it is the refresher's job).
    ...allow('oidc_link', 'read'),
  ]),
  /** Fills caches shared by many callers (organization lookups); each read is then authorized per caller. */
  systemDirectory: actor('directory', [...allow('organization', 'read')]),
  /** Signs people in and out: mints and deletes their session keys. */
  systemSessions: actor('sessions', [
    ...allow('api_key', 'create', 'read', 'delete'),
    // OIDC sign-in: finds the user by their link, records the link's tokens and claims.
    ...allow('oidc_link', 'create', 'read', 'update'),
  ]),
  /** The OAuth2 authorization server: apps, their secrets, codes and tokens. */
  systemOAuth2: actor('oauth2', [
    ...allow('user', 'read'),
    ...allow('oauth2_app', 'read'),
    ...allow('oauth2_app_secret', 'read', 'update'),
    ...allow('oauth2_app_code_token', 'create', 'read', 'delete'),
    ...allow('api_key', 'create', 'read', 'delete'),
    // JWT access tokens (RFC 9068): reads the signing keys and adds the next generation.
    ...allow('oauth2_signing_key', 'create', 'read'),
  ]),
  /**
   * Registers OAuth2 clients on their own say-so: dynamic registration and its management
   * (RFC 7591/7592, each call proven by the client's registration access token) and client
   * ID metadata documents (mirrored into oauth2_apps when fetched). Apps and their secrets
   * only: it issues no tokens and reads no user.
   */
  systemClientRegistration: actor('client-registration', [
    ...allow('oauth2_app', 'create', 'read', 'update', 'delete'),
    ...allow('oauth2_app_secret', 'create', 'read', 'delete'),
  ]),
  /** Refreshes upstream tokens: of external-auth links, and of OIDC login links (AK-6). */
  systemExternalAuthRefresher: actor('external-auth-refresher', [
    ...allow('user', 'read'),
    ...allow('external_auth_provider', 'read'),
    ...allow('external_auth_link', 'read', 'update'),
    ...allow('oidc_link', 'read', 'update'),
  ]),
  /** Deletes what has expired: keys, codes and tokens. */
  systemPurge: actor('purge', [
    ...allow('api_key', 'read', 'delete'),
    ...allow('oauth2_app_code_token', 'read', 'delete'),
    // Signing keys retired long enough that no token they signed is still valid.
    ...allow('oauth2_signing_key', 'delete'),
  ]),
  /** Encrypts, re-encrypts and decrypts secret columns (dbcrypt). */
  systemDbcrypt: actor('dbcrypt', [
    ...allow('user', 'read'),
    ...allow('external_auth_link', 'read', 'update'),
    // OIDC login links hold upstream tokens too (src/dbcrypt/columns.ts).
    ...allow('oidc_link', 'read', 'update'),
    ...allow('dbcrypt_key', 'create', 'read', 'update', 'delete'),
  ]),
} as const;

export type SystemActorName = keyof typeof systemActors;
