import type { ConfigIssue } from './load.ts';
import { boolean } from './options.ts';
import {
  PROVIDER_TYPES,
  type ProviderType,
  type RevokeStyle,
  revokeStyleFor,
  typeDefaults,
} from './provider-types.ts';

// The upstream providers users can link (docs/external-auth.md). They come as numbered env
// groups, LATCHKEY_EXTERNAL_AUTH_<n>_<FIELD>, and as the `external-auth` list of the config
// file. Each field is declared once below; env names, file keys and docs derive from it.

/** One upstream provider, with every default applied. Built only by parseExternalAuth. */
export interface ExternalAuthProviderConfig {
  /** [a-z0-9-]+, unique; used in URLs and stored with each link. */
  id: string;
  type: ProviderType;
  displayName: string;
  /** URL of an icon; empty when none was configured. */
  icon: string;
  clientId: string;
  /** Empty for public clients. Never print it. */
  clientSecret: string;
  /** Empty for oidc until discovery fills it in, unless configured. */
  authUrl: string;
  tokenUrl: string;
  validateUrl: string | undefined;
  /** `{client_id}` is already replaced. */
  revokeUrl: string | undefined;
  /** Without a trailing slash. */
  apiBaseUrl: string | undefined;
  revokeStyle: RevokeStyle;
  scopes: string[];
  /** Token-response fields copied next to the access token and returned to callers. */
  extraTokenKeys: string[];
  deviceFlow: boolean;
  deviceCodeUrl: string | undefined;
  /** PKCE S256 on the authorization-code flow (PKCE_METHODS=none turns it off). */
  pkce: boolean;
  /** Extra query parameters for the authorize URL (type defaults merged under configured ones). */
  authUrlParams: Record<string, string>;
  /** Repository URLs this provider serves, for git credentials. */
  regex: RegExp | undefined;
  /** An expired token fails at once instead of being refreshed. */
  noRefresh: boolean;
  /** oidc only: where discovery starts. */
  issuerUrl: string | undefined;
}

interface FieldDef {
  readonly description: string;
  /** Shown in the docs' default column. */
  readonly fallback: string;
  readonly secret?: boolean;
}

/** Every field a provider accepts, in the order the docs list them. */
export const EXTERNAL_AUTH_FIELDS = {
  id: {
    description: 'Identifier in URLs and the database: lowercase letters, digits and dashes.',
    fallback: 'the type',
  },
  type: { description: `Provider type: ${PROVIDER_TYPES.join(', ')}.`, fallback: '(required)' },
  clientId: { description: 'OAuth client id of the app registered upstream.', fallback: '(required)' },
  clientSecret: {
    description: 'OAuth client secret; leave unset for a public client.',
    fallback: '(unset)',
    secret: true,
  },
  authUrl: {
    description:
      'Authorize endpoint. For github, gitlab and gitea on another host, the other endpoints and REGEX are derived from it.',
    fallback: 'per type',
  },
  tokenUrl: { description: 'Token endpoint.', fallback: 'per type' },
  validateUrl: {
    description: 'URL called with the token to check it is still valid (200 = valid).',
    fallback: 'per type',
  },
  revokeUrl: {
    description: 'Revocation endpoint called on unlink; `{client_id}` is replaced.',
    fallback: 'per type',
  },
  apiBaseUrl: { description: "Base URL of the provider's API.", fallback: 'per type' },
  scopes: {
    description: 'Scopes to request, comma or space separated; in the file, `[]` requests none.',
    fallback: 'per type',
  },
  extraTokenKeys: {
    description: 'Token-response fields kept and returned with the token, comma or space separated.',
    fallback: 'per type',
  },
  deviceFlow: {
    description: 'Link with the device flow instead of a browser redirect.',
    fallback: '`false`',
  },
  deviceCodeUrl: { description: 'Device authorization endpoint.', fallback: 'per type' },
  pkceMethods: {
    description: '`S256`, or `none` for a provider that rejects PKCE.',
    fallback: 'per type (`S256`)',
  },
  authUrlParams: {
    description:
      'JSON object of extra authorize-URL parameters, e.g. `{"audience":"https://api.example.com"}`.',
    fallback: 'per type',
  },
  displayName: { description: 'Name shown to users.', fallback: 'per type, else the id' },
  icon: { description: 'URL of an icon shown next to the name.', fallback: '(none)' },
  regex: {
    description:
      'JavaScript regular expression matching the repository URLs this provider serves (git credentials).',
    fallback: 'per type',
  },
  noRefresh: { description: 'Never refresh: an expired token needs a new link.', fallback: '`false`' },
  issuerUrl: {
    description: 'OIDC issuer; endpoints are discovered from it (type oidc only).',
    fallback: '(required for oidc)',
  },
} as const satisfies Record<string, FieldDef>;

