import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { type AuthzStore, systemActors } from '../authz/index.ts';
import { type OAuth2App, RowNotFoundError } from '../db/index.ts';
import { parseClientMetadata } from './client-metadata.ts';
import { OAuthError } from './errors.ts';
import { guardedResolve, type ResolvedAddress, type Resolver, SsrfError } from './ssrf-guard.ts';

// Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document; MCP
// 2025-11-25 and later): a client names itself with an https URL, and the document at
// that URL is its registration. The URL is a stranger's choice, so the fetch is guarded:
// - https only (http only when oauth2AllowPrivateClientMetadata is on, for tests);
// - the host is resolved here and refused if any address is private, loopback,
//   link-local, unique-local, multicast or unspecified (ssrf-guard.ts), and the
//   connection goes to the address that was checked (no DNS rebinding in between);
// - no redirects (the draft forbids following them), 200 only, JSON only;
// - 5 s for the whole exchange, 64 KiB at most;
// - the document's client_id must equal the URL exactly, and it may not hold a secret.
// A fetched document is cached per replica for as long as its Cache-Control allows,
// bounded to [5 min, 24 h], and mirrored into oauth2_apps (origin metadata_document) so
// codes and tokens can reference the client by row id.

export interface DocumentOptions {
  /** Allow http and private addresses (tests, labs); never in production. */
  readonly allowPrivate: boolean;
  readonly resolver?: Resolver | undefined;
  readonly timeoutMs?: number | undefined;
  readonly maxBytes?: number | undefined;
  readonly minTtlMs?: number | undefined;
  readonly maxTtlMs?: number | undefined;
  readonly now?: (() => number) | undefined;
  readonly log?: { warn(obj: object, msg: string): void } | undefined;
}

const DEFAULTS = {
  timeoutMs: 5_000,
  maxBytes: 64 * 1024,
  minTtlMs: 5 * 60_000,
  maxTtlMs: 24 * 3_600_000,
};
const MAX_CACHED = 1_000;

/**
 * Why a document was not accepted. `transient` failures (network, timeout, 5xx) let a
 * recently fetched copy stand in; the others mean the client is not (or no longer) valid.
 */
export class DocumentError extends Error {
  readonly transient: boolean;
  constructor(message: string, transient = false) {
    super(message);
    this.name = 'DocumentError';
    this.transient = transient;
  }
}

interface Cached {
  readonly app: OAuth2App;
  readonly expires: number;
}

/** Checks a client_id URL against the draft's rules (§3); returns the reason it fails. */
export function clientIdUrlProblem(clientId: string, allowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && !(allowHttp && url.protocol === 'http:')) return 'must use https';
  if (clientId.includes('#')) return 'must not have a fragment';
  if (url.username !== '' || url.password !== '') return 'must not contain user information';
  if (url.pathname === '/') return 'must have a path';
  const rawPath =
    clientId
      .slice(clientId.indexOf('//') + 2)
      .replace(/^[^/?]*/, '')
      .split('?')[0] ?? '';
  if (/\/(\.|%2e){1,2}(\/|$)/i.test(rawPath)) return 'must not contain . or .. path segments';
  // Compared as strings with the document's client_id: one spelling only.
  if (url.href !== clientId) return `must be in canonical form (${url.href})`;
  return undefined;
}

/** Cache lifetime from Cache-Control (max-age; no-store/no-cache mean "as short as allowed"). */
export function cacheLifetimeMs(cacheControl: string | undefined, minMs: number, maxMs: number): number {
  const directives = (cacheControl ?? '').toLowerCase();
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(directives)) return minMs;
  const maxAge = /(?:^|[\s,])max-age\s*=\s*"?(\d+)/.exec(directives)?.[1];
  const ms = maxAge === undefined ? minMs : Number(maxAge) * 1000;
  return Math.min(maxMs, Math.max(minMs, ms));
}

/** Fetches, checks, caches and stores client ID metadata documents. One per server. */
export class ClientMetadataDocuments {
  readonly #authz: AuthzStore;
  readonly #options: DocumentOptions & typeof DEFAULTS;
  readonly #cache = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<OAuth2App | undefined>>();

