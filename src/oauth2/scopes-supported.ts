import { publicScopes } from '../apikeys/index.ts';

/**
 * Scopes that are about the OAuth protocol rather than a permission: `offline_access`
 * asks for a refresh token (clients send it; a client whose grant_types include
 * refresh_token gets one anyway). They may be registered and requested, and grant nothing.
 */
export const PROTOCOL_SCOPES = ['offline_access'] as const;

/** Every scope name a client may register or request: the API catalog, plus PROTOCOL_SCOPES. */
export function scopesSupported(): string[] {
  return [...publicScopes().map((s) => s.name), ...PROTOCOL_SCOPES];
}

let cached: ReadonlySet<string> | undefined;

/** scopesSupported() as a set (computed once: the catalog is fixed at start-up). */
export function supportedScopeNames(): ReadonlySet<string> {
  cached ??= new Set(scopesSupported());
  return cached;
}
