import type { PubSub } from '../db/index.ts';
import type { LinkEvents } from './vault.ts';

export const LINKED_CHANNEL = 'latchkey_external_auth_linked';

/**
 * "User U linked provider P", told to every replica, so a `?wait=true` poll on one replica
 * wakes the moment the browser finishes linking on another. One LISTEN per replica;
 * waiters are local listeners on it.
 */
export async function pubsubLinkEvents(pubsub: PubSub): Promise<LinkEvents & { close(): Promise<void> }> {
  const listeners = new Map<string, Set<() => void>>();
  const unsubscribe = await pubsub.subscribe(LINKED_CHANNEL, (payload) => {
    for (const listener of listeners.get(payload) ?? []) listener();
  });
  const keyOf = (userId: string, providerId: string) => `${userId}:${providerId}`;
  return {
    async onLinked(userId, providerId, listener) {
      const key = keyOf(userId, providerId);
      let set = listeners.get(key);
      if (!set) {
        set = new Set();
        listeners.set(key, set);
      }
      set.add(listener);
      return async () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(key);
      };
    },
    linked: (userId, providerId) => pubsub.publish(LINKED_CHANNEL, keyOf(userId, providerId)),
    close: unsubscribe,
  };
}
