import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import type { UpstreamProvider } from './provider.ts';

/** A configured provider: what the vault needs, plus how it is shown and which repositories it serves. */
export interface ConfiguredProvider extends UpstreamProvider {
  readonly displayName: string;
  readonly icon: string;
  readonly apiBaseUrl: string | undefined;
  readonly regex: RegExp | undefined;
  /** For type oidc: endpoints are discovered from here when not configured. */
  readonly issuerUrl: string | undefined;
}

/** What lists and pages show of a provider. */
export interface ProviderInfo {
  readonly id: string;
  readonly type: string;
  readonly displayName: string;
  readonly icon: string;
  readonly deviceFlow: boolean;
  readonly regex: RegExp | undefined;
}

export interface ProviderRegistry {
  list(): ProviderInfo[];
  /** The provider with its endpoints known (OIDC discovery done), or undefined. */
  get(id: string): Promise<ConfiguredProvider | undefined>;
  /** The first provider whose REGEX matches a repository URL (git credentials, EA-10). */
  match(url: string): ProviderInfo | undefined;
}

export interface RegistryOptions {
  readonly logger: Logger;
  /** Allow http:// issuers (tests with fake providers); https is required otherwise. */
  readonly allowInsecureIssuers?: boolean;
}

/**
 * Providers from configuration. OIDC providers are discovered on first use rather than at
 * start, so an identity provider that is down does not keep Latchkey from starting; a
 * failed discovery is retried on the next use.
 */
export function providerRegistry(
  configured: readonly ConfiguredProvider[],
  options: RegistryOptions,
): ProviderRegistry {
  const byId = new Map(configured.map((p) => [p.id, p]));
  const discovered = new Map<string, Promise<ConfiguredProvider>>();
  const info = (p: ConfiguredProvider): ProviderInfo => ({
    id: p.id,
    type: p.type,
    displayName: p.displayName,
    icon: p.icon,
    deviceFlow: p.deviceFlow,
    regex: p.regex,
  });
  return {
    list: () => configured.map(info),
    async get(id) {
      const p = byId.get(id);
      if (!p) return undefined;
      if (p.type !== 'oidc' || (p.authUrl !== '' && p.tokenUrl !== '')) return p;
      let pending = discovered.get(id);
      if (!pending) {
        pending = discover(p, options);
        discovered.set(id, pending);
        pending.catch((err: unknown) => {
          discovered.delete(id);
          options.logger.warn(
            { provider: id, err: (err as Error).message },
            'OIDC discovery failed; will retry',
          );
        });
      }
      return pending;
    },
    match(url) {
      const p = configured.find((c) => c.regex?.test(url));
      return p ? info(p) : undefined;
    },
  };
}

async function discover(p: ConfiguredProvider, options: RegistryOptions): Promise<ConfiguredProvider> {
  if (p.issuerUrl === undefined) throw new Error(`provider ${p.id}: no issuer URL`);
  const config = await oidc.discovery(
    new URL(p.issuerUrl),
    p.clientId,
    p.clientSecret,
    undefined,
    options.allowInsecureIssuers ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
  const meta = config.serverMetadata();
  const pick = (given: string | undefined, found: string | undefined) => (given ? given : found);
  return {
    ...p,
    authUrl: pick(p.authUrl, meta.authorization_endpoint) ?? '',
    tokenUrl: pick(p.tokenUrl, meta.token_endpoint) ?? '',
    validateUrl: pick(p.validateUrl, meta.userinfo_endpoint),
    revokeUrl: pick(p.revokeUrl, meta.revocation_endpoint),
    revokeStyle: p.revokeStyle === 'none' && meta.revocation_endpoint ? 'rfc7009' : p.revokeStyle,
    deviceCodeUrl: pick(p.deviceCodeUrl, meta.device_authorization_endpoint),
  };
}
