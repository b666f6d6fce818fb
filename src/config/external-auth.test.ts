import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ExternalAuthField, externalAuthEnv, parseExternalAuth } from './external-auth.ts';
import { ConfigError, type ConfigSources, loadConfig } from './load.ts';
import { PROVIDER_TYPES } from './provider-types.ts';

type Fields = Partial<Record<ExternalAuthField, string>>;

function providers(...groups: Fields[]) {
  return loadConfig({ env: envOf(...groups) }).externalAuth;
}

function envOf(...groups: Fields[]): Record<string, string> {
  return Object.assign({}, ...groups.map((fields, n) => externalAuthEnv(n, fields)));
}

function issuesOf(sources: ConfigSources): string[] {
  try {
    loadConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.source}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const issuesFor = (...groups: Fields[]) => issuesOf({ env: envOf(...groups) });

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'latchkey-external-auth-')), name);
  writeFileSync(path, text);
  return path;
}

describe('external auth defaults per type', () => {
  it('has no providers unless some are configured', () => {
    expect(loadConfig({ env: {} }).externalAuth).toEqual([]);
  });

  it('fills in github.com, revoking through the application-token API', () => {
    const [github] = providers({ type: 'github', clientId: 'Iv1.abc/def', clientSecret: 's3cret' });
    expect(github).toEqual({
      id: 'github',
      type: 'github',
      displayName: 'GitHub',
      icon: '',
      clientId: 'Iv1.abc/def',
      clientSecret: 's3cret',
      authUrl: 'https://github.com/login/oauth/authorize',
      tokenUrl: 'https://github.com/login/oauth/access_token',
      validateUrl: 'https://api.github.com/user',
      revokeUrl: 'https://api.github.com/applications/Iv1.abc%2Fdef/token',
      apiBaseUrl: 'https://api.github.com',
      revokeStyle: 'github',
      scopes: ['repo', 'workflow'],
      extraTokenKeys: [],
      deviceFlow: false,
      deviceCodeUrl: 'https://github.com/login/device/code',
      pkce: true,
      authUrlParams: {},
      regex: expect.any(RegExp),
      noRefresh: false,
      issuerUrl: undefined,
    });
  });

  it('matches only github.com repository URLs by default', () => {
    const regex = providers({ type: 'github', clientId: 'c' })[0]?.regex as RegExp;
    expect(regex.test('https://github.com/acme/app.git')).toBe(true);
    expect(regex.test('github.com/acme/app')).toBe(true);
    expect(regex.test('https://github.com')).toBe(true);
    expect(regex.test('https://github.com.evil.example/acme/app')).toBe(false);
    expect(regex.test('https://gitlab.com/acme/app')).toBe(false);
  });

  it('fills in gitlab.com with RFC 7009 revocation and a scope that lets validation read the user', () => {
    expect(providers({ type: 'gitlab', clientId: 'c' })[0]).toMatchObject({
      id: 'gitlab',
      displayName: 'GitLab',
      authUrl: 'https://gitlab.com/oauth/authorize',
      tokenUrl: 'https://gitlab.com/oauth/token',
      validateUrl: 'https://gitlab.com/api/v4/user',
      revokeUrl: 'https://gitlab.com/oauth/revoke',
      revokeStyle: 'rfc7009',
      apiBaseUrl: 'https://gitlab.com/api/v4',
      deviceCodeUrl: 'https://gitlab.com/oauth/authorize_device',
      scopes: ['write_repository', 'read_user'],
      pkce: true,
    });
  });

  it('fills in the hosted Bitbucket, Azure DevOps, Gitea, Slack and Jira', () => {
    const [bitbucket, azure, gitea, slack, jira] = providers(
      { type: 'bitbucket', clientId: 'c' },
      { type: 'azure-devops', clientId: 'c' },
      { type: 'gitea', clientId: 'c' },
      { type: 'slack', clientId: 'c' },
      { type: 'jira', clientId: 'c' },
    );
    expect(bitbucket).toMatchObject({
      tokenUrl: 'https://bitbucket.org/site/oauth2/access_token',
      validateUrl: 'https://api.bitbucket.org/2.0/user',
      revokeUrl: undefined,
      revokeStyle: 'none',
      deviceCodeUrl: undefined,
    });
    expect(bitbucket?.regex?.test('https://bitbucket.org/acme/app.git')).toBe(true);
    expect(azure).toMatchObject({
      displayName: 'Azure DevOps',
      authUrl: 'https://app.vssps.visualstudio.com/oauth2/authorize',
      scopes: ['vso.code_write'],
      validateUrl: undefined,
      pkce: false,
    });
    expect(azure?.regex?.test('https://dev.azure.com/acme/project/_git/app')).toBe(true);
    expect(gitea).toMatchObject({
      authUrl: 'https://gitea.com/login/oauth/authorize',
      apiBaseUrl: 'https://gitea.com/api/v1',
      validateUrl: 'https://gitea.com/api/v1/user',
    });
    expect(slack).toMatchObject({
      tokenUrl: 'https://slack.com/api/oauth.v2.access',
      validateUrl: undefined,
      revokeStyle: 'rfc7009',
      extraTokenKeys: ['authed_user'],
      regex: undefined,
    });
    expect(jira).toMatchObject({
      authUrl: 'https://auth.atlassian.com/authorize',
      authUrlParams: { audience: 'api.atlassian.com', prompt: 'consent' },
      scopes: ['read:jira-work', 'offline_access'],
    });
  });

  it('takes every endpoint of a generic oauth2 provider from its configuration', () => {
    const [plain, revocable] = providers(
      {
        type: 'oauth2',
        id: 'acme',
        clientId: 'c',
        authUrl: 'https://id.acme.test/a',
        tokenUrl: 'https://id.acme.test/t',
      },
      {
        type: 'oauth2',
        id: 'acme-2',
        clientId: 'c',
        authUrl: 'https://id.acme.test/a?tenant=1',
        tokenUrl: 'https://id.acme.test/t',
        revokeUrl: 'https://id.acme.test/r',
      },
    );
    expect(plain).toMatchObject({
      displayName: 'acme',
      authUrl: 'https://id.acme.test/a',
      tokenUrl: 'https://id.acme.test/t',
      scopes: [],
      revokeStyle: 'none',
      regex: undefined,
      pkce: true,
    });
    expect(revocable).toMatchObject({ authUrl: 'https://id.acme.test/a?tenant=1', revokeStyle: 'rfc7009' });
  });

  it('leaves oidc endpoints to discovery from the issuer', () => {
    expect(
      providers({ type: 'oidc', clientId: 'c', issuerUrl: 'https://login.example.com/' })[0],
    ).toMatchObject({
      id: 'oidc',
      issuerUrl: 'https://login.example.com/',
      authUrl: '',
      tokenUrl: '',
      revokeUrl: undefined,
      revokeStyle: 'rfc7009',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
    });
  });

  it('knows every declared type', () => {
    for (const type of PROVIDER_TYPES) {
      const extra: Fields =
        type === 'oauth2'
          ? { authUrl: 'https://x.test/a', tokenUrl: 'https://x.test/t' }
          : type === 'oidc'
            ? { issuerUrl: 'https://x.test' }
            : {};
      const [provider] = providers({ type, clientId: 'c', ...extra });
      expect(provider?.type).toBe(type);
      expect(provider?.displayName).not.toBe('');
    }
  });
});

