import Fastify from 'fastify';
import { loadConfig } from '../src/config/index.ts';
import { createLogger, logDestination, Metrics } from '../src/observability/index.ts';
import { startServer } from '../src/runtime/index.ts';
import { benchDatabase } from './lib/database.ts';
import { load } from './lib/load.ts';
import { report } from './lib/report.ts';

/**
 * /healthz through Latchkey's full stack (request ids, logging, metrics, security
 * headers, error mapping) against the same route on a bare fastify: the price of the
 * middleware. Rounds alternate so drift on the machine hits both sides alike.
 */
export async function benchHealthz(seconds = 5, rounds = 2): Promise<void> {
  const database = await benchDatabase('healthz');
  const metrics = new Metrics();
  const server = await startServer({
    config: loadConfig({
      env: {},
      overrides: { databaseUrl: database.url, httpAddress: { host: '127.0.0.1', port: 0 } },
    }),
    // Every line is still built and written: to /dev/null instead of a terminal.
    logger: createLogger('info', logDestination('/dev/null')),
    metrics,
  });
  const bare = Fastify();
  bare.get('/healthz', async () => ({ status: 'ok' }));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/healthz`;

  try {
    await load(bareUrl, 1);
    await load(`${server.url}/healthz`, 1);
    const queriesBefore = (await metrics.dbQueries.get()).values[0]?.value ?? 0;
    let requests = 0;
    const full: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < rounds; i++) {
      base.push((await load(bareUrl, seconds)).requestsPerSecond);
      const r = await load(`${server.url}/healthz`, seconds);
      full.push(r.requestsPerSecond);
      requests += r.requestsPerSecond * seconds;
    }
    const queries = ((await metrics.dbQueries.get()).values[0]?.value ?? 0) - queriesBefore;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ratio = mean(full) / mean(base);
    report(
      'healthz',
      [
        { name: 'bare fastify /healthz (baseline)', value: mean(base), unit: 'req/s' },
        {
          name: 'Latchkey /healthz, full stack',
          value: mean(full),
          unit: 'req/s',
          ratio,
          target: '>= 0.70',
          met: ratio >= 0.7,
        },
        {
          name: 'PostgreSQL round trips per request',
          value: queries / Math.max(1, requests),
          unit: 'queries',
        },
      ],
      { database: database.where, seconds, rounds },
    );
  } finally {
    await bare.close();
    await server.close();
    await database.close();
  }
}