export type ExternalAuthField = keyof typeof EXTERNAL_AUTH_FIELDS;
const FIELD_KEYS = Object.keys(EXTERNAL_AUTH_FIELDS) as ExternalAuthField[];

/** The config-file key holding the provider list (file keys are kebab-case, like flags). */
export const EXTERNAL_AUTH_FILE_KEY = 'external-auth';
const ENV_PREFIX = 'LATCHKEY_EXTERNAL_AUTH_';
const ENV_NAME = /^LATCHKEY_EXTERNAL_AUTH_(\d+)(?:_(.*))?$/;

/** `clientId` → `CLIENT_ID`. */
const envSuffix = (field: ExternalAuthField) => field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
/** `clientId` → `client-id`. */
const fileKey = (field: ExternalAuthField) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const ENV_FIELDS = new Map(FIELD_KEYS.map((f) => [envSuffix(f), f]));
const FILE_FIELDS = new Map(FIELD_KEYS.map((f) => [fileKey(f), f]));

/** `externalAuthEnvName(1, 'clientId')` → `LATCHKEY_EXTERNAL_AUTH_1_CLIENT_ID`. */
export function externalAuthEnvName(n: number | string, field: ExternalAuthField): string {
  return `${ENV_PREFIX}${n}_${envSuffix(field)}`;
}

/** The env variables describing provider `n` (for tests and examples). */
export function externalAuthEnv(
  n: number,
  fields: Partial<Record<ExternalAuthField, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).map(([f, v]) => [externalAuthEnvName(n, f as ExternalAuthField), v]),
  );
}

/** Field names as written in the file, for docs. */
export const externalAuthFileKey = fileKey;

interface Given {
  readonly text: string;
  /** The variable or file key it came from. */
  readonly source: string;
}

/** One provider as the operator wrote it, before defaults. */
interface RawProvider {
  /** `LATCHKEY_EXTERNAL_AUTH_1` or `c.yaml: external-auth[0]`. */
  readonly label: string;
  /** Where to set `field` (named when it is missing). */
  readonly nameOf: (field: ExternalAuthField) => string;
  readonly given: Partial<Record<ExternalAuthField, Given>>;
}

export interface ExternalAuthSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The value of `external-auth` in the config file, as parsed. */
  readonly file?: unknown;
  readonly filePath?: string | undefined;
}

/**
 * Providers from the file's `external-auth` list and from LATCHKEY_EXTERNAL_AUTH_<n>_*.
 * An env provider whose ID (or, without an ID, TYPE) matches a file provider overrides that
 * provider field by field, as env overrides the file for every other option (so a secret can
 * stay out of the file); the others follow the file's, ordered by n. Every problem is
 * returned at once, each naming the variable or file key to fix.
 */
export function parseExternalAuth(sources: ExternalAuthSources): {
  providers: ExternalAuthProviderConfig[];
  issues: ConfigIssue[];
} {
  const issues: ConfigIssue[] = [];
  const raws = merge(
    fromFile(sources.file, sources.filePath ?? 'config file', issues),
    fromEnv(sources.env, issues),
  );
  const resolved = raws.map((raw) => resolve(raw, issues));
  checkUniqueIds(raws, issues);
  return { providers: resolved.flatMap((provider) => (provider ? [provider] : [])), issues };
}

