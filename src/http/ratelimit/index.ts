import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { Config } from '../../config/index.ts';
import type { Logger, Metrics } from '../../observability/index.ts';
import { hasOwnerPrivileges } from '../auth/actor.ts';
import { InFlightGate } from './in-flight.ts';
import { clientBucket, clientIdOf, routeBucket, tokenBucket } from './keys.ts';
import type { Limiter, Verdict } from './limiter.ts';
import { RateLimitMetrics } from './metrics.ts';
import { atCapacity, limitHeaders, type Refusal, tooManyRequests } from './responses.ts';
import { type CounterStore, createCounterStore } from './store.ts';

/** Route groups with extra limits; a route joins one with `config: { rateLimitGroup }`. */
export const RATE_LIMIT_GROUPS = ['proxy'] as const;
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Adds the group's per-token and concurrency limits to the route (AK-10). */
    rateLimitGroup?: RateLimitGroup;
    /**
     * Requests per minute per caller (user, else IP) on this route, instead of rateLimitApi:
     * for anonymous endpoints that need a tighter bound (OAuth client registration).
     */
    rateLimitPerMinute?: number;
    /**
     * Requests per minute per OAuth client per caller on this route (the OAuth endpoints),
     * on top of the per-caller limit; 0 or unset: none. Counted once the body is parsed,
     * since the client_id may be in it; see clientBucket for why the caller is in the key.
     */
    rateLimitPerClient?: number;
    /** Refusals are an HTML page for a person rather than JSON (the authorization endpoint). */
    rateLimitPage?: boolean;
  }
}

/**
 * Owners send `Latchkey-Bypass-Ratelimit: true` to skip rate limits; others are limited as
 * usual, and so is an owner's key narrowed by scopes or an allow-list (hasOwnerPrivileges).
 */
export const BYPASS_HEADER = 'latchkey-bypass-ratelimit';

const WINDOW_SECONDS = 60;
/** Probes and scrapes: limiting them would make a busy replica look dead. */
const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export interface RateLimitDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly database: { readonly pool: pg.Pool };
}

interface Limits {
  readonly store: CounterStore | undefined;
  readonly perRoute: Limiter | undefined;
  readonly perToken: ReadonlyMap<RateLimitGroup, Limiter>;
  readonly gates: ReadonlyMap<RateLimitGroup, InFlightGate>;
  readonly metrics: RateLimitMetrics;
}

/**
 * Rate limits (AK-10), checked in onRequest once the precheck has said who is calling, so
 * register after `registerActor`. Per route pattern: per user, else per client address;
 * proxy-style route groups add a per-token limit and a cap on requests in flight; the
 * OAuth endpoints add a limit per client (and caller), checked once the body is parsed.
 */
