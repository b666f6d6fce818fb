import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { createPubSub, type DatabaseHandle, openDatabase, type PubSub } from '../src/db/index.ts';
import { createLogger, Metrics } from '../src/observability/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { LogCapture } from './kit/log-capture.ts';
import { TcpProxy } from './kit/tcp-proxy.ts';

const testDb = useTestDatabase();
let handle: DatabaseHandle;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  // Room for a transaction held open while another publish goes through the pool.
  handle = openDatabase({
    url: testDb.url,
    poolMax: 4,
    metrics: new Metrics({ processMetrics: false }),
    logger: createLogger('silent'),
  });
});
afterAll(() => handle.close());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.restoreAllMocks();
});

/** A replica's PubSub; the pool it publishes through is shared, as it does not matter here. */
function replica(options: { url?: string; logs?: LogCapture; sleep?: (ms: number) => Promise<void> } = {}) {
  const pubsub = createPubSub({
    url: options.url ?? testDb.url,
    db: handle.db,
    logger: options.logs ? createLogger('debug', options.logs) : createLogger('silent'),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  cleanups.push(() => pubsub.close());
  return pubsub;
}

function proxyFor(url: string): TcpProxy {
  const u = new URL(url);
  const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  cleanups.push(() => proxy.stop());
  return proxy;
}

/** A listener that keeps what it receives and lets the test wait for a payload. */
function inbox() {
  const payloads: string[] = [];
  const waiters: Array<{ payload: string; resolve: () => void }> = [];
  return {
    payloads,
    listener: (payload: string) => {
      payloads.push(payload);
      for (const w of waiters.filter((w) => w.payload === payload)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    received(payload: string): Promise<void> {
      if (payloads.includes(payload)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ payload, resolve }));
    },
  };
}

/**
 * Stands in for the reconnection backoff: records each delay asked for; the first `instant`
 * return at once, later ones wait for release().
 */
function heldBackoff(instant: number) {
  const delays: number[] = [];
  const held = Promise.withResolvers<void>();
  let release = () => {};
  return {
    delays,
    /** Resolves when a sleep is being held. */
    held: held.promise,
    release: () => release(),
    sleep: (ms: number) => {
      delays.push(ms);
      if (delays.length <= instant) return Promise.resolve();
      held.resolve();
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    },
  };
}

function onReconnect(pubsub: PubSub): Promise<void> {
  return new Promise((resolve) => pubsub.onReconnect(resolve));
}

it('delivers a notification published by one replica to another', async () => {
  const a = replica();
  const b = replica();
  const roles = inbox();
  await b.subscribe('roles_changed', roles.listener);

  await a.publish('roles_changed', 'user:42');
  await roles.received('user:42');
  expect(roles.payloads).toEqual(['user:42']);
});

it('quotes channel names, so a reserved word is a channel like any other', async () => {
  const a = replica();
  // Unquoted, `LISTEN user` is a syntax error. The first LISTEN runs as the connection opens,
  // the second on the open connection: two code paths.
  for (const channel of ['user', 'select']) {
    const box = inbox();
    await a.subscribe(channel, box.listener);
    await a.publish(channel, 'changed');
    await box.received('changed');
  }
});

it('delivers to every listener of a channel; unsubscribe stops only that listener', async () => {
  const a = replica();
  const [x, y, z] = [inbox(), inbox(), inbox()];
  await a.subscribe('roles_changed', x.listener);
  const unsubscribeY = await a.subscribe('roles_changed', y.listener);
  await a.subscribe('roles_changed', z.listener);

  await a.publish('roles_changed', 'one');
  await Promise.all([x.received('one'), y.received('one'), z.received('one')]);

  await unsubscribeY();
  await a.publish('roles_changed', 'two');
  await Promise.all([x.received('two'), z.received('two')]);
  // One notification reaches all of a channel's listeners in the same turn: had y still been
  // subscribed, it would have "two" by now.
  expect(y.payloads).toEqual(['one']);
  expect(x.payloads).toEqual(['one', 'two']);
});

it('a listener that throws does not stop delivery to the others', async () => {
  const logs = new LogCapture();
  const a = replica({ logs });
  const after = inbox();
  await a.subscribe('roles_changed', () => {
    throw new Error('listener bug');
  });
  await a.subscribe('roles_changed', after.listener);

  await a.publish('roles_changed', 'x');
  await after.received('x');
  await logs.waitFor((r) => r.msg === 'pubsub listener threw');
});

it('a notification in a transaction is delivered at COMMIT, and never if it rolls back', async () => {
  const publisher = replica();
  const listener = replica();
  const roles = inbox();
  await listener.subscribe('roles_changed', roles.listener);

  await expect(
    handle.db.transaction().execute(async (tx) => {
      await publisher.publish('roles_changed', 'rolled-back', tx);
      throw new Error('roll back');
    }),
  ).rejects.toThrow('roll back');
  // Notifications arrive in commit order: a marker sent afterwards proves the first never will.
  await publisher.publish('roles_changed', 'marker-1');
  await roles.received('marker-1');
  expect(roles.payloads).toEqual(['marker-1']);

  await handle.db.transaction().execute(async (tx) => {
    await publisher.publish('roles_changed', 'committed', tx);
    await publisher.publish('roles_changed', 'marker-2');
    await roles.received('marker-2');
    expect(roles.payloads).not.toContain('committed');
  });
  await roles.received('committed');
  expect(roles.payloads).toEqual(['marker-1', 'marker-2', 'committed']);
});

it('refuses invalid channel names and payloads PostgreSQL would refuse', async () => {
  const a = replica();
  for (const channel of ['', 'Roles', '1roles', 'roles-changed', 'roles"; drop', 'a'.repeat(64)]) {
    await expect(
      a.subscribe(channel, () => {}),
      channel,
    ).rejects.toThrow(TypeError);
    await expect(a.publish(channel, 'x'), channel).rejects.toThrow(TypeError);
  }

  const big = inbox();
  const longest = 'a'.repeat(63);
  await a.subscribe(longest, big.listener);
  await expect(a.publish(longest, 'x'.repeat(8000))).rejects.toThrow(/8000 bytes.*at most 7999/);
  // The limit is in bytes: 4000 two-byte characters are 8000 bytes.
  await expect(a.publish(longest, 'é'.repeat(4000))).rejects.toThrow(/8000 bytes/);
  // ...and no tighter than the server's.
  const fits = 'x'.repeat(7999);
  await a.publish(longest, fits);
  await big.received(fits);
});

it('reconnects with capped backoff after losing the connection, re-listens, and says so', async () => {
  const proxy = proxyFor(testDb.url);
  await proxy.start();
  const logs = new LogCapture();
  const backoff = heldBackoff(7);
  const b = replica({ url: proxy.urlFor(testDb.url), logs, sleep: backoff.sleep });
  const publisher = replica();
  const roles = inbox();
  await b.subscribe('roles_changed', roles.listener);
  b.onReconnect(() => {
    throw new Error('reconnect listener bug');
  });
  const reconnected = onReconnect(b);

  await publisher.publish('roles_changed', 'before');
  await roles.received('before');

  await proxy.stop();
  const lostRecord = await logs.waitFor((r) => r.msg === 'LISTEN connection lost, reconnecting');
  expect(lostRecord.level).toBe('warn');
  // Sent while b cannot hear it: why callers must drop their caches on reconnect.
  await publisher.publish('roles_changed', 'missed');
  await backoff.held;
  expect(backoff.delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);

  await proxy.start();
  backoff.release();
  await reconnected;
  await publisher.publish('roles_changed', 'after');
  await roles.received('after');
  expect(roles.payloads).toEqual(['before', 'after']);

  await logs.waitFor((r) => r.msg === 'pubsub reconnect listener threw');
  const { password } = new URL(testDb.url);
  if (password) expect(logs.text()).not.toContain(password);
});

it('close() ends the connection, stops reconnecting and refuses new subscriptions', async () => {
  const connects = vi.spyOn(pg.Client.prototype, 'connect');
  const proxy = proxyFor(testDb.url);
  await proxy.start();
  const connectsToProxy = () =>
    connects.mock.contexts.filter((c) => (c as pg.Client).port === proxy.port).length;
  const backoff = heldBackoff(0);
  const b = replica({ url: proxy.urlFor(testDb.url), sleep: backoff.sleep });
  let reconnects = 0;
  b.onReconnect(() => reconnects++);
  await b.subscribe('roles_changed', () => {});

  await proxy.stop();
  await backoff.held; // one reconnection attempt failed; the next waits on the backoff
  const attempts = connectsToProxy();
  // close() must not wait for the backoff to run out.
  await b.close();
  await proxy.start();
  backoff.release();
  // A loop still running would connect within this turn of the event loop.
  await new Promise(setImmediate);
  expect(connectsToProxy()).toBe(attempts);
  expect(reconnects).toBe(0);
  await expect(b.subscribe('roles_changed', () => {})).rejects.toThrow('pubsub is closed');

  // Closing a live connection is not mistaken for losing it.
  const logs = new LogCapture();
  const c = replica({ url: proxy.urlFor(testDb.url), logs });
  await c.subscribe('roles_changed', () => {});
  const before = connectsToProxy();
  await c.close();
  await new Promise(setImmediate);
  expect(connectsToProxy()).toBe(before);
  expect(logs.records.filter((r) => r.level === 'warn')).toEqual([]);
}, 10_000);