/** Ids are checked on what was written, so a provider with other problems still counts. */
function checkUniqueIds(raws: readonly RawProvider[], issues: ConfigIssue[]): void {
  const seen = new Map<string, RawProvider>();
  for (const raw of raws) {
    const explicit = raw.given.id?.text;
    const type = PROVIDER_TYPES.find((t) => t === raw.given.type?.text.toLowerCase());
    const id = explicit ?? type;
    if (id === undefined || !ID.test(id)) continue;
    const first = seen.get(id);
    if (!first) {
      seen.set(id, raw);
    } else if (raw.given.id) {
      issues.push({
        source: shown('id', raw.given.id),
        message: `${first.label} already uses this id; ids must be unique`,
      });
    } else {
      issues.push({
        source: raw.nameOf('id'),
        message: `is not set, so it defaults to the type "${id}", which ${first.label} already uses as its id; give each ${id} provider its own id`,
      });
    }
  }
}

function fromEnv(env: Readonly<Record<string, string | undefined>>, issues: ConfigIssue[]): RawProvider[] {
  const groups = new Map<number, Partial<Record<ExternalAuthField, Given>>>();
  for (const [name, value] of Object.entries(env)) {
    const match = ENV_NAME.exec(name);
    // Empty counts as unset, as for every other variable.
    if (!match || value === undefined || value.trim() === '') continue;
    const [, n = '', suffix = ''] = match;
    const field = ENV_FIELDS.get(suffix);
    // Values of misspelled variables are not echoed: CLIENT_SECRT holds a secret.
    if (n.length > 1 && n.startsWith('0')) {
      issues.push({
        source: name,
        message: `write the provider number without leading zeros (${ENV_PREFIX}${Number(n)}_…)`,
      });
    } else if (!field) {
      issues.push({
        source: name,
        message: `unknown field "${suffix}"; expected one of: ${[...ENV_FIELDS.keys()].join(', ')}`,
      });
    } else {
      const group = groups.get(Number(n)) ?? {};
      group[field] = { text: value.trim(), source: name };
      groups.set(Number(n), group);
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, given]) => ({ label: `${ENV_PREFIX}${n}`, nameOf: (f) => externalAuthEnvName(n, f), given }));
}

