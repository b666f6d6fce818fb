import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.ts';
import { encryptionKeyList } from './encryption-keys.ts';
import type { ExternalAuthProviderConfig } from './external-auth.ts';

// Every setting Latchkey reads is declared once here. The env var, the CLI flag, the
// config-file key, the docs and the typed Config all derive from this list, so they cannot
// drift apart. Each parser takes the text an operator typed (env and flags are text; file
// values are turned into text first) and returns the typed value or an issue.

export type OptionGroup = 'server' | 'database' | 'auth' | 'ratelimit' | 'observability';

export interface OptionDef<T> {
  /** Property name on the parsed Config, camelCase. */
  readonly key: string;
  /** Environment variable; derived as LATCHKEY_<KEY> unless a standard name exists. */
  readonly env: string;
  readonly group: OptionGroup;
  readonly description: string;
  /** Placeholder shown in --help, e.g. <address>. */
  readonly valueName: string;
  /** Default as an operator would type it; undefined means "unset". */
  readonly default: string | undefined;
  readonly schema: z.ZodType<T, string>;
  /** Secrets are never echoed back in error messages or docs. */
  readonly secret?: boolean;
}

const address = z.string().transform((text, ctx) => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'expected host:port, for example 127.0.0.1:3000 or [::1]:3000' });
    return z.NEVER;
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
});

const httpUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an absolute URL such as https://auth.example.com' });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'expected an http:// or https:// URL' });
    return z.NEVER;
  }
  if (url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must not have a query string or fragment' });
    return z.NEVER;
  }
  // Normalised without a trailing slash so `${accessUrl}/path` is always right.
  return url.href.replace(/\/$/, '');
});

const postgresUrl = z.string().transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a URL such as postgres://user:password@host:5432/db' });
    return z.NEVER;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    ctx.addIssue({ code: 'custom', message: 'expected a postgres:// or postgresql:// URL' });
    return z.NEVER;
  }
  return text;
});