describe('self-hosted instances', () => {
  it('derives a self-hosted GitLab from its auth URL, sub-path and port included', () => {
    const [gitlab] = providers({
      type: 'gitlab',
      clientId: 'c',
      authUrl: 'https://git.corp.example:8443/gitlab/oauth/authorize',
    });
    expect(gitlab).toMatchObject({
      authUrl: 'https://git.corp.example:8443/gitlab/oauth/authorize',
      tokenUrl: 'https://git.corp.example:8443/gitlab/oauth/token',
      validateUrl: 'https://git.corp.example:8443/gitlab/api/v4/user',
      revokeUrl: 'https://git.corp.example:8443/gitlab/oauth/revoke',
      apiBaseUrl: 'https://git.corp.example:8443/gitlab/api/v4',
      deviceCodeUrl: 'https://git.corp.example:8443/gitlab/oauth/authorize_device',
      scopes: ['write_repository', 'read_user'],
    });
    const regex = gitlab?.regex as RegExp;
    expect(regex.test('https://git.corp.example:8443/gitlab/acme/app.git')).toBe(true);
    expect(regex.test('https://gitlab.com/acme/app.git')).toBe(false);
    expect(regex.test('https://gitXcorp.example:8443/gitlab/acme/app.git')).toBe(false);
  });

  it('lets explicit URLs win over derived ones', () => {
    const [gitlab] = providers({
      type: 'gitlab',
      clientId: 'c',
      authUrl: 'https://gitlab.corp.example/oauth/authorize',
      apiBaseUrl: 'https://api.corp.example/v4/',
      regex: '^https://mirror\\.corp\\.example/',
    });
    expect(gitlab?.tokenUrl).toBe('https://gitlab.corp.example/oauth/token');
    expect(gitlab?.apiBaseUrl).toBe('https://api.corp.example/v4');
    expect(gitlab?.regex?.source).toBe('^https:\\/\\/mirror\\.corp\\.example\\/');
  });

  it('keeps the hosted defaults when the auth URL is on the hosted service', () => {
    const [gitlab] = providers({
      type: 'gitlab',
      clientId: 'c',
      authUrl: 'https://gitlab.com/oauth/authorize',
    });
    expect(gitlab?.apiBaseUrl).toBe('https://gitlab.com/api/v4');
  });

  it('derives GitHub Enterprise Server, whose API lives under /api/v3', () => {
    const [ghes] = providers({
      type: 'github',
      clientId: 'c',
      authUrl: 'https://ghe.corp.example/login/oauth/authorize',
    });
    expect(ghes).toMatchObject({
      tokenUrl: 'https://ghe.corp.example/login/oauth/access_token',
      validateUrl: 'https://ghe.corp.example/api/v3/user',
      revokeUrl: 'https://ghe.corp.example/api/v3/applications/c/token',
      revokeStyle: 'github',
      apiBaseUrl: 'https://ghe.corp.example/api/v3',
      deviceCodeUrl: 'https://ghe.corp.example/login/device/code',
    });
    expect(ghes?.regex?.test('https://ghe.corp.example/acme/app')).toBe(true);
  });

  it('derives a self-hosted Gitea', () => {
    const [gitea] = providers({
      type: 'gitea',
      clientId: 'c',
      authUrl: 'http://gitea.lan:3000/login/oauth/authorize',
    });
    expect(gitea).toMatchObject({
      tokenUrl: 'http://gitea.lan:3000/login/oauth/access_token',
      apiBaseUrl: 'http://gitea.lan:3000/api/v1',
    });
    expect(gitea?.regex?.test('http://gitea.lan:3000/acme/app.git')).toBe(true);
  });
});

