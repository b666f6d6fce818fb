import type { FastifyInstance } from 'fastify';

const draining = new WeakSet<FastifyInstance>();

/**
 * While the server drains, every response says `Connection: close`. Otherwise a request
 * that finishes during shutdown leaves its keep-alive connection open, and close()
 * waits for that idle connection until the shutdown timeout cuts it off.
 */
export function registerDrainHook(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining.has(app)) reply.header('connection', 'close');
    done(null, payload);
  });
}

export function markDraining(app: FastifyInstance): void {
  draining.add(app);
}
