import type { DataStore, ExternalAuthLink, LinkKey, PubSub } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';

/** Replicas tell each other a link changed (linked, refreshed, failed, unlinked) here. */
export const LINKS_CHANNEL = 'latchkey_external_auth_links';

const TTL_MS = 30_000;
const MAX_ENTRIES = 50_000;

const keyOf = (k: LinkKey) => `${k.userId}:${k.providerId}`;

/** The NOTIFY payload that drops every cached link on every replica. */
export const EVERY_LINK = '*';

/**
 * Link rows by (user, provider), so handing out a fresh token needs no query (an agent asks
 * for its token on every git operation). It sits beneath the authorizing store — every read
 * is still checked against the caller — and only on the request path: the refresher reads
 * under its lock straight from the database, since a stale row there would spend a refresh
 * token twice. Every write to a link drops the entry here and, by NOTIFY, on every replica;
 * a lost LISTEN connection drops everything.
 */
export class LinkCache {
  readonly #entries = new Map<string, { row: ExternalAuthLink; expires: number }>();
  // Bumped on every drop: a read that started before a write must not cache what it read.
  readonly #generations = new Map<string, number>();
  readonly #now: () => number;
  readonly #dropListeners = new Set<(id: string) => void>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** `store` with getExternalAuthLink served from this cache; everything else passes through. */
  wrap<S extends DataStore>(store: S): S {
    const read = store.getExternalAuthLink.bind(store);
    const cached: DataStore['getExternalAuthLink'] = async (key) => {
      const id = keyOf(key);
      const hit = this.#entries.get(id);
      if (hit && hit.expires > this.#now()) return hit.row;
      const generation = this.#generations.get(id) ?? 0;
      const row = await read(key);
      if (row && (this.#generations.get(id) ?? 0) === generation) this.#set(id, row);
      return row;
    };
    return Object.assign(Object.create(store) as S, store, { getExternalAuthLink: cached });
  }

  /** Drops one link; `*` (sent by tools that rewrite links in bulk, e.g. dbcrypt) drops all. */
  drop(key: LinkKey | string): void {
    const id = typeof key === 'string' ? key : keyOf(key);
    if (id === EVERY_LINK) {
      this.clear();
      for (const listener of this.#dropListeners) listener(id);
      return;
    }
    this.#entries.delete(id);
    this.#generations.set(id, (this.#generations.get(id) ?? 0) + 1);
    if (this.#generations.size > MAX_ENTRIES) this.#generations.clear();
    for (const listener of this.#dropListeners) listener(id);
  }

  /** For tests: called with `userId:providerId` of every link dropped. */
  onDrop(listener: (id: string) => void): () => void {
    this.#dropListeners.add(listener);
    return () => this.#dropListeners.delete(listener);
  }

  clear(): void {
    this.#entries.clear();
    // Any read in flight now may hold a row older than what it missed.
    for (const id of this.#generations.keys())
      this.#generations.set(id, (this.#generations.get(id) ?? 0) + 1);
  }

  /** Tells the other replicas (and this one) that a link changed; on the writer's executor. */
  async changed(pubsub: PubSub, key: LinkKey, executor?: Parameters<PubSub['publish']>[2]): Promise<void> {
    this.drop(key);
    await pubsub.publish(LINKS_CHANNEL, keyOf(key), executor);
  }

  async attach(pubsub: PubSub, logger: Logger): Promise<() => Promise<void>> {
    const off = await pubsub.subscribe(LINKS_CHANNEL, (payload) => this.drop(payload));
    const offReconnect = pubsub.onReconnect(() => {
      logger.info('LISTEN connection restored; dropping cached external-auth links');
      this.clear();
    });
    return async () => {
      offReconnect();
      await off();
    };
  }

  #set(id: string, row: ExternalAuthLink): void {
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(id, { row, expires: this.#now() + TTL_MS });
  }
}
