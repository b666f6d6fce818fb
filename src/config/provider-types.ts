// What each provider type fills in when an operator leaves a field unset. The endpoints are
// the providers' documented ones; the choices that are not obvious say why next to them.

/** The upstream kinds Latchkey knows defaults for; `oauth2` and `oidc` are the generic ones. */
export const PROVIDER_TYPES = [
  'github',
  'gitlab',
  'bitbucket',
  'azure-devops',
  'gitea',
  'slack',
  'jira',
  'oauth2',
  'oidc',
] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/**
 * How an upstream token is revoked on unlink: `github` is `DELETE {revokeUrl}` with Basic
 * client auth and the body `{"access_token": …}` (GitHub's application-token API); `rfc7009`
 * is a form POST of `token=…` with the client credentials; `none` means no revocation.
 */
export const REVOKE_STYLES = ['github', 'rfc7009', 'none'] as const;
export type RevokeStyle = (typeof REVOKE_STYLES)[number];

/**
 * GitHub (and GitHub Enterprise Server) has its own revocation API; everything else speaks
 * RFC 7009. Without a revoke URL there is nothing to call, except for oidc, where discovery
 * may still supply a `revocation_endpoint`.
 */
export function revokeStyleFor(type: ProviderType, revokeUrl: string | undefined): RevokeStyle {
  if (type === 'github') return revokeUrl ? 'github' : 'none';
  return revokeUrl || type === 'oidc' ? 'rfc7009' : 'none';
}

export interface Endpoints {
  readonly authUrl?: string;
  readonly tokenUrl?: string;
  readonly validateUrl?: string;
  /** May contain `{client_id}`, replaced by the provider's client id. */
  readonly revokeUrl?: string;
  readonly apiBaseUrl?: string;
  readonly deviceCodeUrl?: string;
}

interface TypeSpec {
  readonly displayName: string;
  /** The hosted service. */
  readonly endpoints: Endpoints;
  /** Host (and path) serving git repositories; the default REGEX matches URLs under it. */
  readonly gitHost?: string;
  /**
   * For products that also run self-hosted: the path of the authorize endpoint, and every
   * other endpoint relative to the instance's base URL (the auth URL without that path, so an
   * instance under a sub-path such as https://example.com/gitlab works).
   */
  readonly selfHosted?: { readonly authPath: string; readonly paths: Omit<Endpoints, 'authUrl'> };
  readonly scopes: readonly string[];
  readonly extraTokenKeys?: readonly string[];
  readonly pkce: boolean;
  readonly authUrlParams?: Readonly<Record<string, string>>;
}

const SPECS: Record<ProviderType, TypeSpec> = {
  github: {
    displayName: 'GitHub',
    endpoints: {
      authUrl: 'https://github.com/login/oauth/authorize',
      tokenUrl: 'https://github.com/login/oauth/access_token',
      validateUrl: 'https://api.github.com/user',
      revokeUrl: 'https://api.github.com/applications/{client_id}/token',
      apiBaseUrl: 'https://api.github.com',
      deviceCodeUrl: 'https://github.com/login/device/code',
    },
    gitHost: 'github.com',
    // GitHub Enterprise Server: the same OAuth paths on the instance, the API under /api/v3.
    selfHosted: {
      authPath: '/login/oauth/authorize',
      paths: {
        tokenUrl: '/login/oauth/access_token',
        validateUrl: '/api/v3/user',
        revokeUrl: '/api/v3/applications/{client_id}/token',
        apiBaseUrl: '/api/v3',
        deviceCodeUrl: '/login/device/code',
      },
    },
    // An OAuth App token without `repo` cannot clone or push a private repository, which is
    // what agents mostly need it for; `workflow` lets them push changes to .github/workflows.
    // GitHub Apps ignore requested scopes (their permissions are set on the app), so these
    // cost nothing there.
    scopes: ['repo', 'workflow'],
    pkce: true,
  },
  gitlab: {
    displayName: 'GitLab',
    endpoints: {
      authUrl: 'https://gitlab.com/oauth/authorize',
      tokenUrl: 'https://gitlab.com/oauth/token',
      validateUrl: 'https://gitlab.com/api/v4/user',
      revokeUrl: 'https://gitlab.com/oauth/revoke',
      apiBaseUrl: 'https://gitlab.com/api/v4',
      deviceCodeUrl: 'https://gitlab.com/oauth/authorize_device',
    },
    gitHost: 'gitlab.com',
    selfHosted: {
      authPath: '/oauth/authorize',
      paths: {
        tokenUrl: '/oauth/token',
        validateUrl: '/api/v4/user',
        revokeUrl: '/oauth/revoke',
        apiBaseUrl: '/api/v4',
        deviceCodeUrl: '/oauth/authorize_device',
      },
    },
    // /api/v4/user (the validate URL) answers 403 insufficient_scope without read_user, which
    // validation would take for a dead token.
    scopes: ['write_repository', 'read_user'],
    pkce: true,
  },
  bitbucket: {
    displayName: 'Bitbucket',
    endpoints: {
      authUrl: 'https://bitbucket.org/site/oauth2/authorize',
      tokenUrl: 'https://bitbucket.org/site/oauth2/access_token',
      validateUrl: 'https://api.bitbucket.org/2.0/user',
      apiBaseUrl: 'https://api.bitbucket.org/2.0',
    },
    gitHost: 'bitbucket.org',
    // `account` is what /2.0/user (the validate URL) needs.
    scopes: ['account', 'repository:write'],
    pkce: true,
  },
  'azure-devops': {
    displayName: 'Azure DevOps',
    // Azure DevOps OAuth: the app's registered scopes must be requested exactly, so no
    // validate URL is set (the profile API would need vso.profile). Its token endpoint takes
    // a JWT-bearer assertion instead of a code, and PKCE is not part of that flow.
    endpoints: {
      authUrl: 'https://app.vssps.visualstudio.com/oauth2/authorize',
      tokenUrl: 'https://app.vssps.visualstudio.com/oauth2/token',
    },
    gitHost: 'dev.azure.com',
    scopes: ['vso.code_write'],
    pkce: false,
  },
  gitea: {
    displayName: 'Gitea',
    endpoints: {
      authUrl: 'https://gitea.com/login/oauth/authorize',
      tokenUrl: 'https://gitea.com/login/oauth/access_token',
      validateUrl: 'https://gitea.com/api/v1/user',
      apiBaseUrl: 'https://gitea.com/api/v1',
    },
    gitHost: 'gitea.com',
    selfHosted: {
      authPath: '/login/oauth/authorize',
      paths: { tokenUrl: '/login/oauth/access_token', validateUrl: '/api/v1/user', apiBaseUrl: '/api/v1' },
    },
    scopes: ['read:repository', 'write:repository', 'read:user'],
    pkce: true,
  },
  slack: {
    displayName: 'Slack',
    // No validate URL: auth.test answers 200 with {"ok": false} for a dead token, so a
    // status-based check cannot tell. auth.revoke takes the token as a form field like RFC 7009.
    endpoints: {
      authUrl: 'https://slack.com/oauth/v2/authorize',
      tokenUrl: 'https://slack.com/api/oauth.v2.access',
      revokeUrl: 'https://slack.com/api/auth.revoke',
      apiBaseUrl: 'https://slack.com/api',
    },
    scopes: [],
    // The user token (as opposed to the bot token) comes inside `authed_user`.
    extraTokenKeys: ['authed_user'],
    pkce: true,
  },
  jira: {
    displayName: 'Jira',
    // Atlassian 3LO: `audience` and `prompt=consent` are required on the authorize URL;
    // refresh tokens are only issued with offline_access. accessible-resources works with
    // any token, unlike /me which needs read:me.
    endpoints: {
      authUrl: 'https://auth.atlassian.com/authorize',
      tokenUrl: 'https://auth.atlassian.com/oauth/token',
      validateUrl: 'https://api.atlassian.com/oauth/token/accessible-resources',
      apiBaseUrl: 'https://api.atlassian.com',
    },
    scopes: ['read:jira-work', 'offline_access'],
    pkce: true,
    authUrlParams: { audience: 'api.atlassian.com', prompt: 'consent' },
  },
  oauth2: { displayName: '', endpoints: {}, scopes: [], pkce: true },
  // Endpoints come from discovery at ISSUER_URL (revocation_endpoint included). offline_access
  // asks for a refresh token; Google refuses it (set SCOPES and access_type=offline there).
  oidc: {
    displayName: '',
    endpoints: {},
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    pkce: true,
  },
};

