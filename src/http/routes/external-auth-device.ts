import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { pollDeviceLink, startDeviceLink } from '../../externalauth/index.ts';
import { requireAuth } from '../auth/actor.ts';
import type { RouteDeps } from './index.ts';
import { store } from './loaders.ts';

type ProviderParams = { Params: { provider: string } };

const pollBody = z.object({
  device_code: z.string().min(1).max(512),
  /** The interval the client polls at now, so slow_down can say the next one (+5 s). */
  interval: z.number().int().min(1).max(600).optional(),
});

function userOf(request: FastifyRequest): string {
  // requireAuth ran: there is a caller, and every caller is a user.
  return (request.auth as { userId: string }).userId;
}

/**
 * Linking with the device flow (EA-2, RFC 8628): start, then poll until the user has
 * entered the code upstream. CSRF is checked for cookie-authenticated posts at the root.
 */
export function registerDeviceFlowRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { authz } = deps;

  app.post<ProviderParams>(
    '/api/v1/external-auth/:provider/device',
    { preHandler: requireAuth },
    async (request, reply) => {
      const started = await startDeviceLink(deps.linkFlow, store(request, authz), {
        userId: userOf(request),
        providerId: request.params.provider,
      });
      reply.header('cache-control', 'no-store');
      return {
        user_code: started.userCode,
        verification_uri: started.verificationUri,
        ...(started.verificationUriComplete === undefined
          ? {}
          : { verification_uri_complete: started.verificationUriComplete }),
        expires_in: started.expiresIn,
        interval: started.interval,
        device_code: started.deviceCode,
      };
    },
  );

  app.post<ProviderParams>(
    '/api/v1/external-auth/:provider/device/poll',
    { preHandler: requireAuth },
    async (request, reply) => {
      const body = pollBody.parse(request.body ?? {});
      const result = await pollDeviceLink(deps.linkFlow, store(request, authz), {
        userId: userOf(request),
        providerId: request.params.provider,
        deviceCode: body.device_code,
        intervalSeconds: body.interval,
      });
      reply.header('cache-control', 'no-store');
      if (result.status === 'linked') return { linked: true };
      return reply.code(202).send({ status: result.status, interval: result.interval });
    },
  );
}
