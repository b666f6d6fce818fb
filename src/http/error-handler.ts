import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ForbiddenError } from '../authz/index.ts';
import { RowNotFoundError } from '../db/index.ts';
import { DbcryptError } from '../dbcrypt/index.ts';
import {
  DeviceFlowError,
  type DeviceFlowErrorCode,
  LinkFlowError,
  VaultError,
  type VaultErrorCode,
} from '../externalauth/index.ts';
import { IdentityError, type IdentityErrorKind } from '../identity/index.ts';
import { OAuthError } from '../oauth2/index.ts';
import { ApiError, errorBody } from './api-error.ts';
import { whoFields } from './auth/actor.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `oauth`: every error of the route, fastify's own (413, bad JSON) and rate limits
     * included, is answered as RFC 6749 §5.2 JSON, which OAuth clients parse.
     */
    errorFormat?: 'oauth';
  }
}

const IDENTITY_STATUS: Record<IdentityErrorKind, number> = { invalid: 400, not_found: 404, conflict: 409 };

// Not linked and "link again" are about the user's upstream account, not the caller's
// credentials, so neither is a 401 (that would make clients drop a perfectly good key).
const VAULT_STATUS: Record<VaultErrorCode, number> = {
  provider_not_found: 404,
  not_linked: 404,
  relink_required: 409,
  upstream_unavailable: 503,
  upstream_error: 502,
};

// Device flow (RFC 8628): the user's answers (expired, denied) and a device code that is not
// the caller's are the client's problem; a provider that is down or talks nonsense is not.
export const DEVICE_FLOW_STATUS: Record<DeviceFlowErrorCode, number> = {
  provider_not_found: 404,
  device_flow_unsupported: 400,
  invalid_device_code: 400,
  expired_token: 400,
  access_denied: 400,
  upstream_unavailable: 503,
  upstream_error: 502,
};

// Fastify's own client errors, reworded for people. Codes are fastify's stable names.
const FASTIFY_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty but Content-Type says JSON.',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported Content-Type; send application/json.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body.',
};

/** Maps every error to the `{ message, detail? }` body; a 4xx never becomes a 500. */
export function registerErrorHandling(app: FastifyInstance, accessUrl: string): void {
  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof OAuthError) return sendOAuthError(reply, err);
    if (request.routeOptions.config?.errorFormat === 'oauth') {
      const oauth = asOAuthError(err);
      if (oauth) return sendOAuthError(reply, oauth);
    }
    if (err instanceof ApiError) {
      return reply.code(err.status).send(errorBody(err.message, err.detail));
    }
    if (err instanceof VaultError) {
      // Agents print link_url for the user to open; a retry hint goes with an outage.
      const needsLink = err.code === 'not_linked' || err.code === 'relink_required';
      if (err.code === 'upstream_unavailable') reply.header('retry-after', '5');
      return reply.code(VAULT_STATUS[err.code]).send({
        ...errorBody(err.message, err.reason || undefined),
        code: err.code,
        ...(needsLink
          ? { link_url: `${accessUrl}/external-auth/${encodeURIComponent(err.providerId)}/link` }
          : {}),
      });
    }
    if (err instanceof LinkFlowError) {
      return reply
        .code(err.code === 'provider_not_found' ? 404 : 400)
        .send({ ...errorBody(err.message), code: err.code });
    }
    if (err instanceof DeviceFlowError) {
      if (err.code === 'upstream_unavailable') reply.header('retry-after', '5');
      return reply
        .code(DEVICE_FLOW_STATUS[err.code])
        .send({ ...errorBody(err.message, err.reason || undefined), code: err.code });
    }
    if (err instanceof IdentityError) {
      return reply.code(IDENTITY_STATUS[err.kind]).send(errorBody(err.message, err.detail));
    }
    if (err instanceof ForbiddenError) {
      // A refused read is reported as absence: a 403 would confirm the thing exists.
      if (err.action === 'read') return reply.code(404).send(errorBody('Not found.'));
      return reply
        .code(403)
        .send(
          errorBody('Forbidden.', `You may not ${err.action} this ${err.object.type.replaceAll('_', ' ')}.`),
        );
    }
    if (err instanceof RowNotFoundError) return reply.code(404).send(errorBody('Not found.'));
    if (err instanceof DbcryptError) {
      // A stored token that cannot be decrypted (altered, or its key missing) is the
      // server's problem, and is said to be: never a 401, never the ciphertext.
      request.log.error(
        { err, dbcrypt: err.code, ...whoFields(request) },
        'stored secret cannot be decrypted',
      );
      return reply.code(500).send({
        ...errorBody('A stored upstream token cannot be decrypted.', err.message),
        code: `dbcrypt_${err.code}`,
      });
    }
    if ((err as { validation?: unknown }).validation === undefined && err.name === 'ZodError') {
      return reply.code(400).send(errorBody('Invalid request.', zodDetail(err)));
    }
    const status = err.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const friendly = FASTIFY_MESSAGES[err.code];
      // JSON.parse's message says where the syntax error is; that helps the caller.
      const detail = friendly === undefined ? undefined : err.message;
      return reply.code(status).send(errorBody(friendly ?? err.message, detail));
    }
    request.log.error({ err, ...whoFields(request) }, 'unhandled error');
    return reply.code(500).send(errorBody('Internal server error.', `request id ${request.id}`));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    return reply.code(404).send(errorBody('Not found.', `No route for ${request.method} ${path}`));
  });
}

/** RFC 6749 §5.2: JSON, never cached; invalid_client with 401 gets its Basic challenge. */
function sendOAuthError(reply: FastifyReply, err: OAuthError): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (err.code === 'invalid_client' && err.status === 401 && !reply.hasHeader('www-authenticate')) {
    reply.header('www-authenticate', 'Basic realm="latchkey"');
  }
  return reply.code(err.status).send(err.toJSON());
}

/** A client error fastify raised before the handler ran, as the OAuth error it amounts to. */
function asOAuthError(err: FastifyError | ApiError): OAuthError | undefined {
  const status = err instanceof ApiError ? err.status : err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  if (status === 401 || status === 403 || status === 404) return undefined;
  if (!(err instanceof ApiError) && err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new OAuthError(
      'invalid_request',
      `The request body is larger than ${OAUTH_BODY_LIMIT_TEXT}.`,
      413,
    );
  }
  const friendly = err instanceof ApiError ? err.message : FASTIFY_MESSAGES[err.code];
  return new OAuthError('invalid_request', friendly ?? err.message, status);
}

/** Request bodies on OAuth endpoints are bounded (routes pass it as `bodyLimit`). */
export const OAUTH_BODY_LIMIT = 64 * 1024;
const OAUTH_BODY_LIMIT_TEXT = '64 KiB';

function zodDetail(err: unknown): string {
  const issues = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues ?? [];
  return issues.map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`).join('; ');
}