/** Defaults for one provider, after deciding whether its auth URL names a self-hosted instance. */
export interface TypeDefaults {
  /** Empty for oauth2/oidc: the id is shown instead. */
  readonly displayName: string;
  readonly endpoints: Endpoints;
  /** Source of the default REGEX, if the type serves git repositories. */
  readonly regex: string | undefined;
  readonly scopes: readonly string[];
  readonly extraTokenKeys: readonly string[];
  readonly pkce: boolean;
  readonly authUrlParams: Readonly<Record<string, string>>;
  /** True when endpoints were derived from a self-hosted instance's auth URL. */
  readonly selfHosted: boolean;
}

/**
 * Defaults for `type`. When `authUrl` is on another host than the hosted service and the
 * type also runs self-hosted (GitHub Enterprise Server, GitLab, Gitea), the other endpoints
 * and the REGEX are derived from the instance's base URL instead.
 */
export function typeDefaults(type: ProviderType, authUrl: URL | undefined): TypeDefaults {
  const spec = SPECS[type];
  const common = {
    displayName: spec.displayName,
    scopes: spec.scopes,
    extraTokenKeys: spec.extraTokenKeys ?? [],
    pkce: spec.pkce,
    authUrlParams: spec.authUrlParams ?? {},
  };
  const cloudHost = spec.endpoints.authUrl ? new URL(spec.endpoints.authUrl).host : undefined;
  if (spec.selfHosted && authUrl && authUrl.host !== cloudHost) {
    const { authPath, paths } = spec.selfHosted;
    const prefix = authUrl.pathname.endsWith(authPath) ? authUrl.pathname.slice(0, -authPath.length) : '';
    const base = `${authUrl.origin}${prefix}`;
    const endpoints = Object.fromEntries(
      Object.entries(paths).map(([key, path]) => [key, `${base}${path}`]),
    ) as Endpoints;
    return { ...common, endpoints, regex: hostRegex(`${authUrl.host}${prefix}`), selfHosted: true };
  }
  return {
    ...common,
    endpoints: spec.endpoints,
    regex: spec.gitHost ? hostRegex(spec.gitHost) : undefined,
    selfHosted: false,
  };
}

/** Repository URLs on `host` (optionally with a path), with or without a scheme. */
function hostRegex(host: string): string {
  return `^(https?://)?${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/.*)?$`;
}

/** One row per type for the generated docs. */
export function describeTypes(): Array<{ type: ProviderType; spec: TypeDefaults; selfHosted: boolean }> {
  return PROVIDER_TYPES.map((type) => ({
    type,
    spec: typeDefaults(type, undefined),
    selfHosted: SPECS[type].selfHosted !== undefined,
  }));
}
