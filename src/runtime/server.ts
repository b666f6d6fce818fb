import type { FastifyInstance } from 'fastify';
import { cachedLookup, KEYS_CHANNEL, KeyCache, OidcLogin, OidcSessionCheck } from '../apikeys/index.ts';
import { AUTHZ_CHANNEL, authorizingStore, encodeChange, SubjectCache, systemActors } from '../authz/index.ts';
import type { Config } from '../config/index.ts';
import {
  createPubSub,
  createStore,
  type DatabaseHandle,
  migrateToLatest,
  openDatabase,
  type StoreHooks,
  waitForDatabase,
} from '../db/index.ts';
import { checkEncryptionKeys, dbcryptStore, Keyring } from '../dbcrypt/index.ts';
import { LinkCache, type RefreshTiming } from '../externalauth/index.ts';
import { type Authenticator, buildApp, keyAuthenticator, markDraining } from '../http/index.ts';
import { ClientCache, JwtAccessTokens, SigningKeys } from '../oauth2/index.ts';
import { type Logger, Metrics } from '../observability/index.ts';
import { resolveDatabase } from './database.ts';
import { startPurge } from './purge.ts';
import { wireVault } from './vault.ts';

export interface ServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Adds routes before the server listens (tests and embedders). */
  readonly extend?: (app: FastifyInstance) => void;
  /** Who is calling; until API keys exist only tests supply one. */
  readonly authenticate?: Authenticator;
  /** Tests: shorter refresh retry timing, http:// OIDC issuers. */
  readonly refreshTiming?: Partial<RefreshTiming>;
  readonly allowInsecureIssuers?: boolean;
}

export interface RunningServer {
  /** Base URL of the listening socket, e.g. http://127.0.0.1:3000. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly database: DatabaseHandle;
  readonly metrics: Metrics;
  readonly subjects: SubjectCache;
  readonly keys: KeyCache;
  readonly links: LinkCache;
  readonly clients: ClientCache;
  /** Drains requests, then closes the pool, then stops an embedded PostgreSQL. Idempotent. */
  close(): Promise<void>;
}

/** The HTTP address is taken; the message says which and what to do. */
export class AddressInUseError extends Error {
  constructor(address: string) {
    super(
      `Cannot listen on ${address}: the address is already in use by another process. ` +
        'Stop that process or choose another address with LATCHKEY_HTTP_ADDRESS (or --http-address).',
    );
    this.name = 'AddressInUseError';
  }
}

