import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';

const db = useTestDatabase();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(db.url);
});
afterAll(() => server.close());

describe('health and metrics', () => {
  it('/healthz answers while the process is up', async () => {
    const res = await server.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz checks the database and migrations', async () => {
    const res = await server.request('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'ok', migrations: 'ok' } });
  });

  it('/metrics counts requests by route pattern and status, and reports the pool', async () => {
    await server.request('/healthz');
    await server.request('/no/such/thing?id=1');
    const res = await server.request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/latchkey_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/);
    expect(text).toMatch(/latchkey_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).toContain('latchkey_http_request_duration_seconds_bucket');
    expect(text).toMatch(/latchkey_db_pool_connections\{state="total"\} \d+/);
    expect(text).toMatch(/latchkey_db_queries_total [1-9]/);
    // Raw paths never become label values: a scan of ids would explode the series count.
    expect(text).not.toContain('/no/such/thing');
  });
});

describe('request logging', () => {
  it('writes one line per request with a request id, and echoes the id', async () => {
    const res = await server.request('/no/route?code=SECRET-CODE', {
      headers: { authorization: 'Bearer lk_SECRET_TOKEN', 'x-request-id': 'trace-abc.123' },
    });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    const lines = server.logs.records.filter((r) => r.request_id === 'trace-abc.123');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', method: 'GET', path: '/no/route', status: 404 });
    expect(server.logs.text()).not.toContain('SECRET');
  });

  it('replaces a request id that could inject text into logs', async () => {
    const res = await server.request('/healthz', {
      headers: { 'x-request-id': 'evil"\\n{"level":"fatal"}' },
    });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets baseline security headers on every response', async () => {
    const res = await server.request('/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