describe('configured fields', () => {
  it('parses lists, flags, parameters and names', () => {
    const [jira] = providers({
      type: 'jira',
      id: 'atlassian-2',
      clientId: 'c',
      scopes: 'read:jira-work, write:jira-work  offline_access',
      extraTokenKeys: 'scope,id_token',
      authUrlParams: '{"prompt":"login","resource":"x"}',
      pkceMethods: 'none',
      displayName: 'Jira (corp)',
      icon: 'https://cdn.example.com/jira.svg',
      noRefresh: 'yes',
    });
    expect(jira).toMatchObject({
      id: 'atlassian-2',
      scopes: ['read:jira-work', 'write:jira-work', 'offline_access'],
      extraTokenKeys: ['scope', 'id_token'],
      // The type's audience stays; the configured prompt wins.
      authUrlParams: { audience: 'api.atlassian.com', prompt: 'login', resource: 'x' },
      pkce: false,
      displayName: 'Jira (corp)',
      icon: 'https://cdn.example.com/jira.svg',
      noRefresh: true,
    });
  });

  it('passes an Auth0 audience through to the authorize URL', () => {
    const [auth0] = providers({
      type: 'oauth2',
      id: 'auth0',
      clientId: 'c',
      authUrl: 'https://tenant.eu.auth0.com/authorize',
      tokenUrl: 'https://tenant.eu.auth0.com/oauth/token',
      authUrlParams: '{"audience":"https://api.example.com"}',
    });
    expect(auth0?.authUrlParams).toEqual({ audience: 'https://api.example.com' });
  });

  it('turns on the device flow where the type has a device-code URL', () => {
    expect(providers({ type: 'github', clientId: 'c', deviceFlow: 'true' })[0]).toMatchObject({
      deviceFlow: true,
      deviceCodeUrl: 'https://github.com/login/device/code',
    });
    expect(
      providers({
        type: 'bitbucket',
        clientId: 'c',
        deviceFlow: '1',
        deviceCodeUrl: 'https://x.test/device',
      })[0],
    ).toMatchObject({ deviceFlow: true, deviceCodeUrl: 'https://x.test/device' });
  });

  it('replaces {client_id} in a configured revoke URL (fake servers use one)', () => {
    const [github] = providers({
      type: 'github',
      clientId: 'fake-client',
      revokeUrl: 'http://127.0.0.1:4000/applications/{client_id}/token',
    });
    expect(github?.revokeUrl).toBe('http://127.0.0.1:4000/applications/fake-client/token');
  });

  it('orders providers by n, numerically, with gaps', () => {
    const env = {
      ...externalAuthEnv(10, { type: 'slack', clientId: 'c' }),
      ...externalAuthEnv(2, { type: 'gitlab', clientId: 'c' }),
      ...externalAuthEnv(7, { type: 'github', clientId: 'c' }),
    };
    expect(loadConfig({ env }).externalAuth.map((p) => p.id)).toEqual(['gitlab', 'github', 'slack']);
  });

  it('treats empty variables as unset and ignores other LATCHKEY_EXTERNAL_AUTH_* options', () => {
    const env = {
      ...externalAuthEnv(0, { type: 'github', clientId: 'c', scopes: '', id: ' ' }),
      ...externalAuthEnv(1, { displayName: '' }),
      LATCHKEY_EXTERNAL_AUTH_REFRESH_AHEAD: '2m',
    };
    const result = parseExternalAuth({ env });
    expect(result.issues).toEqual([]);
    expect(result.providers.map((p) => [p.id, p.scopes])).toEqual([['github', ['repo', 'workflow']]]);
  });

  it('allows two providers of one type with distinct ids', () => {
    const ids = providers(
      { type: 'github', clientId: 'a' },
      {
        type: 'github',
        id: 'github-enterprise',
        clientId: 'b',
        authUrl: 'https://ghe.test/login/oauth/authorize',
      },
    ).map((p) => p.id);
    expect(ids).toEqual(['github', 'github-enterprise']);
  });
});