/**
 * Starts Latchkey: database (embedded or external), migrations, then HTTP. Whatever has
 * started is stopped again if a later step fails, so a failed start leaves nothing behind.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const metrics = options.metrics ?? new Metrics();
  const cleanup: Array<() => Promise<void>> = [];
  const unwind = async () => {
    for (const step of cleanup.reverse())
      await step().catch((err) => logger.error({ err }, 'cleanup failed'));
  };
  try {
    const resolved = await resolveDatabase(config, logger);
    if (resolved.embedded) cleanup.push(resolved.embedded.stop);
    await waitForDatabase(resolved.url, { timeoutMs: config.dbConnectTimeout, logger });
    const database = openDatabase({
      url: resolved.url,
      poolMax: config.dbPoolMax,
      metrics,
      logger,
      queryMetrics: config.dbQueryMetrics,
      txMaxAttempts: config.dbTxMaxAttempts,
      preparedStatements: config.dbPreparedStatements,
    });
    cleanup.push(database.close);
    const applied = await migrateToLatest(database.db);
    for (const m of applied)
      logger.info({ migration: m.migrationName, status: m.status }, 'migration applied');

    const pubsub = createPubSub({ url: resolved.url, db: database.db, logger });
    cleanup.push(() => pubsub.close());
    // Role writes announce themselves on the same executor, so inside a transaction the
    // other replicas hear of a change only once it is committed. This replica also drops
    // its own entry at once, so the caller's next request never waits for the echo.
    let subjects: SubjectCache | undefined;
    const keys = new KeyCache();
    // Upstream tokens are encrypted between the raw store and the authorizing store, so
    // every caller reads and writes plaintext (DC-1); a no-op without keys.
    const keyring = Keyring.from(config.externalTokenEncryptionKeys);
    // Link rows are cached on the request path; every write to one says so (LinkCache).
    const links = new LinkCache();
    // OAuth clients and their secrets are cached too: every grant and introspection starts
    // by authenticating one (ClientCache).
    const clients = new ClientCache();
    const linkChanged: NonNullable<StoreHooks['linkChanged']> = (db, key) => links.changed(pubsub, key, db);
    const plain = createStore(database.db, database.inTx, {
      linkChanged,
      rolesChanged: (db, change) => {
        subjects?.invalidate(change);
        if ('userId' in change) keys.dropUser(change.userId);
        return pubsub.publish(AUTHZ_CHANNEL, encodeChange(change), db);
      },
      // Revocation is immediate: this replica drops the key now, the others on NOTIFY.
      keyDeleted: (db, keyId) => {
        keys.dropKey(keyId);
        return pubsub.publish(KEYS_CHANNEL, keyId, db);
      },
      appChanged: (db) => clients.changed(pubsub, db),
    });
    const raw = dbcryptStore(plain, keyring);
    const authz = authorizingStore(clients.wrap(links.wrap(raw)));
    // DC-3: data this server cannot decrypt stops it here, not request by request.
    const keyCheck = await checkEncryptionKeys(authz.as(systemActors.systemDbcrypt), keyring);
    logger.info(
      {
        encrypting_with: keyring.primary?.digest ?? null,
        keys: keyring.digests,
        keys_in_use: keyCheck.inUse,
      },
      keyring.primary ? 'upstream tokens are encrypted at rest' : 'upstream tokens are stored unencrypted',
    );
    for (const digest of keyCheck.revokedHeld) {
      logger.warn(
        { key: digest },
        'an encryption key given to this server was revoked; it only decrypts now: remove it from LATCHKEY_EXTERNAL_TOKEN_ENCRYPTION_KEYS',
      );
    }
    subjects = new SubjectCache(authz.as(systemActors.systemAuthn));
    cleanup.push(await keys.attach(pubsub, logger));
    cleanup.push(await links.attach(pubsub, logger));
    cleanup.push(await clients.attach(pubsub, logger));
    const stopPurge = startPurge(authz, logger);
    cleanup.push(async () => stopPurge());
    const vault = await wireVault({
      config,
      database,
      keyring,
      linkChanged,
      pubsub,
      logger,
      metrics,
      refreshTiming: options.refreshTiming,
      allowInsecureIssuers: options.allowInsecureIssuers,
    });
    cleanup.push(vault.close);
    const oidcLogin = new OidcLogin({
      config,
      authz,
      logger,
      allowInsecureIssuer: options.allowInsecureIssuers ?? false,
    });
    const oidcSessions = new OidcSessionCheck({
      login: oidcLogin,
      refresher: vault.refresher,
      store: authz.as(systemActors.systemAuthn),
      logger,
    });
    // One signing-key holder per replica; the keys themselves are shared through the database.
    const jwt = new JwtAccessTokens({
      issuer: config.accessUrl,
      resources: config.oauth2JwtResources,
      keys: new SigningKeys({
        store: authz.as(systemActors.systemOAuth2),
        keyring,
        algorithm: config.oauth2JwtAlgorithm,
        rotationMs: config.oauth2SigningKeyRotation,
      }),
    });
    const keyLookup = cachedLookup(keys, authz.as(systemActors.systemAuthn));
    const validateKey = keyAuthenticator({
      config,
      lookup: keyLookup,
      keys,
      subjects,
      store: authz.as(systemActors.systemAuthn),
      logger,
      oidcSessions,
      jwt,
    });
    cleanup.push(await subjects.attach(pubsub, logger));

    const app = buildApp({
      config,
      logger,
      metrics,
      database,
      authz,
      subjects,
      validateKey,
      vault: vault.vault,
      linkFlow: vault.linkFlow,
      oidcLogin,
      jwt,
      keyLookup,
      authenticate: options.authenticate,
    });
    cleanup.push(() => app.close());
    options.extend?.(app);
    const { host, port } = config.httpAddress;
    try {
      await app.listen({ host, port });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        throw new AddressInUseError(`${host}:${port}`);
      throw err;
    }
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    logger.info({ url, access_url: config.accessUrl, pid: process.pid }, 'Latchkey is listening');

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        await drain(app, config.shutdownTimeout, logger);
        cleanup.pop(); // app already closed
        await unwind();
      })();
      return closing;
    };
    return { url, app, database, metrics, subjects, keys, links, clients, close };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/** Stops accepting, lets in-flight requests finish, and cuts the rest off after `timeoutMs`. */
async function drain(app: FastifyInstance, timeoutMs: number, logger: Logger): Promise<void> {
  const timer = setTimeout(() => {
    logger.warn(
      { timeout_ms: timeoutMs },
      'requests still running at shutdown timeout; closing their connections',
    );
    app.server.closeAllConnections();
  }, timeoutMs);
  markDraining(app);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
