import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../observability/index.ts';

// A caller-supplied X-Request-Id is kept only when it is short and plain, so it can
// correlate logs across services without letting anyone inject text into our logs.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

// Probes and scrapes run every few seconds; at info they would drown real traffic.
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line and one metrics observation per request, after the response is sent.
 * Logs carry the path without its query string: query strings can hold codes and tokens.
 * The hooks are synchronous (callback style): an async hook costs every request a
 * promise and a turn of the microtask queue.
 */
export function registerRequestObserver(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request);
    const method = request.method;
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    const labels = { method, route, status: String(status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, ms / 1000);
    // Who made the request (AK-9), never the secret; pino leaves out undefined fields.
    const auth = request.auth;
    const line = {
      user_id: auth?.userId,
      api_key_id: auth?.apiKeyId,
      // The client's address: behind trusted proxies (trustProxy) the one they report.
      client_ip: request.ip,
      method,
      path: pathOf(request.url),
      route,
      status,
      duration_ms: Math.round(ms * 100) / 100,
    };
    if (QUIET_ROUTES.has(route)) request.log.debug(line, 'request');
    else request.log.info(line, 'request');
    done();
  });
}

/** The route pattern, never the raw URL: raw URLs would make metric labels unbounded. */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
