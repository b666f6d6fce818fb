import { type ChildProcess, fork } from 'node:child_process';
import type { AdapterKind, Answer, Command, MintedCode, Stats } from './oidc-provider-server.ts';

// The parent's side of bench/lib/oidc-provider-server.ts: forks it, waits until it listens,
// and asks it (over the IPC channel) to mint codes and refresh tokens through its models.

export interface OidcProviderProcess {
  readonly url: string;
  readonly pid: number;
  readonly adapter: AdapterKind;
  mintRefreshTokens(count: number): Promise<string[]>;
  mintCodes(count: number): Promise<MintedCode[]>;
  stats(): Promise<Stats>;
  /** Stops the server and waits for the process to exit (writing its CPU profile, if asked for). */
  stop(): Promise<void>;
}

type Request = Command extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

export async function startOidcProvider(options: {
  readonly adapter: AdapterKind;
  readonly port: number;
  readonly databaseUrl?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly execArgv?: readonly string[];
}): Promise<OidcProviderProcess> {
  const args = ['--port', String(options.port), '--adapter', options.adapter];
  if (options.databaseUrl) args.push('--database-url', options.databaseUrl);
  const child: ChildProcess = fork(new URL('./oidc-provider-server.ts', import.meta.url), args, {
    execArgv: [...(options.execArgv ?? [])],
    // oidc-provider as it is deployed; its start-up notices go to stderr, kept for errors.
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pending = new Map<number, (answer: Answer) => void>();
  let failed: Error | undefined;
  let nextId = 1;
  let ready: ((url: string) => void) | undefined;
  child.on('message', (answer: Answer) => {
    if (answer.kind === 'ready') ready?.(answer.url);
    else pending.get(answer.id)?.(answer);
  });
  void exited.then((code) => {
    failed = new Error(`oidc-provider (${options.adapter}) exited with ${code}: ${stderr.trim()}`);
  });

  const url = await Promise.race([
    new Promise<string>((resolve) => {
      ready = resolve;
    }),
    exited.then(() => {
      throw failed;
    }),
  ]);

  const ask = (request: Request): Promise<Answer> => {
    if (failed) return Promise.reject(failed);
    const id = nextId++;
    return Promise.race([
      new Promise<Answer>((resolve) => {
        pending.set(id, (answer) => {
          pending.delete(id);
          resolve(answer);
        });
        child.send({ ...request, id } as Command);
      }),
      exited.then((): Answer => {
        throw failed;
      }),
    ]);
  };

  return {
    url,
    pid: child.pid ?? 0,
    adapter: options.adapter,
    async mintRefreshTokens(count) {
      const answer = await ask({ kind: 'mint-refresh-tokens', count });
      if (answer.kind !== 'refresh-tokens') throw new Error(`unexpected answer ${answer.kind}`);
      return answer.values;
    },
    async mintCodes(count) {
      const answer = await ask({ kind: 'mint-codes', count });
      if (answer.kind !== 'codes') throw new Error(`unexpected answer ${answer.kind}`);
      return answer.codes;
    },
    async stats() {
      const answer = await ask({ kind: 'stats' });
      if (answer.kind !== 'stats') throw new Error(`unexpected answer ${answer.kind}`);
      return answer.stats;
    },
    async stop() {
      if (child.exitCode !== null) return;
      await ask({ kind: 'stop' }).catch(() => undefined);
      await exited;
    },
  };
}
