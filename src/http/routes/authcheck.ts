import type { FastifyInstance } from 'fastify';
import { type AuthzObject, authorize, hasAction, isResourceType } from '../../authz/index.ts';
import { ApiError } from '../api-error.ts';
import { requireAuth } from '../auth/actor.ts';
import { authcheckBody } from './schemas.ts';

/**
 * POST /api/v1/authcheck: many yes/no questions in one call, for UIs deciding which
 * buttons to show. Answers only about the caller, so it reveals nothing they could not
 * learn by trying; it never reads the database.
 */
export function registerAuthcheckRoute(app: FastifyInstance): void {
  app.post('/api/v1/authcheck', { preHandler: requireAuth }, async (request) => {
    const { checks } = authcheckBody.parse(request.body);
    const actor = request.actor;
    if (!actor) throw new ApiError(401, 'You must be signed in.');
    const answers: Record<string, boolean> = {};
    for (const [key, check] of Object.entries(checks)) {
      const type = check.object.resource_type;
      if (!isResourceType(type))
        throw new ApiError(400, `Unknown resource type "${type}".`, `check "${key}"`);
      if (!hasAction(type, check.action)) {
        throw new ApiError(400, `"${check.action}" is not an action on ${type}.`, `check "${key}"`);
      }
      const object: AuthzObject = {
        type,
        id: check.object.resource_id,
        orgId: check.object.organization_id,
        ownerId: check.object.owner_id === 'me' ? actor.id : check.object.owner_id,
      };
      answers[key] = authorize(actor, check.action, object);
    }
    return answers;
  });
}
