import type { FastifyInstance } from 'fastify';

const draining = new WeakSet<FastifyInstance>();

/**
 * While the server drains, every response says `Connection: close`. Otherwise a request
 * that finishes during shutdown leaves its keep-alive connection open, and close()
 * waits for that idle connection until the shutdown timeout cuts it off.
 */
export function registerDrainHook(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining.has(app)) reply.header('connection', 'close');
    return payload;
  });
}

export function markDraining(app: FastifyInstance): void {
  draining.add(app);
}
