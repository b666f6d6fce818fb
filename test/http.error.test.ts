import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/http/index.ts';
import { useTestDatabase } from './kit/database.ts';
import { startTestServer, type TestServer } from './kit/server.ts';

const db = useTestDatabase();
let server: TestServer;
beforeAll(async () => {
  // Routes that exist only in this test, to drive the shared error mapping.
  server = await startTestServer(db.url, {
    extend: (app) => {
      app.post('/test/echo', async (request) => ({ got: request.body }));
      app.get('/test/api-error', async () => {
        throw new ApiError(409, 'Name already taken.', 'choose another name');
      });
      app.get('/test/crash', async () => {
        throw new Error('connection string postgres://u:hunter2@db leaked into an error');
      });
    },
  });
});
afterAll(() => server.close());

const postJson = (body: string, type = 'application/json') =>
  server.request('/test/echo', { method: 'POST', headers: { 'content-type': type }, body });

describe('error responses are JSON { message, detail? } with the right status', () => {
  it('accepts a well-formed JSON body', async () => {
    const res = await postJson('{"a":1}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: { a: 1 } });
  });

  it('malformed JSON → 400', async () => {
    const res = await postJson('{"a":');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ message: 'The request body is not valid JSON.' });
  });

  it('empty JSON body → 400', async () => {
    const res = await postJson('');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      message: 'The request body is empty but Content-Type says JSON.',
    });
  });

  it('a content type the API does not speak → 415', async () => {
    const res = await postJson('<a/>', 'application/xml');
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ message: 'Unsupported Content-Type; send application/json.' });
  });

  it('unknown route → 404', async () => {
    const res = await server.request('/api/v1/nothing-here', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      message: 'Not found.',
      detail: 'No route for DELETE /api/v1/nothing-here',
    });
  });

  it('an ApiError keeps its status, message and detail', async () => {
    const res = await server.request('/test/api-error');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ message: 'Name already taken.', detail: 'choose another name' });
  });

  it('an unexpected error is a 500 that reveals nothing but the request id', async () => {
    const res = await server.request('/test/crash');
    expect(res.status).toBe(500);
    const body = (await res.json()) as { message: string; detail: string };
    expect(body.message).toBe('Internal server error.');
    expect(body.detail).toBe(`request id ${res.headers.get('x-request-id')}`);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    // The cause is in the log for operators.
    expect(server.logs.records.some((r) => r.msg === 'unhandled error')).toBe(true);
  });
});
