// Role and status changes arrive on authz's channel: a suspended user's keys must stop at once.
import { AUTHZ_CHANNEL } from '../authz/index.ts';
import type { ApiKey, PubSub, User } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';

/** Replicas tell each other a key is gone (deleted, revoked) on this channel. */
export const KEYS_CHANNEL = 'latchkey_api_keys';

const TTL_MS = 60_000;
const MAX_ENTRIES = 50_000;

interface Entry {
  readonly key: ApiKey;
  readonly user: User;
  readonly expires: number;
}

/**
 * Validated keys and their users by key id, so an authenticated request needs no query.
 * The secret is still compared and expiry checked on every request. Deleting a key, or
 * changing its user, drops the entry on every replica through LISTEN/NOTIFY; a lost LISTEN
 * connection drops everything, since notifications may have been missed meanwhile.
 */
export class KeyCache {
  readonly #entries = new Map<string, Entry>();
  // Bumped by every drop. A lookup notes it before reading the database and caches what it
  // read only if nothing was dropped meanwhile: a row read just before a key was deleted
  // must not be cached after the deletion was heard (revocation would then wait for the TTL).
  #epoch = 0;
  readonly #now: () => number;
  readonly #dropListeners = new Set<(id: string) => void>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get(id: string): { key: ApiKey; user: User } | undefined {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    if (e.expires <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return e;
  }

  /** The moment to pass to set() for a row about to be read. */
  snapshot(): number {
    return this.#epoch;
  }

  /** Caches a row read since `snapshot` — unless something was dropped meanwhile. */
  set(key: ApiKey, user: User, snapshot: number): void {
    if (snapshot !== this.#epoch) return;
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key.id, { key, user, expires: this.#now() + TTL_MS });
  }

  /** Keeps a cached row in step after this replica writes to it (last_used, expiry). */
  update(key: ApiKey): void {
    const e = this.#entries.get(key.id);
    if (e) this.#entries.set(key.id, { ...e, key });
  }

  dropKey(id: string): void {
    this.#epoch++;
    this.#entries.delete(id);
    for (const l of this.#dropListeners) l(id);
  }

  /** For tests and metrics: called with the id of every key dropped. */
  onDrop(listener: (id: string) => void): () => void {
    this.#dropListeners.add(listener);
    return () => this.#dropListeners.delete(listener);
  }

  dropUser(userId: string): void {
    this.#epoch++;
    for (const [id, e] of this.#entries) if (e.user.id === userId) this.#entries.delete(id);
  }

  clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  async attach(pubsub: PubSub, logger: Logger): Promise<() => Promise<void>> {
    const offKeys = await pubsub.subscribe(KEYS_CHANNEL, (payload) => this.dropKey(payload));
    const offUsers = await pubsub.subscribe(AUTHZ_CHANNEL, (payload) => {
      try {
        const change = JSON.parse(payload) as { userId?: unknown };
        if (typeof change.userId === 'string') this.dropUser(change.userId);
      } catch {
        logger.warn('unreadable authz notification; dropping every cached key');
        this.clear();
      }
    });
    const offReconnect = pubsub.onReconnect(() => this.clear());
    return async () => {
      offReconnect();
      await offKeys();
      await offUsers();
    };
  }
}