function fromFile(value: unknown, path: string, issues: ConfigIssue[]): RawProvider[] {
  if (value === undefined || value === null) return [];
  const at = `${path}: ${EXTERNAL_AUTH_FILE_KEY}`;
  if (!Array.isArray(value)) {
    issues.push({ source: at, message: 'expected a list of providers' });
    return [];
  }
  return value.flatMap((entry: unknown, i): RawProvider[] => {
    const label = `${at}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      issues.push({ source: label, message: 'expected a mapping of provider fields' });
      return [];
    }
    const given: Partial<Record<ExternalAuthField, Given>> = {};
    for (const [key, v] of Object.entries(entry)) {
      const field = FILE_FIELDS.get(key);
      const source = `${label}.${key}`;
      if (!field) {
        issues.push({
          source,
          message: `unknown field; expected one of: ${[...FILE_FIELDS.keys()].join(', ')}`,
        });
        continue;
      }
      const text = fileText(field, v);
      if (typeof text === 'string') given[field] = { text, source };
      else if (text) issues.push({ source, message: text.problem });
    }
    return [{ label, nameOf: (f) => `${label}.${fileKey(f)}`, given }];
  });
}

/** A file value as the text an env variable would hold; null, absent and empty mean unset. */
function fileText(field: ExternalAuthField, v: unknown): string | undefined | { problem: string } {
  if (v === null || v === undefined) return undefined;
  const isList = field === 'scopes' || field === 'extraTokenKeys';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
    // Empty means unset, as in env; but `scopes: []` (or '') asks for no scopes at all.
    const text = String(v).trim();
    return text === '' && !isList ? undefined : text;
  }
  if (isList) {
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v.join(' ');
    return { problem: 'expected a list of strings' };
  }
  if (field === 'authUrlParams' && typeof v === 'object' && !Array.isArray(v)) return JSON.stringify(v);
  return { problem: 'expected a string, number or boolean' };
}

function merge(file: RawProvider[], env: RawProvider[]): RawProvider[] {
  const key = (p: RawProvider) => (p.given.id ?? p.given.type)?.text.toLowerCase();
  const out = [...file];
  const taken = new Set<number>();
  for (const provider of env) {
    const k = key(provider);
    const i = k === undefined ? -1 : file.findIndex((f, idx) => !taken.has(idx) && key(f) === k);
    const base = out[i];
    if (!base) {
      out.push(provider);
      continue;
    }
    taken.add(i);
    out[i] = { ...base, given: { ...base.given, ...provider.given } };
  }
  return out;
}

const ID = /^[a-z0-9-]+$/;
// Set by Latchkey on the authorize URL; letting AUTH_URL_PARAMS replace them would break the flow.
const RESERVED_PARAMS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
];

function shown(field: ExternalAuthField, given: Given): string {
  const def: FieldDef = EXTERNAL_AUTH_FIELDS[field];
  return def.secret ? given.source : `${given.source}=${JSON.stringify(given.text)}`;
}

type Report = (field: ExternalAuthField, message: string) => void;
const URL_FIELDS = [
  'authUrl',
  'tokenUrl',
  'validateUrl',
  'revokeUrl',
  'apiBaseUrl',
  'deviceCodeUrl',
  'issuerUrl',
] as const satisfies readonly ExternalAuthField[];
type UrlField = (typeof URL_FIELDS)[number];

/** Checks one provider and applies its type's defaults; undefined when something is wrong. */
function resolve(raw: RawProvider, issues: ConfigIssue[]): ExternalAuthProviderConfig | undefined {
  const before = issues.length;
  const text = (field: ExternalAuthField) => raw.given[field]?.text;
  const bad: Report = (field, message) => {
    const value = raw.given[field];
    issues.push({ source: value ? shown(field, value) : raw.nameOf(field), message });
  };

  const typeText = text('type')?.toLowerCase();
  const type = PROVIDER_TYPES.find((t) => t === typeText);
  if (!type) {
    const required = typeText === undefined ? 'is required; ' : '';
    bad('type', `${required}expected one of: ${PROVIDER_TYPES.join(', ')}`);
  }
  const idText = text('id');
  if (idText !== undefined && !ID.test(idText)) {
    bad(
      'id',
      'may contain only lowercase letters, digits and dashes (it appears in URLs and in the database)',
    );
  }
  const clientId = text('clientId');
  if (!clientId) bad('clientId', 'is required');
  const urls: Partial<Record<UrlField, string>> = {};
  for (const field of URL_FIELDS) {
    const value = text(field);
    const problem = value === undefined ? undefined : urlProblem(value);
    if (problem) bad(field, problem);
    else if (value !== undefined) urls[field] = value;
  }
  const deviceFlow = parseBool('deviceFlow', text('deviceFlow'), bad);
  const noRefresh = parseBool('noRefresh', text('noRefresh'), bad);
  const pkce = parsePkce(text('pkceMethods'), bad);
  const params = parseParams(text('authUrlParams'), bad);
  const regex = parseRegex(text('regex'), bad);
  if (!type) return undefined;

  const defaults = typeDefaults(type, urls.authUrl === undefined ? undefined : new URL(urls.authUrl));
  const deviceCodeUrl = urls.deviceCodeUrl ?? defaults.endpoints.deviceCodeUrl;
  // oidc may still find a device_authorization_endpoint by discovery.
  if (deviceFlow && !deviceCodeUrl && type !== 'oidc') {
    bad(
      'deviceFlow',
      `is true, but ${type} has no default device-code URL; set ${raw.nameOf('deviceCodeUrl')}`,
    );
  }
  if (type === 'oauth2') {
    if (!text('authUrl')) bad('authUrl', 'is required for type oauth2');
    if (!text('tokenUrl')) bad('tokenUrl', 'is required for type oauth2');
  }
  if (type === 'oidc' && !text('issuerUrl')) {
    bad('issuerUrl', 'is required for type oidc (endpoints are discovered from it)');
  }
  if (type !== 'oidc' && text('issuerUrl') !== undefined) bad('issuerUrl', 'is only used with type oidc');
  if (issues.length > before || !clientId || !params) return undefined;

  const id = idText ?? type;
  const revokeUrl = (urls.revokeUrl ?? defaults.endpoints.revokeUrl)?.replaceAll(
    '{client_id}',
    encodeURIComponent(clientId),
  );
  const list = (field: ExternalAuthField) =>
    text(field)
      ?.split(/[\s,]+/)
      .filter((s) => s !== '');
  return {
    id,
    type,
    displayName: text('displayName') ?? (defaults.displayName || id),
    icon: text('icon') ?? '',
    clientId,
    clientSecret: text('clientSecret') ?? '',
    authUrl: urls.authUrl ?? defaults.endpoints.authUrl ?? '',
    tokenUrl: urls.tokenUrl ?? defaults.endpoints.tokenUrl ?? '',
    validateUrl: urls.validateUrl ?? defaults.endpoints.validateUrl,
    revokeUrl,
    apiBaseUrl: (urls.apiBaseUrl ?? defaults.endpoints.apiBaseUrl)?.replace(/\/+$/, ''),
    revokeStyle: revokeStyleFor(type, revokeUrl),
    scopes: list('scopes') ?? [...defaults.scopes],
    extraTokenKeys: list('extraTokenKeys') ?? [...defaults.extraTokenKeys],
    deviceFlow,
    deviceCodeUrl,
    pkce: pkce ?? defaults.pkce,
    authUrlParams: { ...defaults.authUrlParams, ...params },
    regex: regex ?? (defaults.regex === undefined ? undefined : new RegExp(defaults.regex)),
    noRefresh,
    issuerUrl: urls.issuerUrl,
  };
}

function parseBool(field: ExternalAuthField, text: string | undefined, bad: Report): boolean {
  if (text === undefined) return false;
  const result = boolean.safeParse(text);
  if (!result.success) bad(field, 'expected true or false');
  return result.data ?? false;
}

/** PKCE_METHODS as "use PKCE"; undefined leaves it to the type. */
function parsePkce(text: string | undefined, bad: Report): boolean | undefined {
  const value = text?.toLowerCase();
  if (value === undefined) return undefined;
  if (value === 's256' || value === 'none') return value === 's256';
  bad(
    'pkceMethods',
    value === 'plain' ? 'plain is refused (it protects nothing); use S256 or none' : 'expected S256 or none',
  );
  return undefined;
}

function parseRegex(text: string | undefined, bad: Report): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch (err) {
    bad('regex', (err as Error).message);
    return undefined;
  }
}

function urlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected an absolute URL such as https://example.com/oauth/authorize';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (url.hash) return 'must not have a fragment';
  return undefined;
}

/** AUTH_URL_PARAMS; undefined when invalid (and reported). */
function parseParams(text: string | undefined, bad: Report): Record<string, string> | undefined {
  if (text === undefined) return {};
  const value = parseJson(text);
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject || !Object.values(value).every((v) => typeof v === 'string')) {
    bad('authUrlParams', 'expected a JSON object of strings, e.g. {"audience":"https://api.example.com"}');
    return undefined;
  }
  const reserved = Object.keys(value).filter((k) => RESERVED_PARAMS.includes(k));
  if (reserved.length > 0) {
    bad('authUrlParams', `must not set ${reserved.join(', ')}: Latchkey sets these itself`);
    return undefined;
  }
  return value as Record<string, string>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
