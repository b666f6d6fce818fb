import { parseScopes, publicScopes } from '../apikeys/index.ts';
import { allow, covers, type Permission } from '../authz/index.ts';
import { OAuthError } from './errors.ts';
import { supportedScopeNames } from './scopes-supported.ts';

// Scope negotiation for the authorization server. A scope string is a set of names from
// one published catalog (scopes-supported.ts: `scopes_supported`, the API-key catalog
// and offline_access); each name stands for permissions (`resource:action` pairs), and
// coverage is decided by those permissions, never by spelling: `workspace:read` is within
// a ceiling of `latchkey:application_connect`, `workspace:update` is not. A request naming one
// thing the client may not have is refused whole (invalid_scope), never trimmed.

/** Grants no permission: a refresh token goes to any client whose grant_types allow it. */
export const OFFLINE_ACCESS = 'offline_access';
/** No limit beyond the user's roles. */
export const FULL_ACCESS = 'latchkey:all';

const ALL: readonly Permission[] = allow('*', '*');

let descriptions: ReadonlyMap<string, string> | undefined;

/** What each requestable name means, in words (the catalog itself is scopes-supported.ts). */
function describe(name: string): string {
  if (!descriptions) {
    const entries = new Map<string, string>(publicScopes().map((s) => [s.name, s.description]));
    entries.set(OFFLINE_ACCESS, 'Stay connected while you are away (refresh tokens).');
    descriptions = entries;
  }
  return descriptions.get(name) ?? name;
}

/** The names of a scope string, in order, without duplicates. */
export function scopeNames(scope: string): string[] {
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

/** The permissions one catalog name stands for. */
function permissionsOf(name: string): readonly Permission[] {
  if (name === OFFLINE_ACCESS) return [];
  const parsed = parseScopes([name]);
  if (!parsed.ok) return [];
  return parsed.permissions ?? ALL;
}

function permissionsOfAll(names: readonly string[]): readonly Permission[] {
  return names.flatMap(permissionsOf);
}

/** Whether `held` grants every permission `names` stand for. */
function coveredBy(names: readonly string[], held: readonly Permission[]): string | undefined {
  for (const name of names) {
    if (!permissionsOf(name).every((wanted) => held.some((h) => covers(h, wanted)))) return name;
  }
  return undefined;
}

/** The names that limit an access token (everything but offline_access). */
export function apiScopes(scope: string): string[] {
  return scopeNames(scope).filter((s) => s !== OFFLINE_ACCESS);
}

/** Whether a scope string limits nothing beyond the user's roles. */
export function isUnrestricted(scope: string): boolean {
  return apiScopes(scope).includes(FULL_ACCESS);
}

/** Whether everything `scope` allows is allowed by `by` (remembered consent, narrowing). */
export function scopeCovers(by: string, scope: string): boolean {
  return coveredBy(apiScopes(scope), permissionsOfAll(apiScopes(by))) === undefined;
}

export type NegotiatedScope =
  | { readonly ok: true; readonly scope: string }
  | { readonly ok: false; readonly error: OAuthError };

function refuse(description: string): NegotiatedScope {
  return { ok: false, error: new OAuthError('invalid_scope', description) };
}

/** The first name that is not in the published catalog (`scopes_supported`). */
function unknownName(names: readonly string[]): string | undefined {
  const known = supportedScopeNames();
  return names.find((n) => !known.has(n));
}

/**
 * The scope an authorization grants (RFC 6749 §3.3): `requested` (the request's `scope`,
 * undefined when absent) within the client's registered `ceiling` ('' = none). Omitted,
 * or naming nothing but offline_access, it is the whole ceiling, or full access for a
 * client without one. The result always limits the token to at least one API scope.
 */
export function negotiateScope(requested: string | undefined, ceiling: string): NegotiatedScope {
  const asked = scopeNames(requested ?? '');
  const unknown = unknownName(asked);
  if (unknown !== undefined) return refuse(`"${unknown}" is not a scope this server offers`);
  const ceilingNames = apiScopes(ceiling);
  const extra = asked.filter((n) => n === OFFLINE_ACCESS);
  let api = asked.filter((n) => n !== OFFLINE_ACCESS);
  if (api.length === 0) api = ceiling.trim() === '' ? [FULL_ACCESS] : ceilingNames;
  else if (ceiling.trim() !== '') {
    const beyond = coveredBy(api, permissionsOfAll(ceilingNames));
    if (beyond !== undefined) return refuse(`"${beyond}" is beyond the scope this client registered`);
  }
  if (api.length === 0) return refuse('this client may not ask for any API scope');
  return { ok: true, scope: [...api, ...extra].join(' ') };
}

/**
 * The scope of a token refreshed from a grant of `granted` (RFC 6749 §6): `requested`
 * when it is within the grant (by authority), the grant itself when absent or naming no
 * API scope. Never wider.
 */
export function narrowScope(granted: string, requested: string | undefined): NegotiatedScope {
  const asked = scopeNames(requested ?? '');
  const unknown = unknownName(asked);
  if (unknown !== undefined) return refuse(`"${unknown}" is not a scope this server offers`);
  const api = asked.filter((n) => n !== OFFLINE_ACCESS);
  if (api.length === 0) return { ok: true, scope: granted };
  const beyond = coveredBy(api, permissionsOfAll(apiScopes(granted)));
  if (beyond !== undefined) return refuse(`"${beyond}" was not granted`);
  return { ok: true, scope: asked.join(' ') };
}

/** Each name of a scope string in words, for the consent page and the apps list. */
export function describeScope(scope: string): Array<{ name: string; description: string }> {
  if (isUnrestricted(scope)) {
    const rest = scopeNames(scope).filter((n) => n === OFFLINE_ACCESS);
    return [
      { name: FULL_ACCESS, description: 'Full access: everything your roles allow.' },
      ...rest.map((name) => ({ name, description: describe(name) })),
    ];
  }
  return scopeNames(scope).map((name) => ({ name, description: describe(name) }));
}

/** Two scope strings as one (remembering consent to both). */
export function unionScope(a: string, b: string): string {
  if (isUnrestricted(a) || isUnrestricted(b))
    return [FULL_ACCESS, ...scopeNames(`${a} ${b}`).filter((n) => n === OFFLINE_ACCESS)].join(' ');
  return scopeNames(`${a} ${b}`).join(' ');
}
