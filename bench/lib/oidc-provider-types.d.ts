// The part of oidc-provider (which ships no types) that the OAuth benchmark uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface OidcClient {
    readonly clientId: string;
    readonly clientAuthMethod: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface OidcModel {
    jti?: string;
    save(): Promise<string>;
  }

  export interface OidcGrant extends OidcModel {
    addResourceScope(resource: string, scope: string): void;
  }

  export interface OidcModelClass<T extends OidcModel> {
    new (fields: Record<string, unknown>): T;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    readonly Client: { find(clientId: string): Promise<OidcClient | undefined> };
    readonly Grant: OidcModelClass<OidcGrant>;
    readonly AuthorizationCode: OidcModelClass<OidcModel>;
    readonly RefreshToken: OidcModelClass<OidcModel>;
  }

  export default Provider;
}
