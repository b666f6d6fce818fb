import type { FastifyInstance } from 'fastify';
import type { KeyLookup, OidcLogin } from '../../apikeys/index.ts';
import type { AuthzStore } from '../../authz/index.ts';
import type { Config } from '../../config/index.ts';
import type { LinkFlowDeps, Vault } from '../../externalauth/index.ts';
import { type ClientDeps, ClientMetadataDocuments, type JwtAccessTokens } from '../../oauth2/index.ts';
import { registerAuthcheckRoute } from './authcheck.ts';
import { registerExternalAuthRoutes } from './external-auth.ts';
import { registerDeviceFlowRoutes } from './external-auth-device.ts';
import { registerExternalAuthPages } from './external-auth-pages.ts';
import { registerKeyRoutes } from './keys.ts';
import { decorateLoaders } from './loaders.ts';
import { registerMcpRoutes } from './mcp.ts';
import { registerOAuth2AppRoutes } from './oauth2/apps.ts';
import { registerAuthorizeRoutes } from './oauth2/authorize.ts';
import { registerIntrospectRoute } from './oauth2/introspect.ts';
import { registerOAuth2MetadataRoutes } from './oauth2/metadata.ts';
import { registerOAuth2RegisterRoutes } from './oauth2/register.ts';
import { registerRevokeRoute } from './oauth2/revoke.ts';
import { registerOAuthFormBody, registerTokenRoute } from './oauth2/token.ts';
import { registerOAuth2UserAppRoutes } from './oauth2/user-apps.ts';
import { registerOrganizationRoutes } from './organizations.ts';
import { registerPageRoutes } from './pages.ts';
import { registerSessionRoutes } from './session.ts';
import { registerUserRoutes } from './users.ts';

export interface RouteDeps {
  readonly authz: AuthzStore;
  readonly config: Config;
  readonly vault: Vault;
  readonly linkFlow: LinkFlowDeps;
  readonly oidcLogin: OidcLogin;
  readonly jwt: JwtAccessTokens;
  /** API keys (and OAuth access tokens) by id through the replica's key cache; as systemAuthn. */
  readonly keyLookup: KeyLookup;
}

/** What the OAuth2 routes need besides RouteDeps: client resolution, one per server. */
export interface OAuth2RouteDeps extends RouteDeps {
  readonly clients: ClientDeps;
}

export function registerApiRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { authz } = deps;
  // One metadata-document cache for every OAuth route (authorize, token, …): see resolveClient.
  const documents = new ClientMetadataDocuments(authz, {
    allowPrivate: deps.config.oauth2AllowPrivateClientMetadata,
    log: app.log,
  });
  const oauth2: OAuth2RouteDeps = { ...deps, clients: { authz, documents } };
  decorateLoaders(app);
  registerUserRoutes(app, authz);
  registerOrganizationRoutes(app, authz);
  registerAuthcheckRoute(app);
  registerKeyRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerExternalAuthRoutes(app, deps);
  registerDeviceFlowRoutes(app, deps);
  registerOAuth2MetadataRoutes(app, oauth2);
  registerOAuth2RegisterRoutes(app, oauth2);
  registerOAuth2AppRoutes(app, oauth2);
  registerOAuth2UserAppRoutes(app, oauth2);
  registerMcpRoutes(app, deps);
  // The OAuth endpoints that take form bodies (RFC 6749), and the consent form: their own
  // scope, whose parser keeps repeated parameters visible and bounds bodies at 64 KiB.
  app.register(async (forms) => {
    registerOAuthFormBody(forms);
    registerAuthorizeRoutes(forms, oauth2);
    registerTokenRoute(forms, oauth2);
    registerRevokeRoute(forms, oauth2);
    registerIntrospectRoute(forms, oauth2);
  });
  // Pages live in their own encapsulated scope: the form-body parser they need must not
  // make the JSON API accept urlencoded bodies.
  app.register(async (pages) => {
    registerPageRoutes(pages, deps);
    registerExternalAuthPages(pages, deps);
  });
}
