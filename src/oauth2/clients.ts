import { type AuthzStore, systemActors } from '../authz/index.ts';
import type { OAuth2App } from '../db/index.ts';
import type { ClientMetadataDocuments } from './client-metadata-document.ts';

/**
 * What resolving a client needs. One value per server (built in src/http/routes/index.ts
 * and handed to every OAuth route as `deps.clients`), so the metadata-document cache is
 * shared by authorize, token and the rest.
 */
export interface ClientDeps {
  readonly authz: AuthzStore;
  /**
   * Fetches client ID metadata documents (an https URL as client_id). Absent: such a
   * client id is looked up like any other, so only a previously stored one is known.
   */
  readonly documents?: ClientMetadataDocuments | undefined;
}

/** Whether a client id names a client ID metadata document rather than a stored app. */
export function isMetadataDocumentClientId(clientId: string): boolean {
  return clientId.startsWith('https://') || clientId.startsWith('http://');
}

/**
 * The client a `client_id` names, or undefined when there is none (the caller answers
 * invalid_client / an error page). Registered and admin apps come from the database; an
 * https URL is a client ID metadata document, fetched (SSRF-guarded, cached per replica)
 * and mirrored into oauth2_apps so codes and tokens can reference it by row id.
 *
 * Used by authorize and token. Throws only for failures of Latchkey itself (database
 * down); a document that cannot be fetched or is invalid is "no such client".
 */
export async function resolveClient(deps: ClientDeps, clientId: string): Promise<OAuth2App | undefined> {
  if (clientId.length === 0 || clientId.length > 2048) return undefined;
  if (deps.documents && isMetadataDocumentClientId(clientId)) {
    return deps.documents.resolve(clientId);
  }
  return deps.authz.as(systemActors.systemOAuth2).getOAuth2AppByClientId({ clientId });
}
