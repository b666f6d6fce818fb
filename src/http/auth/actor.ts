import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { ApiKeyValidationError } from '../../apikeys/index.ts';
import {
  type AuthzObject,
  type AuthzStore,
  SITE_ROLES,
  type Subject,
  type SubjectCache,
} from '../../authz/index.ts';
import type { Store } from '../../db/index.ts';
import { ApiError } from '../api-error.ts';
import { type PresentedToken, presentedToken } from './token-source.ts';
import type { AuthOutcome } from './types.ts';

export interface AuthContext {
  /** Resolved subjects by user, invalidated across replicas when roles change. */
  readonly subjects: SubjectCache;
  readonly authz: AuthzStore;
  /** The production path: validate an API key or session token. */
  readonly validateKey: (presented: PresentedToken) => Promise<AuthOutcome | ApiKeyValidationError>;
  readonly allowAccessTokenQuery: boolean;
  /** RFC 9728 metadata URL that 401 challenges point clients to (OA-1). */
  readonly resourceMetadataUrl?: string | undefined;
}

/**
 * Decides who a request is. The default validates the token of AK-3; tests may supply
 * their own (which can fall back to the default through `context`).
 */
export type Authenticator = (
  request: FastifyRequest,
  context: AuthContext,
) => Promise<AuthOutcome | ApiKeyValidationError | undefined>;

export const defaultAuthenticator: Authenticator = async (request, context) => {
  const presented = presentedToken(request, context.allowAccessTokenQuery);
  return presented ? context.validateKey(presented) : undefined;
};

export interface RecordedCheck {
  readonly action: string;
  readonly object: AuthzObject;
  readonly allowed: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; undefined when anonymous or refused. */
    actor: Subject | undefined;
    /** How the caller authenticated (key id, token source). */
    auth: AuthOutcome | undefined;
    /** Why a presented credential was refused; consumed by requireAuth/optionalAuth. */
    authError: ApiKeyValidationError | undefined;
    /** Authorization checks made by this request, when the debug header asked for them. */
    authzChecks: RecordedCheck[] | undefined;
    /** The protected-resource metadata URL (RFC 9728) for this server's challenges; '' if none. */
    resourceMetadataUrl: string;
  }
}

export const AUTHZ_DEBUG_HEADER = 'latchkey-authz-checks';

/**
 * The precheck (AK-5): validates the credential once per request at the root and puts
 * the result on the request. It never rejects: routes decide with requireAuth or
 * optionalAuth, and rate limiting reads the same result.
 */
export function registerActor(
  app: FastifyInstance,
  authenticate: Authenticator | undefined,
  context: AuthContext,
): void {
  app.decorateRequest('actor', undefined);
  app.decorateRequest('auth', undefined);
  app.decorateRequest('authError', undefined);
  app.decorateRequest('authzChecks', undefined);
  app.decorateRequest('resourceMetadataUrl', context.resourceMetadataUrl ?? '');
  const run = authenticate ?? defaultAuthenticator;
  app.addHook('onRequest', async (request) => {
    const outcome = await run(request, context);
    if (outcome instanceof ApiKeyValidationError) {
      request.authError = outcome;
      if (outcome.hard) request.log.error({ err: outcome.cause ?? outcome }, 'credential check failed');
      return;
    }
    if (!outcome) return;
    request.auth = outcome;
    request.actor = outcome.subject;
    // Listing every check allocates on the hot path, so it is opt-in and for owners only.
    if (request.headers[AUTHZ_DEBUG_HEADER] === 'true' && hasOwnerPrivileges(outcome.subject)) {
      request.authzChecks = [];
    }
  });
  app.addHook('onSend', (request, reply, payload, done) => {
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
    done(null, payload);
  });
}

/**
 * Who made the request, for log lines (AK-9): user and key id, never the secret. Added
 * to the lines that need it rather than through a child logger per request, which cost
 * more than the whole authorization check.
 */
export function whoFields(request: FastifyRequest): { user_id?: string; api_key_id?: string } {
  const auth = request.auth;
  if (!auth) return {};
  return auth.apiKeyId === undefined
    ? { user_id: auth.userId }
    : { user_id: auth.userId, api_key_id: auth.apiKeyId };
}

function isOwner(subject: Subject): boolean {
  return subject.roles.some((r) => r.id.organizationId === undefined && r.id.name === SITE_ROLES[0]);
}

/**
 * Whether the caller may use the owner's privileges that are not permissions on a
 * resource: the rate-limit bypass (AK-10) and the authz debug header (RB-5). A key's
 * scopes and allow-list narrow permissions (role ∩ scope ∩ allow-list, AK-8), but these
 * privileges are no permission they could be intersected with. So they go only with a
 * credential that narrows nothing (scopes `latchkey:all`, allow-list `*:*`): an owner's
 * key limited to `user:read` must not be able to do more than read users.
 */
export function hasOwnerPrivileges(subject: Subject): boolean {
  return subject.scopes === undefined && subject.allowList === undefined && isOwner(subject);
}

const quote = (text: string) => text.replace(/["\\]/g, '');

/**
 * A refused credential as an API error, with the RFC 6750 challenge where one applies.
 * Each challenge names the protected-resource metadata (RFC 9728 §5.1), which is how MCP
 * and other OAuth clients find where to get a token.
 */
function refusal(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ApiKeyValidationError | undefined,
): ApiError {
  if (error?.hard) return new ApiError(500, 'Could not check the credentials; try again.');
  const metadata = request.resourceMetadataUrl ? `, resource_metadata="${request.resourceMetadataUrl}"` : '';
  if (!error || error.code === 'missing') {
    // No credentials at all: a bare challenge, no error code (RFC 6750 §3.1).
    reply.header('www-authenticate', `Bearer realm="latchkey"${metadata}`);
    return new ApiError(
      401,
      'You must be signed in.',
      'Send a session cookie or an Authorization: Bearer token.',
    );
  }
  if (error.status === 401) {
    reply.header(
      'www-authenticate',
      `Bearer realm="latchkey", error="invalid_token", error_description="${quote(error.message)}"${metadata}`,
    );
  }
  return new ApiError(error.status, error.message);
}

// The two preHandlers are synchronous (callback style): an async hook costs every request
// a promise and a turn of the microtask queue.

/** preHandler for routes that need a caller. */
export function requireAuth(
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  done(request.actor ? undefined : refusal(request, reply, request.authError));
}

/**
 * preHandler for routes that work anonymously too: a refused credential is ignored, but
 * a failure of Latchkey itself is not (answering as if anonymous would hide an outage
 * and could log a browser out).
 */
export function optionalAuth(
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  done(request.authError?.hard ? refusal(request, reply, request.authError) : undefined);
}

/** The store as the caller, recording checks when asked. Only call after requireAuth. */
export function storeFor(request: FastifyRequest, authz: AuthzStore): Store {
  const actor = request.actor;
  if (!actor) throw new ApiError(401, 'You must be signed in.');
  const checks = request.authzChecks;
  return checks ? authz.as(actor, (c) => checks.push(c)) : authz.as(actor);
}
