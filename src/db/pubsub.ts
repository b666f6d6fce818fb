import { setTimeout as delay } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from '../observability/index.ts';
import type { Database } from './schema.ts';
import { describeDatabaseUrl } from './wait.ts';

/** PostgreSQL LISTEN/NOTIFY, so stateless replicas can tell each other to drop cached state. */
export interface PubSub {
  /**
   * Starts listening on `channel` (if not already) and calls `listener` with each payload.
   * Resolves once LISTEN is active, waiting through a reconnection if need be. Returns an
   * unsubscribe function (UNLISTEN when the last listener of a channel goes).
   */
  subscribe(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Sends a notification. With `executor` (a Kysely instance or transaction) it runs on it, so
   * inside a transaction it is delivered only at COMMIT and never on rollback. Without, it uses
   * the pool.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any database's Kysely or transaction can carry a notification.
  publish(channel: string, payload: string, executor?: Kysely<any>): Promise<void>;
  /**
   * Called after the dedicated LISTEN connection was lost and re-established: notifications
   * sent meanwhile were missed, so callers must drop their caches. Returns a remover.
   */
  onReconnect(listener: () => void): () => void;
  /** Stops reconnecting and ends the LISTEN connection; later subscribes reject. */
  close(): Promise<void>;
}

export interface PubSubOptions {
  readonly url: string;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** Injected so tests control the reconnection backoff without sleeping. */
  readonly sleep?: (ms: number) => Promise<void>;
}

// Lower case only: pg_notify takes the name verbatim while LISTEN folds an unquoted one, so
// mixed case would make the two disagree. 63 bytes is PostgreSQL's identifier limit.
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
// NOTIFY refuses a payload of 8000 bytes or more (BLCKSZ - NAMEDATALEN - 128).
const MAX_PAYLOAD_BYTES = 7999;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

type Listener = (payload: string) => void;

function assertChannel(channel: string): void {
  if (!CHANNEL.test(channel)) {
    throw new TypeError(`pubsub channel must match ${CHANNEL}, got ${JSON.stringify(channel)}`);
  }
}

const closedError = () => new Error('pubsub is closed');
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createPubSub(options: PubSubOptions): PubSub {
  const { url, db, logger } = options;
  const database = describeDatabaseUrl(url);
  const channels = new Map<string, Set<Listener>>();
  const reconnectListeners = new Set<() => void>();
  const stop = new AbortController();
  const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()));
  const sleep =
    options.sleep ?? ((ms: number) => delay(ms, undefined, { signal: stop.signal }).catch(() => {}));

  /** Connected, and listening on exactly `listening`. */
  let client: pg.Client | undefined;
  let listening = new Set<string>();
  /** Still connecting: close() must be able to abort it. */
  let opening: pg.Client | undefined;
  // LISTEN, UNLISTEN and reconnection run one at a time, so they take effect in the order
  // asked for and a reconnection never interleaves with a half-done subscribe.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task);
    queue = result.catch(() => {});
    return result;
  };

  function deliver(message: pg.Notification): void {
    // A copy: a listener may subscribe or unsubscribe while we iterate.
    for (const listener of [...(channels.get(message.channel) ?? [])]) {
      try {
        listener(message.payload ?? '');
      } catch (err) {
        logger.error({ err, channel: message.channel }, 'pubsub listener threw');
      }
    }
  }

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({
      connectionString: url,
      application_name: 'latchkey-pubsub',
      connectionTimeoutMillis: 10_000,
      // A LISTEN connection never writes, so without keepalive a peer that vanished without
      // closing the socket (failover, NAT timeout) would go unnoticed and notifications lost.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    c.on('notification', deliver);
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    opening = c;
    try {
      await c.connect();
      const wanted = [...channels.keys()];
      if (wanted.length > 0)
        await c.query(wanted.map((ch) => `LISTEN ${pg.escapeIdentifier(ch)}`).join('; '));
      if (stop.signal.aborted) throw closedError();
      listening = new Set(wanted);
      client = c;
      return c;
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    } finally {
      opening = undefined;
    }
  }

  /** The live connection, reconnecting with capped exponential backoff until closed. */
  async function ensureClient(): Promise<pg.Client> {
    for (let wait = BACKOFF_MIN_MS; ; wait = Math.min(wait * 2, BACKOFF_MAX_MS)) {
      if (stop.signal.aborted) throw closedError();
      if (client) return client;
      try {
        return await connect();
      } catch (err) {
        if (stop.signal.aborted) throw closedError();
        logger.warn({ err: messageOf(err), database, retryInMs: wait }, 'LISTEN connection failed, retrying');
        await Promise.race([sleep(wait), stopped]);
      }
    }
  }

  function lost(c: pg.Client, err?: Error): void {
    if (c !== client) return; // a failed attempt, or the client close() is ending
    client = undefined;
    c.end().catch(() => {});
    logger.warn(
      { err: err?.message ?? 'connection ended', database },
      'LISTEN connection lost, reconnecting',
    );
    serially(async () => {
      await ensureClient();
      logger.info({ database }, 'LISTEN connection re-established');
      for (const listener of [...reconnectListeners]) {
        try {
          listener();
        } catch (error) {
          logger.error({ err: error }, 'pubsub reconnect listener threw');
        }
      }
    }).catch(() => {}); // rejects only once closed
  }

  /**
   * Brings the connection's LISTEN for `channel` in line with whether anyone subscribes to it.
   * Without `connect`, a lost connection is left alone: the next one listens on exactly the
   * subscribed channels anyway.
   */
  async function sync(channel: string, connect: boolean): Promise<void> {
    for (;;) {
      const c = connect ? await ensureClient() : client;
      if (!c) return;
      const wanted = channels.has(channel);
      if (wanted === listening.has(channel)) return;
      try {
        await c.query(`${wanted ? 'LISTEN' : 'UNLISTEN'} ${pg.escapeIdentifier(channel)}`);
        if (wanted) listening.add(channel);
        else listening.delete(channel);
        return;
      } catch (err) {
        if (c === client) throw err;
      }
    }
  }

  return {
    async subscribe(channel, listener) {
      assertChannel(channel);
      if (stop.signal.aborted) throw closedError();
      // Its own function, so the same listener subscribed twice is two subscriptions.
      const entry: Listener = (payload) => listener(payload);
      const set = channels.get(channel) ?? new Set();
      channels.set(channel, set);
      set.add(entry);
      const remove = () => {
        if (!set.delete(entry)) return false;
        if (set.size === 0 && channels.get(channel) === set) channels.delete(channel);
        return true;
      };
      try {
        await serially(() => sync(channel, true));
      } catch (err) {
        remove();
        throw err;
      }
      return async () => {
        if (remove() && !stop.signal.aborted) await serially(() => sync(channel, false));
      };
    },

    async publish(channel, payload, executor) {
      assertChannel(channel);
      const bytes = Buffer.byteLength(payload, 'utf8');
      if (bytes > MAX_PAYLOAD_BYTES) {
        throw new RangeError(
          `pubsub payload on "${channel}" is ${bytes} bytes; PostgreSQL NOTIFY takes at most ${MAX_PAYLOAD_BYTES}`,
        );
      }
      await sql`SELECT pg_notify(${channel}, ${payload})`.execute(executor ?? db);
    },

    onReconnect(listener) {
      const entry = () => listener();
      reconnectListeners.add(entry);
      return () => {
        reconnectListeners.delete(entry);
      };
    },

    async close() {
      if (stop.signal.aborted) return;
      stop.abort();
      const ending = [client, opening];
      client = undefined;
      await Promise.all(ending.map((c) => c?.end().catch(() => {})));
      await queue;
    },
  };
}
