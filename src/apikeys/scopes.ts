import {
  allow,
  hasAction,
  isResourceType,
  type Permission,
  RESOURCES,
  type ResourceType,
} from '../authz/index.ts';

// What a credential may be used for, on top of (never beyond) its owner's roles.
// `latchkey:all` is no limit at all; the others narrow the subject's permissions.
export const CANONICAL_SCOPES = {
  'latchkey:all': { description: 'Everything your roles allow.', permissions: undefined },
  'latchkey:application_connect': {
    description: 'Connect to and use workspaces and templates; nothing else.',
    permissions: [...allow('workspace', 'read', 'use'), ...allow('template', 'read', 'use')],
  },
} as const satisfies Record<string, { description: string; permissions: Permission[] | undefined }>;

export type CanonicalScope = keyof typeof CANONICAL_SCOPES;
export const DEFAULT_SCOPES: readonly string[] = ['latchkey:all'];

export type ScopesResult =
  | { ok: true; scopes: string[]; permissions: Permission[] | undefined }
  | { ok: false; error: string };

/** How many scope names someone may ask for when making a key. */
export const MAX_REQUESTED_SCOPES = 64;

/**
 * Parses scope names into the permissions they allow: canonical names, `resource:action`
 * and `resource:*`. Names are lower-cased and deduplicated; `latchkey:all` absorbs the
 * rest (the result then has no limit); an unknown name is refused, naming it. At most
 * `maxNames` (64) are taken from a request; a stored key's names were checked when it was
 * made — an OAuth grant may hold every name of the catalog, more than a request may ask
 * for — and are read with no count limit.
 */
export function parseScopes(raw: readonly string[], maxNames = MAX_REQUESTED_SCOPES): ScopesResult {
  if (raw.length === 0) return { ok: true, scopes: [...DEFAULT_SCOPES], permissions: undefined };
  if (raw.length > maxNames) return { ok: false, error: `at most ${maxNames} scopes` };
  const scopes = new Set<string>();
  const permissions: Permission[] = [];
  for (const text of raw) {
    const name = text.trim().toLowerCase();
    if (name === 'latchkey:all') return { ok: true, scopes: ['latchkey:all'], permissions: undefined };
    if (name in CANONICAL_SCOPES) {
      permissions.push(...(CANONICAL_SCOPES[name as CanonicalScope].permissions ?? []));
      scopes.add(name);
      continue;
    }
    const [type, action, extra] = name.split(':');
    if (extra !== undefined || type === undefined || action === undefined || !isResourceType(type)) {
      return { ok: false, error: `unknown scope "${text}"` };
    }
    if (action === '*') permissions.push(...allow(type, '*'));
    else if (hasAction(type, action)) permissions.push(...allow(type, action));
    else return { ok: false, error: `unknown scope "${text}": ${type} has no action "${action}"` };
    scopes.add(name);
  }
  return { ok: true, scopes: [...scopes], permissions };
}

/** Every scope a key may ask for, for `GET /api/v1/auth/scopes`. */
export function publicScopes(): Array<{ name: string; description: string }> {
  const canonical = Object.entries(CANONICAL_SCOPES).map(([name, s]) => ({
    name,
    description: s.description,
  }));
  const fine = (Object.keys(RESOURCES) as ResourceType[]).flatMap((type) =>
    (RESOURCES[type] as readonly string[]).map((action) => ({
      name: `${type}:${action}`,
      description: `${action[0]?.toUpperCase()}${action.slice(1)} ${type.replaceAll('_', ' ')} objects.`,
    })),
  );
  return [...canonical, ...fine];
}
