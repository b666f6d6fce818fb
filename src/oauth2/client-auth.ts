import { systemActors } from '../authz/index.ts';
import type { OAuth2App } from '../db/index.ts';
import { type ClientDeps, resolveClient } from './clients.ts';
import { OAuthError } from './errors.ts';
import type { OAuthParams } from './params.ts';
import { hashClientSecret, sameHash } from './secrets.ts';

// Client authentication at the token, revocation and introspection endpoints (RFC 6749
// §2.3): each client authenticates the one way it registered (token_endpoint_auth_method).
// `none` sends only its client_id (public clients, protected by PKCE); the others send a
// secret in the Authorization header (client_secret_basic) or the body (client_secret_post).
// Every failure is invalid_client with 401 (the error mapper adds the Basic challenge).

interface Presented {
  readonly clientId: string | undefined;
  readonly secret: string | undefined;
  readonly via: 'basic' | 'post' | 'none';
}

const refused = (description: string) => new OAuthError('invalid_client', description, 401);

/** RFC 6749 §2.3.1: client id and secret are form-encoded before being joined with `:`. */
function formDecode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '));
}

function presented(params: OAuthParams, authorization: string | undefined): Presented {
  const bodyId = params.optional('client_id');
  const bodySecret = params.optional('client_secret');
  const basic =
    authorization === undefined ? undefined : /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(authorization);
  if (authorization !== undefined && /^Basic\b/i.test(authorization)) {
    if (!basic?.[1]) throw refused('The Authorization header is not valid Basic credentials.');
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw refused('The Authorization header is not valid Basic credentials.');
    let clientId: string;
    let secret: string;
    try {
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw refused('The Authorization header is not valid Basic credentials.');
    }
    if (bodySecret !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'Authenticate with one method: the header or the body, not both.',
      );
    }
    if (bodyId !== undefined && bodyId !== clientId) {
      throw new OAuthError('invalid_request', 'client_id differs from the one in the Authorization header.');
    }
    return { clientId, secret: secret === '' ? undefined : secret, via: secret === '' ? 'none' : 'basic' };
  }
  if (bodySecret !== undefined) return { clientId: bodyId, secret: bodySecret, via: 'post' };
  return { clientId: bodyId, secret: undefined, via: 'none' };
}

export interface ClientAuthDeps {
  readonly clients: ClientDeps;
}

/**
 * The client making a request, authenticated per its registered method. With
 * `confidential`, a public client is refused too (introspection, client_credentials).
 */
export async function authenticateClient(
  deps: ClientAuthDeps,
  params: OAuthParams,
  authorization: string | undefined,
  options: { confidential?: boolean } = {},
): Promise<OAuth2App> {
  const p = presented(params, authorization);
  if (p.clientId === undefined) throw refused('Client authentication is required (client_id).');
  const app = await resolveClient(deps.clients, p.clientId);
  if (!app) throw refused('Unknown client.');
  const method = app.token_endpoint_auth_method;
  if (method === 'none') {
    if (p.secret !== undefined) throw refused('This client is public: it has no secret to send.');
    if (options.confidential) throw refused('Only confidential clients may use this endpoint.');
    return app;
  }
  const expected = method === 'client_secret_basic' ? 'basic' : 'post';
  if (p.via !== expected) {
    throw refused(`This client authenticates with ${method}.`);
  }
  const hashed = hashClientSecret(p.secret as string);
  const secrets = await deps.clients.authz
    .as(systemActors.systemOAuth2)
    .listOAuth2AppSecrets({ appId: app.id });
  // Every stored secret is compared (a client may hold two while rotating), each in constant time.
  let match = false;
  for (const s of secrets) match = sameHash(hashed, s.hashed_secret) || match;
  if (!match) throw refused('The client secret is not valid.');
  return app;
}