const duration = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 30s, 2m or 1h30m' });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be between ${formatDuration(min)} and ${formatDuration(max)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\s*-?\d+\s*$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const boolean = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false' });
  return z.NEVER;
});

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((text) => text.trim().toLowerCase())
    .pipe(z.enum(values, { error: `expected one of: ${values.join(', ')}` }));

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function option<T, D extends string | undefined>(
  def: Omit<OptionDef<T>, 'env' | 'default'> & { env?: string; default: D },
): OptionDef<T> & { default: D } {
  const env = def.env ?? `LATCHKEY_${def.key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
  return { ...def, env };
}

export const OPTIONS = {
  httpAddress: option({
    key: 'httpAddress',
    group: 'server',
    description: 'Address the HTTP server listens on.',
    valueName: 'host:port',
    default: '127.0.0.1:3000',
    schema: address,
  }),
  accessUrl: option({
    key: 'accessUrl',
    group: 'server',
    description:
      'Public URL users and clients reach Latchkey at; used for redirects, cookies and token audiences.',
    valueName: 'url',
    default: 'http://127.0.0.1:3000',
    schema: httpUrl,
  }),
  trustProxy: option({
    key: 'trustProxy',
    group: 'server',
    description:
      'Proxies (load balancers) whose X-Forwarded-For is believed, comma-separated: addresses, CIDR ranges, or loopback, linklocal, uniquelocal; false believes none. Rate limits and logs then use the client address the nearest untrusted hop reports.',
    valueName: 'addresses',
    default: 'false',
    // fastify's trustProxy (proxy-addr) takes the same list. `true` (believe anyone) is
    // refused: any client could then pick its own address and so its own rate-limit bucket.
    schema: z.string().transform((text, ctx): false | string[] => {
      if (text.trim().toLowerCase() === 'false') return false;
      const entries = text.split(',').map((e) => e.trim());
      for (const entry of entries) {
        if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
        if (entry.toLowerCase() === 'true') {
          ctx.addIssue({
            code: 'custom',
            message: 'true would believe anyone: any client could choose its address; list the proxies',
          });
        } else if (!z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]).safeParse(entry).success) {
          ctx.addIssue({
            code: 'custom',
            message: `"${entry}" is not an IP address or CIDR range (such as 10.0.0.0/8), loopback, linklocal or uniquelocal`,
          });
        } else if (entry.endsWith('/0')) {
          ctx.addIssue({
            code: 'custom',
            message: `"${entry}" trusts every address: any client could choose the address it is limited by`,
          });
        }
      }
      return entries;
    }),
  }),
  shutdownTimeout: option({
    key: 'shutdownTimeout',
    group: 'server',
    description: 'How long a stopping server waits for in-flight requests before closing them.',
    valueName: 'duration',
    default: '15s',
    schema: duration(0, 600_000),
  }),
  databaseUrl: option({
    key: 'databaseUrl',
    env: 'DATABASE_URL',
    group: 'database',
    description:
      'PostgreSQL (14+) connection URL. When unset, an embedded PostgreSQL runs in the data directory.',
    valueName: 'url',
    default: undefined,
    schema: postgresUrl,
    secret: true,
  }),
  dataDir: option({
    key: 'dataDir',
    group: 'database',
    description: 'Directory for the embedded PostgreSQL data and its generated password.',
    valueName: 'path',
    default: './.latchkey',
    schema: z.string().min(1, 'must not be empty'),
  }),
  dbPoolMax: option({
    key: 'dbPoolMax',
    group: 'database',
    description: 'Most connections this process opens to PostgreSQL.',
    valueName: 'count',
    default: '10',
    schema: integer(1, 1000),
  }),
  dbConnectTimeout: option({
    key: 'dbConnectTimeout',
    group: 'database',
    description: 'How long start-up keeps retrying an unreachable database before giving up.',
    valueName: 'duration',
    default: '30s',
    schema: duration(0, 3_600_000),
  }),
  dbPreparedStatements: option({
    key: 'dbPreparedStatements',
    group: 'database',
    description:
      'Prepare frequent SQL statements once per connection. Turn off behind a connection pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21).',
    valueName: 'bool',
    default: 'true',
    schema: boolean,
  }),
  dbTxMaxAttempts: option({
    key: 'dbTxMaxAttempts',
    group: 'database',
    description: 'Attempts a transaction gets when PostgreSQL reports a serialization failure or deadlock.',
    valueName: 'count',
    default: '5',
    schema: integer(1, 50),
  }),
  sessionDuration: option({
    key: 'sessionDuration',
    group: 'auth',
    description: 'How long a browser session (password or OIDC login) lasts without use.',
    valueName: 'duration',
    default: '24h',
    schema: duration(60_000, 8_760 * 3_600_000),
  }),
  disableSessionExpiryRefresh: option({
    key: 'disableSessionExpiryRefresh',
    group: 'auth',
    description: 'Do not extend a session when it is used: sessions then end sessionDuration after login.',
    valueName: 'bool',
    default: 'false',
    schema: boolean,
  }),
  defaultTokenLifetime: option({
    key: 'defaultTokenLifetime',
    group: 'auth',
    description: 'Lifetime of an API key created without lifetime_seconds.',
    valueName: 'duration',
    default: '720h',
    schema: duration(60_000, 87_600 * 3_600_000),
  }),
  maxTokenLifetime: option({
    key: 'maxTokenLifetime',
    group: 'auth',
    description: 'Longest lifetime an API key may ask for.',
    valueName: 'duration',
    default: '8760h',
    schema: duration(60_000, 87_600 * 3_600_000),
  }),
  allowAccessTokenQuery: option({
    key: 'allowAccessTokenQuery',
    group: 'auth',
    description:
      'Accept API keys in an access_token query parameter (off: URLs end up in logs and browser history).',
    valueName: 'bool',
    default: 'false',
    schema: boolean,
  }),
  rateLimitApi: option({
    key: 'rateLimitApi',
    group: 'ratelimit',
    description: 'Requests per minute per user (or per IP when anonymous) per route; 0 disables.',
    valueName: 'count',
    default: '512',
    schema: integer(0, 1_000_000),
  }),
  rateLimitStore: option({
    key: 'rateLimitStore',
    group: 'ratelimit',
    description: 'Where rate-limit counters live: memory (one replica), postgres or redis (many replicas).',
    valueName: 'store',
    default: 'memory',
    schema: oneOf(['memory', 'postgres', 'redis'] as const),
  }),
  redisUrl: option({
    key: 'redisUrl',
    env: 'REDIS_URL',
    group: 'ratelimit',
    description: 'Redis for rate-limit counters when LATCHKEY_RATE_LIMIT_STORE=redis.',
    valueName: 'url',
    default: undefined,
    schema: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }),
    secret: true,
  }),
  rateLimitKeyPrefix: option({
    key: 'rateLimitKeyPrefix',
    group: 'ratelimit',
    description:
      'Prefix of rate-limit counter keys in Redis or PostgreSQL; deployments sharing one Redis need different prefixes.',
    valueName: 'prefix',
    default: 'latchkey',
    schema: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'expected 1 to 64 letters, digits, or . _ : -'),
  }),
  rateLimitPerToken: option({
    key: 'rateLimitPerToken',
    group: 'ratelimit',
    description:
      'Requests per minute per token (Bearer or X-Api-Key) across all proxy-style routes; 0 disables.',
    valueName: 'count',
    default: '512',
    schema: integer(0, 1_000_000),
  }),
  proxyConcurrency: option({
    key: 'proxyConcurrency',
    group: 'ratelimit',
    description:
      'Proxy-style requests in flight at once on this replica; more are answered 503 "at capacity". 0 disables.',
    valueName: 'count',
    default: '256',
    schema: integer(0, 1_000_000),
  }),
  rateLimitOauth2Register: option({
    key: 'rateLimitOauth2Register',
    group: 'ratelimit',
    description:
      'OAuth dynamic client registrations (POST /oauth2/register) per minute per client address; 0 disables.',
    valueName: 'count',
    default: '20',
    schema: integer(0, 1_000_000),
  }),
  rateLimitOauth2RegisterPerClient: option({
    key: 'rateLimitOauth2RegisterPerClient',
    group: 'ratelimit',
    description:
      'Requests per minute to manage one registration (GET, PUT, DELETE /oauth2/register/{client_id}) per client address; 0 disables.',
    valueName: 'count',
    default: '60',
    schema: integer(0, 1_000_000),
  }),
  rateLimitOauth2Token: option({
    key: 'rateLimitOauth2Token',
    group: 'ratelimit',
    description:
      'Token requests (POST /oauth2/token) per minute per client address, instead of LATCHKEY_RATE_LIMIT_API; 0 disables.',
    valueName: 'count',
    default: '600',
    schema: integer(0, 1_000_000),
  }),
  rateLimitOauth2TokenPerClient: option({
    key: 'rateLimitOauth2TokenPerClient',
    group: 'ratelimit',
    description:
      'Token requests per minute per OAuth client per client address (client_id from the body or Basic credentials); an address cannot use up the budget of a client at other addresses. 0 disables.',
    valueName: 'count',
    default: '300',
    schema: integer(0, 1_000_000),
  }),
  rateLimitOauth2Authorize: option({
    key: 'rateLimitOauth2Authorize',
    group: 'ratelimit',
    description:
      'Authorization requests (GET and POST /oauth2/authorize) per minute per signed-in user, else per client address, instead of LATCHKEY_RATE_LIMIT_API; 0 disables.',
    valueName: 'count',
    default: '120',
    schema: integer(0, 1_000_000),
  }),
  rateLimitOauth2AuthorizePerClient: option({
    key: 'rateLimitOauth2AuthorizePerClient',
    group: 'ratelimit',
    description:
      'Authorization requests per minute per OAuth client per user (else address): stops one client looping through /oauth2/authorize without blocking the others. 0 disables.',
    valueName: 'count',
    default: '60',
    schema: integer(0, 1_000_000),
  }),
  oauth2AllowPrivateClientMetadata: option({
    key: 'oauth2AllowPrivateClientMetadata',
    group: 'auth',
    description:
      'Fetch OAuth client ID metadata documents from http URLs and private, loopback or link-local addresses. For tests and labs only: it lets anyone who can start a sign-in make Latchkey call your internal network.',
    valueName: 'bool',
    default: 'false',
    schema: boolean,
  }),
  oauth2AccessTokenLifetime: option({
    key: 'oauth2AccessTokenLifetime',
    group: 'auth',
    description: 'Lifetime of an access token issued by the OAuth2 token endpoint.',
    valueName: 'duration',
    default: '1h',
    schema: duration(60_000, 86_400_000),
  }),
  oauth2RefreshTokenLifetime: option({
    key: 'oauth2RefreshTokenLifetime',
    group: 'auth',
    description:
      'Lifetime of an OAuth2 refresh token; each refresh issues a new one with a fresh lifetime (unused for this long, a grant ends).',
    valueName: 'duration',
    default: '720h',
    schema: duration(60_000, 87_600 * 3_600_000),
  }),
  oauth2RefreshGrace: option({
    key: 'oauth2RefreshGrace',
    group: 'auth',
    description:
      'How long a just-rotated OAuth2 refresh token may be presented again and get the same successor (clients racing their own refreshes); 0 is strict: any reuse revokes the grant.',
    valueName: 'duration',
    default: '30s',
    schema: duration(0, 300_000),
  }),
  oauth2JwtResources: option({
    key: 'oauth2JwtResources',
    group: 'auth',
    description:
      'Resources (audiences) whose OAuth2 access tokens are RFC 9068 JWTs, comma-separated URLs (a token for a URL within one of them is a JWT too), or * for every token. Others get opaque tokens. Resource servers verify JWTs with the keys at /.well-known/jwks.json.',
    valueName: 'urls',
    default: '',
    schema: z.string().transform((text, ctx): '*' | string[] => {
      const entries = text
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      if (entries.length === 1 && entries[0] === '*') return '*';
      for (const entry of entries) {
        if (!URL.canParse(entry) || !/^https?:$/.test(new URL(entry).protocol)) {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not an http(s) URL (or use * alone)` });
        }
      }
      return entries;
    }),
  }),
  oauth2JwtAlgorithm: option({
    key: 'oauth2JwtAlgorithm',
    group: 'auth',
    description:
      'Signature algorithm of JWT access tokens: ES256 (P-256, the most widely supported) or EdDSA (Ed25519). Changing it rolls to a new signing key.',
    valueName: 'alg',
    default: 'ES256',
    // JOSE algorithm names are case-sensitive; accept any case, keep the registered spelling.
    schema: z.string().transform((text, ctx): 'ES256' | 'EdDSA' => {
      const alg = ({ es256: 'ES256', eddsa: 'EdDSA' } as const)[
        text.trim().toLowerCase() as 'es256' | 'eddsa'
      ];
      if (alg) return alg;
      ctx.addIssue({ code: 'custom', message: 'expected one of: ES256, EdDSA' });
      return z.NEVER;
    }),
  }),
  oauth2SigningKeyRotation: option({
    key: 'oauth2SigningKeyRotation',
    group: 'auth',
    description:
      'How long one key signs JWT access tokens before the next takes over. Each key is published a day (at most half this period) before it signs, and stays published until the last token it signed has expired.',
    valueName: 'duration',
    default: '720h',
    schema: duration(3_600_000, 8_760 * 3_600_000),
  }),
  externalAuthRefreshAhead: option({
    key: 'externalAuthRefreshAhead',
    group: 'auth',
    description:
      "Refresh an upstream token this long before it expires (capped at half the token's lifetime, so short-lived tokens are not refreshed on every call).",
    valueName: 'duration',
    default: '2m',
    schema: duration(0, 86_400_000),
  }),
  oidcIssuerUrl: option({
    key: 'oidcIssuerUrl',
    group: 'auth',
    description:
      'OpenID Connect issuer users may sign in with (discovery at <issuer>/.well-known/openid-configuration). Unset: no OIDC sign-in.',
    valueName: 'url',
    default: undefined,
    schema: httpUrl,
  }),
  oidcClientId: option({
    key: 'oidcClientId',
    group: 'auth',
    description:
      'Client id Latchkey has at the OIDC issuer; its redirect URI is <access url>/login/oidc/callback.',
    valueName: 'id',
    default: undefined,
    schema: z.string().min(1, 'must not be empty'),
  }),
  oidcClientSecret: option({
    key: 'oidcClientSecret',
    group: 'auth',
    description: 'Client secret at the OIDC issuer (empty for a public client, which then relies on PKCE).',
    valueName: 'secret',
    default: undefined,
    schema: z.string(),
    secret: true,
  }),
  oidcScopes: option({
    key: 'oidcScopes',
    group: 'auth',
    description:
      "Scopes asked for at sign-in, comma or space separated. Add offline_access (or your provider's equivalent) to get a refresh token.",
    valueName: 'scopes',
    default: 'openid,profile,email',
    schema: z.string().transform((text) => text.split(/[\s,]+/).filter((s) => s !== '')),
  }),
  oidcUsernameClaim: option({
    key: 'oidcUsernameClaim',
    group: 'auth',
    description: 'ID-token claim that becomes the username of a user created at first sign-in.',
    valueName: 'claim',
    default: 'preferred_username',
    schema: z.string().min(1, 'must not be empty'),
  }),
  oidcEmailClaim: option({
    key: 'oidcEmailClaim',
    group: 'auth',
    description:
      'ID-token claim holding the email address; only a verified address (email_verified) is trusted to match an existing user.',
    valueName: 'claim',
    default: 'email',
    schema: z.string().min(1, 'must not be empty'),
  }),
  oidcAllowSignups: option({
    key: 'oidcAllowSignups',
    group: 'auth',
    description:
      'Create a user at their first OIDC sign-in; when false, only existing users may sign in with OIDC.',
    valueName: 'bool',
    default: 'true',
    schema: boolean,
  }),
  oidcAuthUrlParams: option({
    key: 'oidcAuthUrlParams',
    group: 'auth',
    description:
      'Extra query parameters for the OIDC authorize URL, as a JSON object of strings — e.g. {"access_type":"offline","prompt":"consent"} for Google refresh tokens.',
    valueName: 'json',
    default: '{}',
    schema: z.string().transform((text, ctx) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const ok =
        parsed !== null &&
        typeof parsed === 'object' &&
        !Array.isArray(parsed) &&
        Object.values(parsed as object).every((v) => typeof v === 'string');
      if (!ok) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a JSON object of strings, such as {"prompt":"consent"}',
        });
        return z.NEVER;
      }
      // The protocol's own parameters are Latchkey's; letting config replace them would break the flow.
      const reserved = [
        'client_id',
        'redirect_uri',
        'state',
        'nonce',
        'scope',
        'response_type',
        'code_challenge',
        'code_challenge_method',
      ];
      const clash = Object.keys(parsed as object).find((k) => reserved.includes(k));
      if (clash !== undefined) {
        ctx.addIssue({ code: 'custom', message: `must not set "${clash}": Latchkey sets it` });
        return z.NEVER;
      }
      return parsed as Record<string, string>;
    }),
  }),
  oidcSignInText: option({
    key: 'oidcSignInText',
    group: 'auth',
    description: 'Label of the sign-in button on the login page.',
    valueName: 'text',
    default: 'Sign in with OpenID Connect',
    schema: z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  }),
  externalTokenEncryptionKeys: option({
    key: 'externalTokenEncryptionKeys',
    group: 'database',
    description:
      'Comma-separated base64 32-byte keys that encrypt upstream tokens at rest (AES-256-GCM). The first encrypts; all decrypt. Unset: tokens are stored as they are. See docs/encryption.md.',
    valueName: 'keys',
    default: undefined,
    schema: encryptionKeyList,
    secret: true,
  }),
  dbQueryMetrics: option({
    key: 'dbQueryMetrics',
    group: 'observability',
    description: 'Record a latency histogram for every SQL query (costs a little per query).',
    valueName: 'bool',
    default: 'false',
    schema: boolean,
  }),
  logLevel: option({
    key: 'logLevel',
    group: 'observability',
    description: `Log level: ${LOG_LEVELS.join(', ')}.`,
    valueName: 'level',
    default: 'info',
    schema: oneOf(LOG_LEVELS),
  }),
} as const;

