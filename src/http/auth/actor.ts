import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type AuthzObject,
  type AuthzStore,
  SITE_ROLES,
  type Subject,
  type SubjectCache,
} from '../../authz/index.ts';
import type { Store } from '../../db/index.ts';
import { ApiError } from '../api-error.ts';

/**
 * Resolves who is calling, or undefined for an anonymous request. The API-key issue
 * supplies the real one (sessions, keys, OAuth tokens); until then production has none,
 * so every protected route answers 401, and tests inject their own.
 */
export type Authenticator = (request: FastifyRequest, context: AuthContext) => Promise<Subject | undefined>;

export interface AuthContext {
  /** Resolved subjects by user, invalidated across replicas when roles change. */
  readonly subjects: SubjectCache;
  readonly authz: AuthzStore;
}

export interface RecordedCheck {
  readonly action: string;
  readonly object: AuthzObject;
  readonly allowed: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by the root hook, undefined when anonymous. */
    actor: Subject | undefined;
    /** Authorization checks made by this request, when the debug header asked for them. */
    authzChecks: RecordedCheck[] | undefined;
  }
}

export const AUTHZ_DEBUG_HEADER = 'latchkey-authz-checks';

/** Authenticates once per request at the root; never rejects by itself. */
export function registerActor(
  app: FastifyInstance,
  authenticate: Authenticator | undefined,
  context: AuthContext,
): void {
  app.decorateRequest('actor', undefined);
  app.decorateRequest('authzChecks', undefined);
  app.addHook('onRequest', async (request) => {
    request.actor = authenticate ? await authenticate(request, context) : undefined;
    // Listing every check allocates on the hot path, so it is opt-in and for owners only.
    if (request.headers[AUTHZ_DEBUG_HEADER] === 'true' && request.actor && isOwner(request.actor)) {
      request.authzChecks = [];
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.authzChecks) {
      const list = request.authzChecks.map((c) => ({
        action: c.action,
        type: c.object.type,
        ...(c.object.id === undefined ? {} : { id: c.object.id }),
        ...(c.object.orgId === undefined ? {} : { org: c.object.orgId }),
        allowed: c.allowed,
      }));
      reply.header(AUTHZ_DEBUG_HEADER, JSON.stringify(list));
    }
    return payload;
  });
}

function isOwner(subject: Subject): boolean {
  return subject.roles.some((r) => r.id.organizationId === undefined && r.id.name === SITE_ROLES[0]);
}

/** preHandler for routes that need a caller: 401 with an RFC 6750 challenge otherwise. */
export async function requireAuth(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!request.actor) {
    reply.header('www-authenticate', 'Bearer realm="latchkey"');
    throw new ApiError(
      401,
      'You must be signed in.',
      'Send a session cookie or an Authorization: Bearer token.',
    );
  }
}

/** The store as the caller, recording checks when asked. Only call after requireAuth. */
export function storeFor(request: FastifyRequest, authz: AuthzStore): Store {
  const actor = request.actor;
  if (!actor) throw new ApiError(401, 'You must be signed in.');
  const checks = request.authzChecks;
  return checks ? authz.as(actor, (c) => checks.push(c)) : authz.as(actor);
}
