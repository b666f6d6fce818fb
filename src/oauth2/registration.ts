import { randomBytes } from 'node:crypto';
import { type AuthzStore, systemActors } from '../authz/index.ts';
import type { OAuth2App, Store } from '../db/index.ts';
import { clientMetadataJson, parseClientMetadata } from './client-metadata.ts';
import { OAuthError } from './errors.ts';
import { hashClientSecret, newClientSecret, newRegistrationAccessToken, sameHash } from './secrets.ts';

// OA-2: dynamic client registration (RFC 7591) and its management protocol (RFC 7592).
// Anyone may register (that is the point: MCP clients arrive unannounced), so a
// registration grants nothing by itself: the user still consents at authorize, and the
// client gets at most its registered scope. Registration is rate-limited per IP at the
// HTTP layer. Each call acts as systemClientRegistration, which may manage apps and their
// secrets and nothing else; management calls are proven by the registration access token.

export interface RegistrationDeps {
  readonly authz: AuthzStore;
  /** Where registration_client_uri points (config.accessUrl). */
  readonly accessUrl: string;
}

type Json = Record<string, unknown>;

const store = (deps: RegistrationDeps): Store => deps.authz.as(systemActors.systemClientRegistration);

/** A fresh client_id: opaque, unguessable, recognisable in logs. */
export function newClientId(): string {
  return `lkc_${randomBytes(16).toString('hex')}`;
}

function registrationJson(
  deps: RegistrationDeps,
  app: OAuth2App,
  issued: { clientSecret?: string | undefined; registrationToken?: string | undefined },
): Json {
  return {
    client_id: app.client_id,
    client_id_issued_at: Math.floor(app.created_at.getTime() / 1000),
    // Secrets are stored hashed, so they can be shown only when made.
    ...(issued.clientSecret === undefined
      ? {}
      : { client_secret: issued.clientSecret, client_secret_expires_at: 0 }),
    ...(issued.registrationToken === undefined
      ? {}
      : { registration_access_token: issued.registrationToken }),
    registration_client_uri: `${deps.accessUrl}/oauth2/register/${encodeURIComponent(app.client_id)}`,
    ...clientMetadataJson(app),
  };
}

/** RFC 7591 §3: registers a client; the answer holds its secret and registration token, once. */
export async function registerClient(deps: RegistrationDeps, body: unknown): Promise<Json> {
  const metadata = parseClientMetadata(body, { source: 'registration' });
  const token = newRegistrationAccessToken();
  const secret = metadata.tokenEndpointAuthMethod === 'none' ? undefined : newClientSecret();
  const app = await store(deps).inTx(
    async (tx) => {
      const row = await tx.insertOAuth2App({
        clientId: newClientId(),
        origin: 'dynamic',
        ...metadata,
        registrationTokenHash: token.hashed,
        createdBy: null,
      });
      if (secret) {
        await tx.insertOAuth2AppSecret({
          appId: row.id,
          displayPrefix: secret.displayPrefix,
          hashedSecret: secret.hashed,
        });
      }
      return row;
    },
    { name: 'oauth2_register' },
  );
  return registrationJson(deps, app, { clientSecret: secret?.secret, registrationToken: token.token });
}

/**
 * The registered client a management call is about, if the registration access token is
 * its own. An unknown client and a wrong token look the same (RFC 7592 §2: 401), so the
 * answer does not reveal which client ids exist.
 */
async function authenticate(deps: RegistrationDeps, clientId: string, token: string | undefined) {
  if (token === undefined) {
    throw new OAuthError('invalid_token', 'Send the registration access token as a Bearer token.', 401);
  }
  const app = await store(deps).getOAuth2AppByClientId({ clientId });
  const stored = app?.origin === 'dynamic' ? app.registration_token_hash : null;
  if (!app || !stored || !sameHash(hashClientSecret(token), stored)) {
    throw new OAuthError('invalid_token', 'Unknown client or wrong registration access token.', 401);
  }
  return { app, tokenHash: stored };
}

/**
 * RFC 7592 §2.1: the client's current registration. Its secret and registration access
 * token are stored only as hashes, so neither is repeated; the token stays valid.
 */
export async function readRegistration(
  deps: RegistrationDeps,
  clientId: string,
  token: string | undefined,
): Promise<Json> {
  const { app } = await authenticate(deps, clientId, token);
  return registrationJson(deps, app, {});
}

/**
 * RFC 7592 §2.2: replaces the client's metadata (fields left out return to their
 * defaults). The registration access token is rotated: the answer holds the new one and
 * the old one stops working. Becoming confidential issues a secret; becoming public
 * deletes the secrets.
 */
export async function updateRegistration(
  deps: RegistrationDeps,
  clientId: string,
  token: string | undefined,
  body: unknown,
): Promise<Json> {
  const { app, tokenHash } = await authenticate(deps, clientId, token);
  const given = (typeof body === 'object' && body !== null ? body : {}) as Json;
  if (given.client_id !== clientId) {
    throw new OAuthError(
      'invalid_client_metadata',
      'client_id must be present and equal to the client being updated',
    );
  }
  const metadata = parseClientMetadata(body, { source: 'registration' });
  const s = store(deps);
  if (given.client_secret !== undefined) {
    const secrets = await s.listOAuth2AppSecrets({ appId: app.id });
    const presented =
      typeof given.client_secret === 'string' ? hashClientSecret(given.client_secret) : undefined;
    if (!presented || !secrets.some((x) => sameHash(presented, x.hashed_secret))) {
      throw new OAuthError('invalid_client_metadata', 'client_secret does not match the current secret');
    }
  }
  const next = newRegistrationAccessToken();
  const wasPublic = app.token_endpoint_auth_method === 'none';
  const isPublic = metadata.tokenEndpointAuthMethod === 'none';
  const secret = wasPublic && !isPublic ? newClientSecret() : undefined;
  const updated = await s.inTx(
    async (tx) => {
      // Compare-and-swap on the old token: of two updates racing with it, one wins.
      const rotated = await tx.updateOAuth2AppRegistrationToken({
        id: app.id,
        oldHash: tokenHash,
        newHash: next.hashed,
      });
      if (!rotated)
        throw new OAuthError('invalid_token', 'The registration access token was just replaced.', 401);
      const row = await tx.updateOAuth2App({ id: app.id, ...metadata });
      if (isPublic && !wasPublic) await tx.deleteOAuth2AppSecrets({ appId: app.id });
      if (secret) {
        await tx.insertOAuth2AppSecret({
          appId: app.id,
          displayPrefix: secret.displayPrefix,
          hashedSecret: secret.hashed,
        });
      }
      return row;
    },
    { name: 'oauth2_register_update' },
  );
  return registrationJson(deps, updated, { clientSecret: secret?.secret, registrationToken: next.token });
}

/** RFC 7592 §2.3: deletes the client with everything issued to it. */
export async function deleteRegistration(
  deps: RegistrationDeps,
  clientId: string,
  token: string | undefined,
): Promise<void> {
  const { app } = await authenticate(deps, clientId, token);
  await store(deps).deleteOAuth2App({ id: app.id });
}
