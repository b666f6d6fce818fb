import { type ServerResponse, STATUS_CODES } from 'node:http';
import { sendJson } from './http.ts';
import type { FakeEndpoint, FakeFault, RefreshHold } from './types.ts';

/** Queue names: `userinfo` is the endpoint at `validateUrl`, so it shares that queue. */
type QueueName = Exclude<FakeEndpoint, 'userinfo'>;

function queueOf(endpoint: FakeEndpoint): QueueName {
  return endpoint === 'userinfo' ? 'validate' : endpoint;
}

/** Faults queued by tests, FIFO per endpoint, each for `times` requests. */
export class FaultQueue {
  readonly #queues = new Map<QueueName, Array<{ fault: FakeFault; left: number }>>();

  push(endpoint: FakeEndpoint, fault: FakeFault): void {
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error('fault.times must be a positive integer');
    const name = queueOf(endpoint);
    const queue = this.#queues.get(name) ?? [];
    queue.push({ fault, left: times });
    this.#queues.set(name, queue);
  }

  /** Takes the fault for this request from the first of `endpoints` that has one. */
  take(...endpoints: FakeEndpoint[]): FakeFault | undefined {
    for (const endpoint of endpoints) {
      const queue = this.#queues.get(queueOf(endpoint));
      const head = queue?.[0];
      if (!queue || !head) continue;
      head.left -= 1;
      if (head.left === 0) queue.shift();
      return head.fault;
    }
    return undefined;
  }
}

/** Answers a request with a fault: a status with headers and body, or a cut connection. */
export function applyFault(
  res: ServerResponse,
  fault: FakeFault,
  defaultHeaders: Record<string, string>,
): void {
  if ('network' in fault) {
    res.socket?.destroy();
    return;
  }
  const headers = { ...defaultHeaders, ...fault.headers };
  if (typeof fault.body === 'string') {
    res.writeHead(fault.status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(fault.body);
    return;
  }
  sendJson(res, fault.status, fault.body ?? { message: STATUS_CODES[fault.status] ?? 'Fault' }, headers);
}

const ARRIVAL_TIMEOUT_MS = 10_000;

interface HoldState {
  /** One resolver per held request, in arrival order. */
  held: Array<() => void>;
  /** Set by `arrived(n)`: at most this many requests are held, later ones pass. */
  capacity: number | undefined;
  waiters: Array<{ n: number; resolve: () => void; reject: (err: Error) => void }>;
}

/**
 * Holds refresh requests so a test can line up N concurrent refreshes and let them go at
 * once: the provider then handles them one by one in arrival order.
 */
export class RefreshGate {
  #current: HoldState | undefined;

  hold(): RefreshHold {
    // A new hold replaces one that a failed test left behind, so failures do not cascade.
    this.release();
    const state: HoldState = { held: [], capacity: undefined, waiters: [] };
    this.#current = state;
    return {
      arrived: (n) => this.#arrived(state, n),
      release: () => {
        if (this.#current === state) this.release();
      },
    };
  }

  /** Lets every held request through and ends the hold (also on close). */
  release(): void {
    const state = this.#current;
    this.#current = undefined;
    if (!state) return;
    for (const w of state.waiters)
      w.reject(new Error(`fake provider: released before ${w.n} refreshes arrived`));
    for (const go of state.held) go();
  }

  /** Called by the refresh grant before it looks at the refresh token. */
  pass(): Promise<void> {
    const state = this.#current;
    if (!state || (state.capacity !== undefined && state.held.length >= state.capacity)) {
      return Promise.resolve();
    }
    const passed = new Promise<void>((resolve) => state.held.push(resolve));
    const arrivals = state.held.length;
    state.waiters = state.waiters.filter((w) => {
      if (arrivals < w.n) return true;
      w.resolve();
      return false;
    });
    return passed;
  }

  #arrived(state: HoldState, n: number): Promise<void> {
    state.capacity = Math.max(state.capacity ?? 0, n);
    if (state.held.length >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        state.waiters = state.waiters.filter((w) => w.n !== n);
        reject(new Error(`fake provider: ${state.held.length} of ${n} refresh requests arrived`));
      }, ARRIVAL_TIMEOUT_MS);
      timer.unref();
      state.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }
}
