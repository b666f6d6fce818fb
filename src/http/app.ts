import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { ApiKeyValidationError, KeyLookup, OidcLogin } from '../apikeys/index.ts';
import type { AuthzStore, SubjectCache } from '../authz/index.ts';
import type { Config } from '../config/index.ts';
import type { DatabaseHandle } from '../db/index.ts';
import type { LinkFlowDeps, Vault } from '../externalauth/index.ts';
import type { JwtAccessTokens } from '../oauth2/index.ts';
import { resourceMetadataUrl } from '../oauth2/index.ts';
import type { Logger, Metrics } from '../observability/index.ts';
import { type Authenticator, registerActor } from './auth/actor.ts';
import { registerCsrfCheck } from './auth/csrf.ts';
import type { PresentedToken } from './auth/token-source.ts';
import type { AuthOutcome } from './auth/types.ts';
import { registerDrainHook } from './drain.ts';
import { registerErrorHandling } from './error-handler.ts';
import { registerHealthRoutes } from './health.ts';
import { registerMetricsRoute } from './metrics-route.ts';
import { registerOAuthCors } from './oauth2-cors.ts';
import { registerRateLimits } from './ratelimit/index.ts';
import { registerRequestObserver, requestId } from './request-observer.ts';
import { registerApiRoutes } from './routes/index.ts';
import { registerSecurityHeaders } from './security-headers.ts';

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly database: DatabaseHandle;
  readonly authz: AuthzStore;
  readonly subjects: SubjectCache;
  /** Validates an API key or session token (see auth/api-key.ts). */
  readonly validateKey: (presented: PresentedToken) => Promise<AuthOutcome | ApiKeyValidationError>;
  /** The token vault and the link flow (external auth). */
  readonly vault: Vault;
  readonly linkFlow: LinkFlowDeps;
  /** OIDC sign-in (disabled unless configured). */
  readonly oidcLogin: OidcLogin;
  /** RFC 9068 JWT access tokens: signing, verification, the published key set. */
  readonly jwt: JwtAccessTokens;
  /** Keys by id through the key cache (introspection). */
  readonly keyLookup: KeyLookup;
  /** Replaces the default authenticator (tests). */
  readonly authenticate?: Authenticator | undefined;
}

/** Builds the fastify app without listening, so tests and benchmarks pick their port. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; widening keeps the app's type the default one.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Our request observer writes the one line per request; fastify's two are off.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestId,
    requestIdHeader: false,
    // request.ip (rate-limit buckets, logs) honours X-Forwarded-For only from these proxies;
    // from anyone else the header is ignored, so a client cannot pick its own address.
    trustProxy: deps.config.trustProxy,
    // Reject at once while closing, so load balancers retry another replica.
    return503OnClosing: true,
  });
  registerErrorHandling(app, deps.config.accessUrl);
  registerRequestObserver(app, deps.metrics);
  registerSecurityHeaders(app);
  registerOAuthCors(app);
  registerDrainHook(app);
  registerHealthRoutes(app, deps.database.db);
  registerMetricsRoute(app, deps.metrics);
  registerActor(app, deps.authenticate, {
    subjects: deps.subjects,
    authz: deps.authz,
    validateKey: deps.validateKey,
    allowAccessTokenQuery: deps.config.allowAccessTokenQuery,
    resourceMetadataUrl: resourceMetadataUrl(deps.config.accessUrl),
  });
  registerRateLimits(app, deps);
  registerCsrfCheck(app, deps.config.accessUrl);
  registerApiRoutes(app, deps);
  return app;
}