export type OptionKey = keyof typeof OPTIONS;
type OptionValue<K extends OptionKey> = (typeof OPTIONS)[K] extends OptionDef<infer T> ? T : never;
type HasDefault<K extends OptionKey> = (typeof OPTIONS)[K]['default'] extends string ? K : never;

/** The typed configuration every part of Latchkey receives. */
export type Config = { [K in OptionKey as HasDefault<K>]: OptionValue<K> } & {
  [K in Exclude<OptionKey, HasDefault<OptionKey>>]?: OptionValue<K>;
} & {
  /** Upstream providers users can link; a list, so it has its own parser (external-auth.ts). */
  externalAuth: readonly ExternalAuthProviderConfig[];
};

export const OPTION_LIST: readonly OptionDef<unknown>[] = Object.values(OPTIONS);

/** `httpAddress` → `--http-address`; the config file uses the same name without dashes. */
export function flagName(def: Pick<OptionDef<unknown>, 'key'>): string {
  return def.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Rules between options, checked after each is parsed; each names the option to fix. */
export const CROSS_CHECKS: ReadonlyArray<(c: Config) => { key: OptionKey; message: string } | undefined> = [
  (c) =>
    c.rateLimitStore === 'redis' && c.redisUrl === undefined
      ? { key: 'rateLimitStore', message: 'is redis, but REDIS_URL is not set' }
      : undefined,
  (c) =>
    c.oidcIssuerUrl !== undefined && c.oidcClientId === undefined
      ? { key: 'oidcClientId', message: 'is required when LATCHKEY_OIDC_ISSUER_URL is set' }
      : undefined,
  (c) =>
    c.defaultTokenLifetime > c.maxTokenLifetime
      ? { key: 'defaultTokenLifetime', message: 'is longer than LATCHKEY_MAX_TOKEN_LIFETIME' }
      : undefined,
];
