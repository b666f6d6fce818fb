import type { DataStore, OAuth2App, OAuth2AppSecret, PubSub } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';

/** Replicas tell each other an OAuth client (an app or its secrets) changed here. */
export const APPS_CHANNEL = 'latchkey_oauth2_apps';

const TTL_MS = 60_000;
const MAX_ENTRIES = 20_000;

/**
 * OAuth clients (apps, by client_id and by id) and their hashed secrets, so the token,
 * introspection and revocation endpoints authenticate a client without a query: every
 * grant starts with one, and a resource server introspects on every request it serves.
 * Like the link cache it sits beneath the authorizing store (each read is still checked
 * against the caller). Apps change rarely, so any change to any app (the store's appChanged
 * hook) drops everything, here at once and on every replica by NOTIFY at commit: a deleted secret or app stops working
 * everywhere within the notification's delay. A lost LISTEN connection drops everything.
 * Misses are not cached (a client registered a moment ago is found on its first use).
 */
export class ClientCache {
  readonly #entries = new Map<string, { value: unknown; expires: number }>();
  // Bumped by every drop: a read that raced a write must not cache what it read.
  #epoch = 0;
  readonly #now: () => number;
  readonly #clearListeners = new Set<() => void>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** `store` with the client reads served from this cache; everything else passes through. */
  wrap<S extends DataStore>(store: S): S {
    const byClientId = store.getOAuth2AppByClientId.bind(store);
    const byId = store.getOAuth2AppById.bind(store);
    const secrets = store.listOAuth2AppSecrets.bind(store);
    const cached: Pick<DataStore, 'getOAuth2AppByClientId' | 'getOAuth2AppById' | 'listOAuth2AppSecrets'> = {
      getOAuth2AppByClientId: (arg) => this.#through(`c:${arg.clientId}`, () => byClientId(arg)),
      getOAuth2AppById: (arg) => this.#through(`i:${arg.id}`, () => byId(arg)),
      listOAuth2AppSecrets: (arg) => this.#through(`s:${arg.appId}`, () => secrets(arg)),
    };
    return Object.assign(Object.create(store) as S, store, cached);
  }

  clear(): void {
    this.#epoch++;
    this.#entries.clear();
    for (const listener of this.#clearListeners) listener();
  }

  /** For tests: called whenever the cache is dropped (a change here or on another replica). */
  onClear(listener: () => void): () => void {
    this.#clearListeners.add(listener);
    return () => this.#clearListeners.delete(listener);
  }

  /** Tells the other replicas (and this one) that a client changed; on the writer's executor. */
  async changed(pubsub: PubSub, executor?: Parameters<PubSub['publish']>[2]): Promise<void> {
    this.clear();
    await pubsub.publish(APPS_CHANNEL, '*', executor);
  }

  async attach(pubsub: PubSub, logger: Logger): Promise<() => Promise<void>> {
    const off = await pubsub.subscribe(APPS_CHANNEL, () => this.clear());
    const offReconnect = pubsub.onReconnect(() => {
      logger.info('LISTEN connection restored; dropping cached OAuth clients');
      this.clear();
    });
    return async () => {
      offReconnect();
      await off();
    };
  }

  async #through<T extends OAuth2App | OAuth2AppSecret[] | undefined>(
    id: string,
    read: () => Promise<T>,
  ): Promise<T> {
    const hit = this.#entries.get(id);
    if (hit && hit.expires > this.#now()) return hit.value as T;
    const epoch = this.#epoch;
    const value = await read();
    if (value !== undefined && epoch === this.#epoch) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(id, { value, expires: this.#now() + TTL_MS });
    }
    return value;
  }
}
