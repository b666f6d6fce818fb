import http from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

// N callers at one moment, for storms such as many agents asking for a token at its
// expiry. The callers run in a worker thread, so their work does not share the event loop
// of the in-process servers being measured (as load.ts does for autocannon). Connections
// are opened beforehand (`warm`), so a caller's latency is the server's answer, not a
// TCP handshake queued behind 499 others.

export interface BurstCall {
  readonly status: number;
  readonly ms: number;
  /** The value of the `pick` field of a 200 JSON answer, or the error text otherwise. */
  readonly value: string;
}

export interface BurstResult {
  readonly calls: readonly BurstCall[];
  /** Wall time from the first request sent to the last answer. */
  readonly spanMs: number;
}

interface FireCommand {
  readonly kind: 'fire';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly count: number;
  readonly pick: string;
}
type Command = { readonly kind: 'warm'; readonly path: string } | FireCommand;

/** A client with `socketsPerOrigin` kept-alive connections to each origin. */
export class Burst {
  readonly #worker: Worker;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  static start(origins: readonly string[], socketsPerOrigin: number): Burst {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { burst: true, origins, socketsPerOrigin },
    });
    return new Burst(worker);
  }

  /** Opens every connection (a concurrent GET of `path` per socket); resolves with how many are open. */
  warm(path = '/healthz'): Promise<number> {
    return this.#send({ kind: 'warm', path }) as Promise<number>;
  }

  /** `count` GETs of `path`, spread round-robin over the origins, all sent in one tick. */
  fire(path: string, count: number, headers: Record<string, string>, pick: string): Promise<BurstResult> {
    return this.#send({ kind: 'fire', path, headers, count, pick }) as Promise<BurstResult>;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #send(command: Command): Promise<unknown> {
    const next = this.#queue.then(
      () =>
        new Promise((resolve, reject) => {
          const onError = (err: Error) => reject(err);
          this.#worker.once('error', onError);
          this.#worker.once('message', (answer: unknown) => {
            this.#worker.off('error', onError);
            resolve(answer);
          });
          this.#worker.postMessage(command);
        }),
    );
    this.#queue = next.catch(() => {});
    return next;
  }
}

function get(
  origin: string,
  agent: http.Agent,
  path: string,
  headers: Record<string, string>,
  pick: string,
): Promise<BurstCall> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(`${origin}${path}`, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - started;
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        let value = text;
        if (status === 200 && pick !== '') {
          try {
            value = String((JSON.parse(text) as Record<string, unknown>)[pick] ?? '');
          } catch {
            value = '(unparseable)';
          }
        }
        resolve({ status, ms, value });
      });
    });
    req.on('error', (err) => resolve({ status: 0, ms: performance.now() - started, value: err.message }));
  });
}

function serve(origins: readonly string[], socketsPerOrigin: number): void {
  const port = parentPort;
  if (!port) return;
  const agents = origins.map(
    () => new http.Agent({ keepAlive: true, maxSockets: socketsPerOrigin, maxFreeSockets: socketsPerOrigin }),
  );
  const open = () =>
    agents.reduce((n, a) => n + Object.values(a.freeSockets).reduce((m, s) => m + (s?.length ?? 0), 0), 0);
  port.on('message', async (command: Command) => {
    if (command.kind === 'warm') {
      await Promise.all(
        origins.flatMap((origin, i) =>
          Array.from({ length: socketsPerOrigin }, () =>
            get(origin, agents[i] as http.Agent, command.path, {}, ''),
          ),
        ),
      );
      // Free sockets return to the pool on the tick after their response ends.
      await new Promise((resolve) => setImmediate(resolve));
      port.postMessage(open());
      return;
    }
    const started = performance.now();
    const calls = await Promise.all(
      Array.from({ length: command.count }, (_, i) => {
        const o = i % origins.length;
        return get(
          origins[o] as string,
          agents[o] as http.Agent,
          command.path,
          command.headers,
          command.pick,
        );
      }),
    );
    port.postMessage({ calls, spanMs: performance.now() - started } satisfies BurstResult);
  });
}

if (!isMainThread && (workerData as { burst?: boolean } | null)?.burst === true) {
  const data = workerData as { origins: string[]; socketsPerOrigin: number };
  serve(data.origins, data.socketsPerOrigin);
}
