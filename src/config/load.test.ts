import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.source}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'latchkey-config-')), name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('OIDC: the issuer needs a client id; authorize-URL parameters are a JSON object of strings without protocol names', () => {
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_OIDC_ISSUER_URL: 'https://idp.example' } }))).toEqual([
      'LATCHKEY_OIDC_CLIENT_ID: is required when LATCHKEY_OIDC_ISSUER_URL is set',
    ]);
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_OIDC_AUTH_URL_PARAMS: '["x"]' } }))[0]).toContain(
      'LATCHKEY_OIDC_AUTH_URL_PARAMS',
    );
    expect(
      issuesOf(() => loadConfig({ env: { LATCHKEY_OIDC_AUTH_URL_PARAMS: '{"state":"x"}' } }))[0],
    ).toContain('must not set "state"');
    expect(
      loadConfig({ env: { LATCHKEY_OIDC_AUTH_URL_PARAMS: '{"prompt":"consent"}' } }).oidcAuthUrlParams,
    ).toEqual({
      prompt: 'consent',
    });
  });

  it('applies the documented defaults', () => {
    const config = loadConfig({ env: {} });
    expect(config.httpAddress).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(config.accessUrl).toBe('http://127.0.0.1:3000');
    expect(config.dataDir).toBe('./.latchkey');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dbConnectTimeout).toBe(30_000);
    expect(config.dbQueryMetrics).toBe(false);
    expect(config.logLevel).toBe('info');
  });

  it('reads LATCHKEY_* and DATABASE_URL from the environment', () => {
    const config = loadConfig({
      env: {
        LATCHKEY_HTTP_ADDRESS: '0.0.0.0:8080',
        LATCHKEY_ACCESS_URL: 'https://auth.example.com/',
        DATABASE_URL: 'postgres://u:p@db:5432/latchkey',
        LATCHKEY_DB_CONNECT_TIMEOUT: '2m',
        LATCHKEY_DB_QUERY_METRICS: 'yes',
        LATCHKEY_LOG_LEVEL: 'DEBUG',
      },
    });
    expect(config.httpAddress).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.accessUrl).toBe('https://auth.example.com');
    expect(config.databaseUrl).toBe('postgres://u:p@db:5432/latchkey');
    expect(config.dbConnectTimeout).toBe(120_000);
    expect(config.dbQueryMetrics).toBe(true);
    expect(config.logLevel).toBe('debug');
  });

  it('parses IPv6 listen addresses', () => {
    expect(loadConfig({ env: { LATCHKEY_HTTP_ADDRESS: '[::1]:3000' } }).httpAddress).toEqual({
      host: '::1',
      port: 3000,
    });
  });

  it('lets flags win over env, and env over the config file', () => {
    const file = tempFile('c.yaml', 'http-address: 127.0.0.1:1111\nlog-level: warn\ndb-pool-max: 7\n');
    const config = loadConfig({
      env: { LATCHKEY_HTTP_ADDRESS: '127.0.0.1:2222', LATCHKEY_LOG_LEVEL: 'error' },
      flags: { logLevel: 'trace' },
      configFile: file,
    });
    expect(config.httpAddress.port).toBe(2222);
    expect(config.logLevel).toBe('trace');
    expect(config.dbPoolMax).toBe(7);
  });

  it('treats an empty environment variable as unset', () => {
    expect(loadConfig({ env: { DATABASE_URL: '', LATCHKEY_LOG_LEVEL: ' ' } })).toMatchObject({
      logLevel: 'info',
    });
  });

  it('names the variable, the value and what is wrong', () => {
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_HTTP_ADDRESS: 'localhost' } }))).toEqual([
      'LATCHKEY_HTTP_ADDRESS="localhost": expected host:port, for example 127.0.0.1:3000 or [::1]:3000',
    ]);
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_DB_POOL_MAX: '0' } }))).toEqual([
      'LATCHKEY_DB_POOL_MAX="0": must be at least 1',
    ]);
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_DB_CONNECT_TIMEOUT: '30' } }))[0]).toContain(
      'expected a duration',
    );
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_LOG_LEVEL: 'loud' } }))[0]).toContain(
      'expected one of',
    );
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_ACCESS_URL: 'ftp://x' } }))[0]).toContain(
      'http:// or https://',
    );
    expect(issuesOf(() => loadConfig({ flags: { httpAddress: ':99999' } }))[0]).toMatch(/^--http-address=/);
  });

  it('reports every bad value at once', () => {
    const issues = issuesOf(() =>
      loadConfig({ env: { LATCHKEY_DB_POOL_MAX: 'x', LATCHKEY_LOG_LEVEL: 'loud' } }),
    );
    expect(issues).toHaveLength(2);
  });

  it('never echoes a database URL, which holds a password', () => {
    const issues = issuesOf(() => loadConfig({ env: { DATABASE_URL: 'mysql://root:hunter2@db/x' } }));
    expect(issues).toEqual(['DATABASE_URL: expected a postgres:// or postgresql:// URL']);
  });

  it('refuses unknown keys and bad files instead of ignoring them', () => {
    const typo = tempFile('c.yaml', 'http-adress: 127.0.0.1:1\n');
    expect(issuesOf(() => loadConfig({ configFile: typo }))[0]).toContain('http-adress: unknown option');
    const broken = tempFile('c.yaml', 'a: [\n');
    expect(issuesOf(() => loadConfig({ configFile: broken }))[0]).toContain(`config file ${broken}`);
    expect(issuesOf(() => loadConfig({ configFile: '/nonexistent/latchkey.yaml' }))[0]).toContain(
      'file not found',
    );
    const list = tempFile('c.json', '[1, 2]');
    expect(issuesOf(() => loadConfig({ configFile: list }))[0]).toContain('expected a mapping');
  });

  it('reads the trusted proxies as addresses and ranges, refusing anything else by name', () => {
    expect(loadConfig({ env: {} }).trustProxy).toBe(false);
    expect(
      loadConfig({ env: { LATCHKEY_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8,::1,uniquelocal' } })
        .trustProxy,
    ).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1', 'uniquelocal']);
    expect(loadConfig({ env: { LATCHKEY_TRUST_PROXY: 'FALSE' } }).trustProxy).toBe(false);
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_TRUST_PROXY: '10.0.0.0/33,lb.internal' } }))).toEqual([
      'LATCHKEY_TRUST_PROXY="10.0.0.0/33,lb.internal": "10.0.0.0/33" is not an IP address or CIDR range (such as 10.0.0.0/8), loopback, linklocal or uniquelocal',
      'LATCHKEY_TRUST_PROXY="10.0.0.0/33,lb.internal": "lb.internal" is not an IP address or CIDR range (such as 10.0.0.0/8), loopback, linklocal or uniquelocal',
    ]);
    // Believing anyone would let any client pick its own rate-limit bucket.
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_TRUST_PROXY: 'true' } }))[0]).toContain(
      'list the proxies',
    );
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_TRUST_PROXY: '0.0.0.0/0' } }))[0]).toContain(
      'trusts every address',
    );
  });

  it('checks rules between options, naming the one to fix', () => {
    expect(issuesOf(() => loadConfig({ env: { LATCHKEY_RATE_LIMIT_STORE: 'redis' } }))).toEqual([
      'LATCHKEY_RATE_LIMIT_STORE: is redis, but REDIS_URL is not set',
    ]);
    expect(
      issuesOf(() =>
        loadConfig({ env: { LATCHKEY_DEFAULT_TOKEN_LIFETIME: '48h', LATCHKEY_MAX_TOKEN_LIFETIME: '24h' } }),
      ),
    ).toEqual(['LATCHKEY_DEFAULT_TOKEN_LIFETIME: is longer than LATCHKEY_MAX_TOKEN_LIFETIME']);
  });

  it('reads the config file named by LATCHKEY_CONFIG, JSON included', () => {
    const file = tempFile('c.json', '{"db-pool-max": 3, "db-query-metrics": true}');
    expect(loadConfig({ env: { LATCHKEY_CONFIG: file } })).toMatchObject({
      dbPoolMax: 3,
      dbQueryMetrics: true,
    });
  });
});
