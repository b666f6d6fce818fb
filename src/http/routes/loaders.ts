import type { FastifyRequest } from 'fastify';
import { type AuthzStore, objects, SharedCache, systemActors } from '../../authz/index.ts';
import type { Organization, Store, User } from '../../db/index.ts';
import { findOrganization, findUser, IdentityError, isUuid } from '../../identity/index.ts';
import { storeFor } from '../auth/actor.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's authorized store, made once per request. */
    store: Store | undefined;
    /** The user named by the route's {user}, loaded once by loadUser. */
    targetUser: User | undefined;
    /** The organization named by the route's {org}, loaded once by loadOrganization. */
    organization: Organization | undefined;
  }
}

export function decorateLoaders(app: import('fastify').FastifyInstance): void {
  app.decorateRequest('store', undefined);
  app.decorateRequest('targetUser', undefined);
  app.decorateRequest('organization', undefined);
}

/** The caller's store (requires auth to have run). */
export function store(request: FastifyRequest, authz: AuthzStore): Store {
  request.store ??= storeFor(request, authz);
  return request.store;
}

export function loadUser(authz: AuthzStore) {
  return async (request: FastifyRequest<{ Params: { user: string } }>) => {
    const self = request.auth?.user;
    // `me` is the row authentication already holds: authorized in memory, no query.
    if (request.params.user === 'me' && self && request.actor) {
      const allowed = request.actor.can('read', objects.user(self));
      request.authzChecks?.push({ action: 'read', object: objects.user(self), allowed });
      if (!allowed) throw new IdentityError('not_found', 'No user "me".');
      request.targetUser = self;
      return;
    }
    request.targetUser = await findUser(store(request, authz), request.params.user, request.actor as never);
  };
}

/**
 * Organizations are looked up by id or name on most routes, so they come from a cache
 * shared by every caller (filled by systemDirectory, checked per caller on every read).
 */
export function organizationDirectory(authz: AuthzStore): SharedCache<Organization> {
  const directory = authz.as(systemActors.systemDirectory);
  return new SharedCache<Organization>({
    // Only "no such organization" is a miss; a database failure must stay a 500, not a 404.
    load: (ref) =>
      findOrganization(directory, ref).catch((err) => {
        if (err instanceof IdentityError && err.kind === 'not_found') return undefined;
        throw err;
      }),
    toObject: objects.organization,
    ttlMs: 30_000,
  });
}

export function loadOrganization(directory: SharedCache<Organization>) {
  return async (request: FastifyRequest<{ Params: { org: string } }>) => {
    const org = request.actor ? await directory.get(request.actor, request.params.org) : undefined;
    if (!org) throw new IdentityError('not_found', `No organization "${request.params.org}".`);
    request.organization = org;
  };
}

/** A loaded value, for handlers whose preHandler set it. */
export function loaded<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('route misconfigured: loader did not run');
  return value;
}

/**
 * The user id a member route names: `me`, a uuid, or a username. Organization admins may
 * not read users site-wide, so a uuid is taken as is and the membership check decides.
 */
export async function memberUserId(
  request: FastifyRequest<{ Params: { user: string } }>,
  authz: AuthzStore,
): Promise<string> {
  const ref = request.params.user;
  if (ref === 'me') return (request.actor as { id: string }).id;
  if (isUuid(ref)) return ref;
  return (await findUser(store(request, authz), ref, request.actor as never)).id;
}
