import type { FastifyRequest } from 'fastify';
import { expect } from 'vitest';
import type { RoleChange } from '../../src/db/index.ts';
import type { AuthContext, Authenticator } from '../../src/http/index.ts';
import type { TestServer } from './server.ts';
import { asUser } from './test-auth.ts';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON, the text of any other body, or undefined when empty. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields freely.
  readonly body: any;
}

export interface CallOptions {
  /** Make the request as this user (test authenticator); anonymous when unset. */
  readonly as?: { id: string } | undefined;
  /** Sent as JSON. */
  readonly json?: unknown;
  /** Sent verbatim, with `contentType` (default application/json). */
  readonly raw?: string;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
}

export type Call = (method: string, path: string, options?: CallOptions) => Promise<ApiResponse>;

/** A small client for API tests: `call('PUT', '/api/v1/…', { as: user, json: {...} })`. */
export function apiClient(server: TestServer): Call {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (options.raw !== undefined) {
      body = options.raw;
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const res = await server.request(path, {
      method,
      headers: options.as ? asUser(options.as, headers) : headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    const isJson = res.headers.get('content-type')?.includes('application/json') ?? false;
    return {
      status: res.status,
      headers: res.headers,
      body: text === '' ? undefined : isJson ? JSON.parse(text) : text,
    };
  };
}

/** The API's one error shape: `{ message, detail? }`, both strings. */
export function expectError(res: ApiResponse, status: number, message?: RegExp | string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({
    status,
    body: { message: expect.any(String) },
  });
  expect(Object.keys(res.body as object).every((k) => k === 'message' || k === 'detail')).toBe(true);
  if (res.body.detail !== undefined) expect(typeof res.body.detail).toBe('string');
  if (message !== undefined) {
    const text = `${res.body.message} ${res.body.detail ?? ''}`;
    if (typeof message === 'string') expect(text).toContain(message);
    else expect(text).toMatch(message);
  }
}

/**
 * Resolves when `server`'s subject cache has been told of a role change matching
 * `match` (LISTEN/NOTIFY, so it lands shortly after the write's response). Call it
 * before making the change, await it after.
 */
export function invalidated(server: TestServer, match: (change: RoleChange) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = server.subjects.onInvalidate((change) => {
      if (change === 'all' || match(change)) {
        off();
        resolve();
      }
    });
  });
}

export const userChanged = (userId: string) => (c: RoleChange) => 'userId' in c && c.userId === userId;
export const orgChanged = (organizationId: string) => (c: RoleChange) =>
  'organizationId' in c && c.organizationId === organizationId;

/**
 * Wraps an authenticator so that requests carrying `x-test-rendezvous: <key>/<n>` wait,
 * once authenticated, until `n` requests with that key have been: a race test then knows
 * every racer was authenticated with the roles it had before any of them changed anything.
 */
export function rendezvous(inner: Authenticator): Authenticator {
  const groups = new Map<string, { arrived: number; release: () => void; all: Promise<void> }>();
  return async (request: FastifyRequest, context: AuthContext) => {
    const subject = await inner(request, context);
    const header = request.headers['x-test-rendezvous'];
    if (typeof header !== 'string') return subject;
    const [key = '', n = '2'] = header.split('/');
    let group = groups.get(key);
    if (!group) {
      let release = () => {};
      const all = new Promise<void>((resolve) => {
        release = resolve;
      });
      group = { arrived: 0, release, all };
      groups.set(key, group);
    }
    group.arrived++;
    if (group.arrived >= Number(n)) {
      groups.delete(key);
      group.release();
    }
    await group.all;
    return subject;
  };
}
