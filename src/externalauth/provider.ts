// What the vault needs to know about an upstream provider. The configuration's provider
// entries satisfy it; declared here, structurally, so the vault's logic depends on these
// fields and not on how configuration is read.
export interface UpstreamProvider {
  readonly id: string;
  readonly type: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authUrl: string;
  readonly tokenUrl: string;
  readonly validateUrl: string | undefined;
  readonly revokeUrl: string | undefined;
  readonly revokeStyle: 'github' | 'rfc7009' | 'none';
  readonly scopes: readonly string[];
  readonly extraTokenKeys: readonly string[];
  readonly deviceFlow: boolean;
  readonly deviceCodeUrl: string | undefined;
  readonly pkce: boolean;
  readonly authUrlParams: Readonly<Record<string, string>>;
  readonly noRefresh: boolean;
}
