import type { PubSub, RoleChange, Store, User } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';
import { type CredentialLimits, resolveSubject } from './resolve.ts';
import type { Subject } from './subject.ts';

/** The channel replicas use to say "roles changed; drop what you cached". */
export const AUTHZ_CHANNEL = 'latchkey_authz';

const MAX_ENTRIES = 10_000;
// A safety net, not the mechanism: notifications invalidate at once; this bounds the
// damage of one that was lost in a way the reconnect hook did not catch.
const TTL_MS = 5 * 60_000;

interface Entry {
  readonly subject: Subject;
  readonly userId: string;
  readonly orgIds: readonly string[];
  readonly expires: number;
}

/**
 * Resolved subjects by user, so an authenticated request costs no role queries. Every
 * replica drops a user's entry when any replica changes that user's roles, and every
 * entry touching an organization when its custom roles change (LISTEN/NOTIFY).
 */
export class SubjectCache {
  readonly #entries = new Map<string, Entry>();
  readonly #store: Store;
  readonly #now: () => number;
  readonly #listeners = new Set<(change: RoleChange | 'all') => void>();

  /** `store` must be bound to systemAuthn. */
  constructor(store: Store, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async resolve(user: User, limits: CredentialLimits = {}, limitsKey = ''): Promise<Subject> {
    const key = `${user.id}|${limitsKey}`;
    const hit = this.#entries.get(key);
    if (hit && hit.expires > this.#now()) return hit.subject;
    const subject = await resolveSubject(this.#store, user, limits);
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    const orgIds = [
      ...new Set(subject.roles.flatMap((r) => (r.id.organizationId ? [r.id.organizationId] : []))),
    ];
    this.#entries.set(key, { subject, userId: user.id, orgIds, expires: this.#now() + TTL_MS });
    return subject;
  }

  invalidate(change: RoleChange | 'all'): void {
    if (change === 'all') this.#entries.clear();
    else {
      for (const [key, e] of this.#entries) {
        if ('userId' in change ? e.userId === change.userId : e.orgIds.includes(change.organizationId)) {
          this.#entries.delete(key);
        }
      }
    }
    for (const l of this.#listeners) l(change);
  }

  /** For tests and metrics: called after each invalidation. */
  onInvalidate(listener: (change: RoleChange | 'all') => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Listens for role changes from every replica (this one included). */
  async attach(pubsub: PubSub, logger: Logger): Promise<() => Promise<void>> {
    const unsubscribe = await pubsub.subscribe(AUTHZ_CHANNEL, (payload) => {
      const change = parseChange(payload);
      if (change) this.invalidate(change);
      else {
        logger.warn(
          { payload: payload.slice(0, 200) },
          'unreadable authz notification; dropping every cached subject',
        );
        this.invalidate('all');
      }
    });
    // Changes made while the LISTEN connection was down were never heard.
    const removeReconnect = pubsub.onReconnect(() => this.invalidate('all'));
    return async () => {
      removeReconnect();
      await unsubscribe();
    };
  }
}

export function encodeChange(change: RoleChange): string {
  return JSON.stringify(change);
}

function parseChange(payload: string): RoleChange | undefined {
  try {
    const v = JSON.parse(payload) as Record<string, unknown>;
    if (typeof v.userId === 'string') return { userId: v.userId };
    if (typeof v.organizationId === 'string') return { organizationId: v.organizationId };
  } catch {
    // fall through
  }
  return undefined;
}
