import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuthzStore } from '../../../authz/index.ts';
import type { OAuth2App, OAuth2AppSecret, Store } from '../../../db/index.ts';
import { IdentityError } from '../../../identity/index.ts';
import {
  type ClientMetadata,
  clientMetadataJson,
  newClientId,
  newClientSecret,
  OAuthError,
  parseClientMetadata,
} from '../../../oauth2/index.ts';
import { ApiError } from '../../api-error.ts';
import { requireAuth } from '../../auth/actor.ts';
import { store } from '../loaders.ts';

// OA-2: apps managed by people, under /api/v1/oauth2-provider/apps — admin-created ones
// (with secrets made here and shown once) and, for review and removal, those that
// registered themselves or came from a metadata document. Whoever holds oauth2_app
// permissions (owners) may manage them; to anyone else an app does not exist: 404, never
// 401/403, for a missing or hidden app.

type AppParams = { Params: { id: string } };
type SecretParams = { Params: { id: string; sid: string } };

const BASE = '/api/v1/oauth2-provider/apps';

/**
 * The body of POST and PUT: `name`, and client metadata in RFC 7591 spelling
 * (redirect_uris, grant_types, scope, token_endpoint_auth_method, application_type, …).
 * PUT replaces: a field left out returns to its default.
 */
const appBody = z.looseObject({
  name: z
    .string()
    .min(1)
    .max(200)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters'),
  // Not client metadata: how this server encodes the app's access tokens (RFC 9068 `jwt`
  // for every audience, else per LATCHKEY_OAUTH2_JWT_RESOURCES).
  access_token_format: z.enum(['opaque', 'jwt']).default('opaque'),
});
const listQuery = z.object({
  origin: z.enum(['dynamic', 'admin', 'metadata_document']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export function appJson(app: OAuth2App) {
  return {
    id: app.id,
    client_id: app.client_id,
    origin: app.origin,
    name: app.name,
    access_token_format: app.access_token_format,
    created_at: app.created_at.toISOString(),
    updated_at: app.updated_at.toISOString(),
    // What the client would see in its registration: RFC 7591 names, unset fields omitted.
    client_metadata: clientMetadataJson(app),
  };
}

function secretJson(secret: OAuth2AppSecret) {
  return {
    id: secret.id,
    display_prefix: secret.display_prefix,
    created_at: secret.created_at.toISOString(),
    last_used_at: secret.last_used_at?.toISOString() ?? null,
  };
}

/** Client metadata from an admin's body; a bad value is a 400 saying which. */
function metadataOf(raw: unknown): ClientMetadata & { accessTokenFormat: 'opaque' | 'jwt' } {
  const { name, access_token_format, ...rest } = appBody.parse(raw);
  try {
    return {
      ...parseClientMetadata({ ...rest, client_name: name }, { source: 'admin' }),
      accessTokenFormat: access_token_format,
    };
  } catch (err) {
    if (err instanceof OAuthError) throw new ApiError(400, 'Invalid app.', err.description);
    throw err;
  }
}

async function loadApp(s: Store, id: string): Promise<OAuth2App> {
  const app = await s.getOAuth2AppById({ id });
  if (!app) throw new IdentityError('not_found', 'No such app.');
  return app;
}

export function registerOAuth2AppRoutes(app: FastifyInstance, { authz }: { authz: AuthzStore }): void {
  const auth = { preHandler: requireAuth };
  const s = (request: FastifyRequest) => store(request, authz);

  app.get(BASE, auth, async (request) => {
    const query = listQuery.parse(request.query);
    return { apps: (await s(request).listOAuth2Apps(query)).map(appJson) };
  });

  app.post(BASE, auth, async (request, reply) => {
    const metadata = metadataOf(request.body);
    const created = await s(request).insertOAuth2App({
      clientId: newClientId(),
      origin: 'admin',
      ...metadata,
      registrationTokenHash: null,
      createdBy: request.auth?.userId ?? null,
    });
    return reply.code(201).send(appJson(created));
  });

  app.get<AppParams>(`${BASE}/:id`, auth, async (request) =>
    appJson(await loadApp(s(request), request.params.id)),
  );

  app.put<AppParams>(`${BASE}/:id`, auth, async (request) => {
    const metadata = metadataOf(request.body);
    const found = await loadApp(s(request), request.params.id);
    return appJson(await s(request).updateOAuth2App({ id: found.id, ...metadata }));
  });

  app.delete<AppParams>(`${BASE}/:id`, auth, async (request, reply) => {
    const found = await loadApp(s(request), request.params.id);
    await s(request).deleteOAuth2App({ id: found.id });
    return reply.code(204).send();
  });

  app.get<AppParams>(`${BASE}/:id/secrets`, auth, async (request) => {
    const found = await loadApp(s(request), request.params.id);
    return { secrets: (await s(request).listOAuth2AppSecrets({ appId: found.id })).map(secretJson) };
  });

  app.post<AppParams>(`${BASE}/:id/secrets`, auth, async (request, reply) => {
    const found = await loadApp(s(request), request.params.id);
    if (found.token_endpoint_auth_method === 'none') {
      throw new ApiError(
        400,
        'This app is a public client.',
        'token_endpoint_auth_method is none: it uses no secret.',
      );
    }
    const secret = newClientSecret();
    const row = await s(request).insertOAuth2AppSecret({
      appId: found.id,
      displayPrefix: secret.displayPrefix,
      hashedSecret: secret.hashed,
    });
    // The only time the secret is shown: it is stored as its SHA-256.
    return reply.code(201).send({ ...secretJson(row), client_secret: secret.secret });
  });

  app.delete<SecretParams>(`${BASE}/:id/secrets/:sid`, auth, async (request, reply) => {
    const found = await loadApp(s(request), request.params.id);
    await s(request).deleteOAuth2AppSecret({ appId: found.id, id: request.params.sid });
    return reply.code(204).send();
  });
}
