import type { AuthzObject } from './object.ts';
import type { Subject } from './subject.ts';

interface Entry<V> {
  readonly value: V;
  readonly expires: number;
}

/**
 * A cache many callers share (RB-6). It is filled by a system actor, never by the caller,
 * and every read is authorized for the caller. Filling it as the caller would let the
 * first one decide what everyone sees: a caller who may not see an object would leave
 * "not found" behind for the next caller who may. Misses are not cached, so an object
 * created a moment ago is found at once.
 */
export class SharedCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #load: (key: string) => Promise<V | undefined>;
  readonly #toObject: (value: V) => AuthzObject;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** `load` must read as a system actor allowed to see every value. */
  constructor(options: {
    load: (key: string) => Promise<V | undefined>;
    toObject: (value: V) => AuthzObject;
    ttlMs: number;
    now?: () => number;
  }) {
    this.#load = options.load;
    this.#toObject = options.toObject;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** The value if it exists and `caller` may read it; undefined otherwise (alike). */
  async get(caller: Subject, key: string): Promise<V | undefined> {
    let entry = this.#entries.get(key);
    if (entry === undefined || entry.expires <= this.#now()) {
      const value = await this.#load(key);
      if (value === undefined) {
        this.#entries.delete(key);
        return undefined;
      }
      entry = { value, expires: this.#now() + this.#ttlMs };
      this.#entries.set(key, entry);
    }
    return caller.can('read', this.#toObject(entry.value)) ? entry.value : undefined;
  }

  clear(): void {
    this.#entries.clear();
  }
}