describe('invalid provider configuration', () => {
  it('refuses an id outside [a-z0-9-], saying why', () => {
    expect(issuesFor({ id: 'Git Hub', type: 'github', clientId: 'c' })).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_0_ID="Git Hub": may contain only lowercase letters, digits and dashes (it appears in URLs and in the database)',
    ]);
    expect(issuesFor({ id: 'git_hub', type: 'github', clientId: 'c' })).toHaveLength(1);
  });

  it('requires a client id and a known type', () => {
    expect(issuesFor({ type: 'github' })).toEqual(['LATCHKEY_EXTERNAL_AUTH_0_CLIENT_ID: is required']);
    expect(issuesFor({ clientId: 'c' })).toEqual([
      `LATCHKEY_EXTERNAL_AUTH_0_TYPE: is required; expected one of: ${PROVIDER_TYPES.join(', ')}`,
    ]);
    expect(issuesFor({ type: 'gitbucket', clientId: 'c' })).toEqual([
      `LATCHKEY_EXTERNAL_AUTH_0_TYPE="gitbucket": expected one of: ${PROVIDER_TYPES.join(', ')}`,
    ]);
  });

  it('refuses two providers of one type without distinct ids', () => {
    expect(issuesFor({ type: 'github', clientId: 'a' }, { type: 'github', clientId: 'b' })).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_1_ID: is not set, so it defaults to the type "github", which LATCHKEY_EXTERNAL_AUTH_0 already uses as its id; give each github provider its own id',
    ]);
    expect(
      issuesFor({ type: 'github', id: 'code', clientId: 'a' }, { type: 'gitlab', id: 'code', clientId: 'b' }),
    ).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_1_ID="code": LATCHKEY_EXTERNAL_AUTH_0 already uses this id; ids must be unique',
    ]);
  });

  it('finds a duplicate id even when the provider has other problems', () => {
    const issues = issuesFor({ type: 'gitlab', clientId: 'a' }, { type: 'gitlab' });
    expect(issues).toHaveLength(2);
    expect(issues[1]).toContain('LATCHKEY_EXTERNAL_AUTH_1_ID: is not set');
  });

  it('reports an invalid regex with the engine message', () => {
    expect(issuesFor({ type: 'github', clientId: 'c', regex: '(github' })).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_0_REGEX="(github": Invalid regular expression: /(github/: Unterminated group',
    ]);
  });

  it('refuses the device flow without a device-code URL', () => {
    expect(issuesFor({ type: 'bitbucket', clientId: 'c', deviceFlow: 'true' })).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_0_DEVICE_FLOW="true": is true, but bitbucket has no default device-code URL; set LATCHKEY_EXTERNAL_AUTH_0_DEVICE_CODE_URL',
    ]);
  });

  it('requires the endpoints of generic providers', () => {
    expect(issuesFor({ type: 'oauth2', clientId: 'c' })).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_0_AUTH_URL: is required for type oauth2',
      'LATCHKEY_EXTERNAL_AUTH_0_TOKEN_URL: is required for type oauth2',
    ]);
    expect(issuesFor({ type: 'oidc', clientId: 'c' })).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_0_ISSUER_URL: is required for type oidc (endpoints are discovered from it)',
    ]);
    expect(issuesFor({ type: 'github', clientId: 'c', issuerUrl: 'https://x.test' })).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_0_ISSUER_URL="https://x.test": is only used with type oidc',
    ]);
  });

  it('wants AUTH_URL_PARAMS as a JSON object of strings, without the parameters Latchkey sets', () => {
    const problem = 'expected a JSON object of strings, e.g. {"audience":"https://api.example.com"}';
    for (const value of ['audience=x', '["x"]', '{"max_age":0}', 'null']) {
      expect(issuesFor({ type: 'github', clientId: 'c', authUrlParams: value })).toEqual([
        `LATCHKEY_EXTERNAL_AUTH_0_AUTH_URL_PARAMS=${JSON.stringify(value)}: ${problem}`,
      ]);
    }
    expect(
      issuesFor({ type: 'github', clientId: 'c', authUrlParams: '{"redirect_uri":"x","state":"y"}' })[0],
    ).toContain('must not set redirect_uri, state: Latchkey sets these itself');
  });

  it('refuses bad booleans, URLs and PKCE methods', () => {
    expect(
      issuesFor({
        type: 'github',
        clientId: 'c',
        deviceFlow: 'maybe',
        noRefresh: '2',
        tokenUrl: '/login/oauth/access_token',
        validateUrl: 'ftp://api.github.com/user',
        apiBaseUrl: 'https://api.github.com/#x',
        pkceMethods: 'plain',
      }),
    ).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_0_TOKEN_URL="/login/oauth/access_token": expected an absolute URL such as https://example.com/oauth/authorize',
      'LATCHKEY_EXTERNAL_AUTH_0_VALIDATE_URL="ftp://api.github.com/user": expected an http:// or https:// URL',
      'LATCHKEY_EXTERNAL_AUTH_0_API_BASE_URL="https://api.github.com/#x": must not have a fragment',
      'LATCHKEY_EXTERNAL_AUTH_0_DEVICE_FLOW="maybe": expected true or false',
      'LATCHKEY_EXTERNAL_AUTH_0_NO_REFRESH="2": expected true or false',
      'LATCHKEY_EXTERNAL_AUTH_0_PKCE_METHODS="plain": plain is refused (it protects nothing); use S256 or none',
    ]);
    expect(issuesFor({ type: 'github', clientId: 'c', pkceMethods: 'S512' })[0]).toContain(
      'expected S256 or none',
    );
  });

  it('refuses unknown fields and odd provider numbers without echoing their values', () => {
    const issues = issuesOf({
      env: {
        ...externalAuthEnv(0, { type: 'github', clientId: 'c' }),
        LATCHKEY_EXTERNAL_AUTH_0_CLIENT_SECRT: 'hunter2',
        LATCHKEY_EXTERNAL_AUTH_01_TYPE: 'gitlab',
      },
    });
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(
      /^LATCHKEY_EXTERNAL_AUTH_0_CLIENT_SECRT: unknown field "CLIENT_SECRT"; expected one of: ID, TYPE,/,
    );
    expect(issues[1]).toBe(
      'LATCHKEY_EXTERNAL_AUTH_01_TYPE: write the provider number without leading zeros (LATCHKEY_EXTERNAL_AUTH_1_…)',
    );
    expect(issues.join('\n')).not.toContain('hunter2');
  });

  it('never echoes the client secret', () => {
    const issues = issuesFor({ type: 'nope', clientSecret: 'hunter2' });
    expect(issues.join('\n')).not.toContain('hunter2');
  });

  it('reports provider problems together with other options', () => {
    const issues = issuesOf({
      env: { LATCHKEY_DB_POOL_MAX: '0', ...externalAuthEnv(0, { id: 'X', type: 'github', clientId: 'c' }) },
    });
    expect(issues).toEqual([
      'LATCHKEY_DB_POOL_MAX="0": must be at least 1',
      expect.stringMatching(/^LATCHKEY_EXTERNAL_AUTH_0_ID="X": /),
    ]);
  });
});