  constructor(authz: AuthzStore, options: DocumentOptions) {
    this.#authz = authz;
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#options = { ...DEFAULTS, ...defined } as DocumentOptions & typeof DEFAULTS;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** The client the URL names, or undefined when its document is missing or invalid. */
  async resolve(clientId: string): Promise<OAuth2App | undefined> {
    const cached = this.#cache.get(clientId);
    if (cached && cached.expires > this.#now()) return cached.app;
    // Concurrent first uses of one client (authorize, then token, across tabs) fetch once.
    let pending = this.#inFlight.get(clientId);
    if (!pending) {
      pending = this.#refresh(clientId).finally(() => this.#inFlight.delete(clientId));
      this.#inFlight.set(clientId, pending);
    }
    return pending;
  }

  /** Like resolve, but says why a client is refused (for the authorize error page). */
  async explain(clientId: string): Promise<OAuth2App | DocumentError> {
    try {
      const { app } = await this.#fetchAndStore(clientId);
      return app;
    } catch (err) {
      if (err instanceof DocumentError) return err;
      throw err;
    }
  }

  async #refresh(clientId: string): Promise<OAuth2App | undefined> {
    const store = this.#authz.as(systemActors.systemClientRegistration);
    try {
      const { app, ttlMs } = await this.#fetchAndStore(clientId);
      this.#remember(clientId, { app, expires: this.#now() + ttlMs });
      return app;
    } catch (err) {
      if (!(err instanceof DocumentError)) throw err;
      this.#cache.delete(clientId);
      this.#options.log?.warn(
        { client_id: clientId, reason: err.message },
        'client metadata document refused',
      );
      if (!err.transient) return undefined;
      // The client's host is down: a copy fetched within the longest cache lifetime stands in,
      // so a brief outage of the client's web site does not log its users out.
      const stored = await store.getOAuth2AppByClientId({ clientId });
      const fresh =
        stored?.origin === 'metadata_document' &&
        stored.updated_at.getTime() > this.#now() - this.#options.maxTtlMs;
      return fresh ? stored : undefined;
    }
  }

  #remember(clientId: string, entry: Cached): void {
    if (this.#cache.size >= MAX_CACHED && !this.#cache.has(clientId)) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(clientId, entry);
  }

  async #fetchAndStore(clientId: string): Promise<{ app: OAuth2App; ttlMs: number }> {
    const problem = clientIdUrlProblem(clientId, this.#options.allowPrivate);
    if (problem) throw new DocumentError(`client_id URL ${problem}`);
    const { body, cacheControl } = await this.#fetch(new URL(clientId));
    const document = parseDocument(body, clientId);
    const store = this.#authz.as(systemActors.systemClientRegistration);
    let app: OAuth2App;
    try {
      app = await store.upsertOAuth2AppFromDocument({ clientId, ...document });
    } catch (err) {
      // A registered app already holds this client_id (the upsert leaves it alone).
      if (err instanceof RowNotFoundError) throw new DocumentError('client_id is taken by another app');
      throw err;
    }
    const { minTtlMs, maxTtlMs } = this.#options;
    return { app, ttlMs: cacheLifetimeMs(cacheControl, minTtlMs, maxTtlMs) };
  }

  async #fetch(url: URL): Promise<{ body: Buffer; cacheControl: string | undefined }> {
    const { allowPrivate, resolver, timeoutMs, maxBytes } = this.#options;
    let addresses: ResolvedAddress[];
    try {
      addresses = await guardedResolve(url.hostname, { resolver, allowPrivate });
    } catch (err) {
      if (err instanceof SsrfError) throw new DocumentError(err.message);
      throw err;
    }
    // The connection uses the addresses just checked, never a fresh lookup.
    const lookup: LookupFunction = (_host, options, callback) => {
      if (options.all) return callback(null, addresses as never);
      const first = addresses[0] as ResolvedAddress;
      callback(null, first.address, first.family);
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const fail = (message: string, transient: boolean) => {
        request.destroy();
        reject(new DocumentError(message, transient));
      };
      const timer = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`, true), timeoutMs);
      const request = client.request(url, {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'Latchkey' },
        lookup,
        agent: false,
      });
      request.on('error', (err) => {
        clearTimeout(timer);
        reject(new DocumentError(`cannot fetch the document: ${err.message}`, true));
      });
      request.on('response', (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          clearTimeout(timer);
          // 3xx are not followed (the draft forbids it); 5xx may pass, 4xx means gone.
          return fail(`the document answered HTTP ${status}, not 200`, status >= 500);
        }
        if (!isJson(response.headers['content-type'])) {
          clearTimeout(timer);
          return fail('the document is not served as application/json', false);
        }
        if (Number(response.headers['content-length'] ?? 0) > maxBytes) {
          clearTimeout(timer);
          return fail(`the document is larger than ${maxBytes} bytes`, false);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            clearTimeout(timer);
            fail(`the document is larger than ${maxBytes} bytes`, false);
          } else chunks.push(chunk);
        });
        response.on('end', () => {
          clearTimeout(timer);
          const cacheControl = response.headers['cache-control'];
          resolve({ body: Buffer.concat(chunks), cacheControl });
        });
        response.on('error', (err) => {
          clearTimeout(timer);
          reject(new DocumentError(`cannot read the document: ${err.message}`, true));
        });
      });
      request.end();
    });
  }
}

function isJson(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** The document's client metadata, or a DocumentError saying what is wrong with it. */
function parseDocument(body: Buffer, clientId: string) {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new DocumentError('the document is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DocumentError('the document is not a JSON object');
  }
  const doc = json as Record<string, unknown>;
  if (doc.client_id !== clientId) throw new DocumentError("the document's client_id is not its URL");
  if ('client_secret' in doc || 'client_secret_expires_at' in doc) {
    throw new DocumentError('the document must not contain a client secret');
  }
  try {
    return parseClientMetadata(doc, { source: 'document' });
  } catch (err) {
    if (err instanceof OAuthError) throw new DocumentError(err.description ?? err.code);
    throw err;
  }
}
