import type { FastifyInstance } from 'fastify';
import type { AuthzStore } from '../../authz/index.ts';
import { registerAuthcheckRoute } from './authcheck.ts';
import { decorateLoaders } from './loaders.ts';
import { registerOrganizationRoutes } from './organizations.ts';
import { registerUserRoutes } from './users.ts';

export function registerApiRoutes(app: FastifyInstance, authz: AuthzStore): void {
  decorateLoaders(app);
  registerUserRoutes(app, authz);
  registerOrganizationRoutes(app, authz);
  registerAuthcheckRoute(app);
}
