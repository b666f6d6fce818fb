import type { FastifyInstance } from 'fastify';
import type { OidcLogin } from '../../apikeys/index.ts';
import type { AuthzStore } from '../../authz/index.ts';
import type { Config } from '../../config/index.ts';
import type { LinkFlowDeps, Vault } from '../../externalauth/index.ts';
import { registerAuthcheckRoute } from './authcheck.ts';
import { registerExternalAuthRoutes } from './external-auth.ts';
import { registerDeviceFlowRoutes } from './external-auth-device.ts';
import { registerExternalAuthPages } from './external-auth-pages.ts';
import { registerKeyRoutes } from './keys.ts';
import { decorateLoaders } from './loaders.ts';
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
}

export function registerApiRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { authz } = deps;
  decorateLoaders(app);
  registerUserRoutes(app, authz);
  registerOrganizationRoutes(app, authz);
  registerAuthcheckRoute(app);
  registerKeyRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerExternalAuthRoutes(app, deps);
  registerDeviceFlowRoutes(app, deps);
  // Pages live in their own encapsulated scope: the form-body parser they need must not
  // make the JSON API accept urlencoded bodies.
  app.register(async (pages) => {
    registerPageRoutes(pages, deps);
    registerExternalAuthPages(pages, deps);
  });
}