export function registerRateLimits(app: FastifyInstance, deps: RateLimitDeps): void {
  const limits = buildLimits(deps);
  if (!limits) return;
  const { store, perRoute, perToken, gates, metrics } = limits;
  if (store) {
    app.addHook('onReady', () => store.ready());
    app.addHook('onClose', () => store.close());
  }

  // Limiters for routes with their own per-caller (rateLimitPerMinute) or per-client
  // (rateLimitPerClient) figure, one per distinct figure; the bucket key names the route.
  const ownLimits = new Map<string, Limiter>();
  const ownLimiter = (kind: 'route' | 'client', points: number): Limiter | undefined => {
    if (!store || points <= 0) return undefined;
    const name = `${kind}:${points}`;
    let limiter = ownLimits.get(name);
    if (!limiter) {
      limiter = store.limiter(name, points, WINDOW_SECONDS);
      ownLimits.set(name, limiter);
    }
    return limiter;
  };
  const routeLimiter = (points: number | undefined): Limiter | undefined =>
    points === undefined ? perRoute : ownLimiter('route', points);

  /** Consumes from each rate limit that applies: the first refusal, else the tightest verdict. */
  async function consume(request: FastifyRequest, group: RateLimitGroup | undefined) {
    const verdicts: Verdict[] = [];
    const limiter = routeLimiter(request.routeOptions.config.rateLimitPerMinute);
    if (limiter) {
      const verdict = await limiter.consume(routeBucket(request));
      if (!verdict.allowed) return { refusal: { kind: 'route', verdict } satisfies Refusal };
      verdicts.push(verdict);
    }
    const tokenLimiter = group === undefined ? undefined : perToken.get(group);
    const token = tokenLimiter ? tokenBucket(request) : undefined;
    if (tokenLimiter && token) {
      const verdict = await tokenLimiter.consume(token);
      if (!verdict.allowed) return { refusal: { kind: 'token', verdict } satisfies Refusal };
      verdicts.push(verdict);
    }
    return { tightest: verdicts.sort((a, b) => a.remaining - b.remaining)[0] };
  }

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && UNLIMITED_ROUTES.has(route)) return;
    const group = request.routeOptions.config.rateLimitGroup;

    if (ownerBypass(request)) {
      // The request's log line says so: a bypass is an owner's deliberate act, worth auditing.
      request.log = request.log.child({ ratelimit_bypass: true });
    } else {
      const { refusal, tightest } = await consume(request, group);
      if (refusal) {
        metrics.refused.inc({ limit: refusal.kind });
        return tooManyRequests(request, reply, refusal);
      }
      if (tightest) limitHeaders(reply, tightest);
    }

    // Capacity protects this replica, so it applies to owners too.
    const gate = group === undefined ? undefined : gates.get(group);
    if (group !== undefined && gate !== undefined) {
      const release = gate.tryEnter();
      if (!release) {
        metrics.refused.inc({ limit: 'concurrency' });
        return atCapacity(reply, group, gate.capacity);
      }
      // 'close' comes when the response is done and also when the client goes away first.
      reply.raw.once('close', release);
    }
  });

  // Per client: after the body is parsed (the token endpoint's client_id is in it), before
  // any route work, so a refused request costs no client lookup. Callback style: for the
  // routes without a per-client limit this is one property read, not a promise.
  app.addHook('preValidation', (request, reply, done) => {
    const limiter = ownLimiter('client', request.routeOptions.config.rateLimitPerClient ?? 0);
    const clientId = limiter && !ownerBypass(request) ? clientIdOf(request) : undefined;
    if (!limiter || clientId === undefined) return done();
    limiter.consume(clientBucket(request, clientId)).then((verdict) => {
      if (!verdict.allowed) {
        metrics.refused.inc({ limit: 'client' });
        // Answered here: the request goes no further (done is not called).
        tooManyRequests(request, reply, { kind: 'client', verdict });
        return;
      }
      // The headers tell where the caller stands on the tightest of its limits.
      const shown = reply.getHeader('x-ratelimit-remaining');
      if (shown === undefined || Number(shown) > verdict.remaining) limitHeaders(reply, verdict);
      done();
    }, done);
  });
}

/** The limiters the configuration asks for; undefined when every limit is off. */
function buildLimits(deps: RateLimitDeps): Limits | undefined {
  const { config } = deps;
  const settings: Record<RateLimitGroup, { perToken: number; concurrency: number }> = {
    proxy: { perToken: config.rateLimitPerToken, concurrency: config.proxyConcurrency },
  };
  const needsStore =
    [
      config.rateLimitApi,
      config.rateLimitOauth2Register,
      config.rateLimitOauth2RegisterPerClient,
      config.rateLimitOauth2Token,
      config.rateLimitOauth2TokenPerClient,
      config.rateLimitOauth2Authorize,
      config.rateLimitOauth2AuthorizePerClient,
    ].some((points) => points > 0) || RATE_LIMIT_GROUPS.some((g) => settings[g].perToken > 0);
  const gates = new Map<RateLimitGroup, InFlightGate>();
  for (const group of RATE_LIMIT_GROUPS) {
    if (settings[group].concurrency > 0) gates.set(group, new InFlightGate(settings[group].concurrency));
  }
  if (!needsStore && gates.size === 0) return undefined;

  const metrics = new RateLimitMetrics(deps.metrics.registry, gates);
  const store = needsStore
    ? createCounterStore({
        config,
        pool: deps.database.pool,
        logger: deps.logger,
        onFallback: (active) => metrics.fallback.set(active ? 1 : 0),
      })
    : undefined;
  const perToken = new Map<RateLimitGroup, Limiter>();
  for (const group of RATE_LIMIT_GROUPS) {
    const points = settings[group].perToken;
    if (store && points > 0) perToken.set(group, store.limiter(`token:${group}`, points, WINDOW_SECONDS));
  }
  const perRoute =
    store && config.rateLimitApi > 0
      ? store.limiter('route', config.rateLimitApi, WINDOW_SECONDS)
      : undefined;
  return { store, perRoute, perToken, gates, metrics };
}

function ownerBypass(request: FastifyRequest): boolean {
  const actor = request.actor;
  return request.headers[BYPASS_HEADER] === 'true' && actor !== undefined && hasOwnerPrivileges(actor);
}