describe('external auth in the config file', () => {
  it('reads the external-auth list with kebab-case keys, YAML lists and mappings', () => {
    const file = tempFile(
      'c.yaml',
      [
        'log-level: warn',
        'external-auth:',
        '  - type: gitlab',
        '    id: corp-gitlab',
        '    client-id: abc',
        '    auth-url: https://gitlab.corp.example/oauth/authorize',
        '    scopes: [read_repository, read_user]',
        '    device-flow: true',
        '  - type: oauth2',
        '    id: auth0',
        '    client-id: def',
        '    auth-url: https://tenant.auth0.com/authorize',
        '    token-url: https://tenant.auth0.com/oauth/token',
        '    auth-url-params:',
        '      audience: https://api.example.com',
        '    scopes: []',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ configFile: file });
    expect(config.logLevel).toBe('warn');
    expect(config.externalAuth).toMatchObject([
      {
        id: 'corp-gitlab',
        clientId: 'abc',
        tokenUrl: 'https://gitlab.corp.example/oauth/token',
        scopes: ['read_repository', 'read_user'],
        deviceFlow: true,
      },
      { id: 'auth0', authUrlParams: { audience: 'https://api.example.com' }, scopes: [] },
    ]);
  });

  it('reads JSON too', () => {
    const file = tempFile(
      'c.json',
      '{"external-auth": [{"type": "github", "client-id": 12345, "no-refresh": true, "display-name": "", "icon": null}]}',
    );
    // Empty and null values count as unset, as empty env variables do.
    expect(loadConfig({ configFile: file }).externalAuth[0]).toMatchObject({
      clientId: '12345',
      noRefresh: true,
      displayName: 'GitHub',
      icon: '',
    });
  });

  it('names the file, the entry and the key of each problem', () => {
    const file = tempFile(
      'c.yaml',
      [
        'external-auth:',
        '  - type: github',
        '    clientId: abc',
        '  - just-a-string',
        '  - type: gitlab',
        '    client-id: x',
        '    scopes: {a: 1}',
        '    id: Corp',
        '',
      ].join('\n'),
    );
    expect(issuesOf({ configFile: file })).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${file}: external-auth\\[0\\]\\.clientId: unknown field; expected one of: id, type, client-id,`,
        ),
      ),
      `${file}: external-auth[1]: expected a mapping of provider fields`,
      `${file}: external-auth[2].scopes: expected a list of strings`,
      `${file}: external-auth[0].client-id: is required`,
      `${file}: external-auth[2].id="Corp": may contain only lowercase letters, digits and dashes (it appears in URLs and in the database)`,
    ]);
    const notList = tempFile('c.yaml', 'external-auth:\n  type: github\n');
    expect(issuesOf({ configFile: notList })).toEqual([
      `${notList}: external-auth: expected a list of providers`,
    ]);
  });

  it('lets env override a file provider field by field, matched by id or type, and adds the rest', () => {
    const file = tempFile(
      'c.yaml',
      [
        'external-auth:',
        '  - {type: github, client-id: from-file, display-name: Code}',
        '  - {type: gitlab, id: corp, client-id: gl, auth-url: "https://gl.corp.example/oauth/authorize"}',
        '',
      ].join('\n'),
    );
    const config = loadConfig({
      configFile: file,
      env: {
        ...externalAuthEnv(0, { type: 'github', clientSecret: 'from-env' }),
        ...externalAuthEnv(1, { id: 'corp', clientId: 'gl-env' }),
        ...externalAuthEnv(2, { type: 'slack', clientId: 's' }),
      },
    });
    expect(config.externalAuth.map((p) => [p.id, p.clientId, p.clientSecret, p.displayName])).toEqual([
      ['github', 'from-file', 'from-env', 'Code'],
      ['corp', 'gl-env', '', 'GitLab'],
      ['slack', 's', '', 'Slack'],
    ]);
  });

  it('refuses an env provider that collides with a file provider it could not be merged into', () => {
    const file = tempFile('c.yaml', 'external-auth:\n  - {type: github, client-id: a}\n');
    const issues = issuesOf({
      configFile: file,
      env: {
        ...externalAuthEnv(0, { type: 'github' }),
        ...externalAuthEnv(1, { type: 'github', clientId: 'b' }),
      },
    });
    expect(issues).toEqual([
      'LATCHKEY_EXTERNAL_AUTH_1_ID: is not set, so it defaults to the type "github", which ' +
        `${file}: external-auth[0] already uses as its id; give each github provider its own id`,
    ]);
  });
});

describe('external auth overrides', () => {
  it('uses a typed list given in overrides instead of env and file', () => {
    const [fake] = providers({
      type: 'github',
      clientId: 'fake',
      authUrl: 'http://127.0.0.1:9/login/oauth/authorize',
    });
    const config = loadConfig({
      env: externalAuthEnv(0, { id: 'NOT VALID' }),
      overrides: { externalAuth: fake ? [fake] : [] },
    });
    expect(config.externalAuth).toEqual([fake]);
  });
});
