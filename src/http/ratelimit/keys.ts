import { hash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ipv6Groups } from '../../net/ipv6.ts';

/**
 * The bucket a request counts against: who is calling and which route, by its pattern
 * (`GET /api/v1/users/:user`), never the raw URL, so ids in paths never split a bucket.
 * Unknown paths share one bucket per caller.
 */
export function routeBucket(request: FastifyRequest): string {
  return `${callerOf(request)}:${request.method} ${request.routeOptions.url ?? '(unmatched)'}`;
}

/** The authenticated user, else the client address (its /64 for IPv6). */
export function callerOf(request: FastifyRequest): string {
  const actor = request.actor;
  return actor ? `user:${actor.id}` : `ip:${addressBucket(request.ip)}`;
}

/**
 * The bucket of one OAuth client's requests from one caller on a route. Keyed by the
 * caller as well as the client on purpose: client_ids are public (anyone may send a public
 * client's), so a bucket per client alone would let one address use up a client's budget
 * and lock every user of that client out. This way an address spends only its own share,
 * which its per-caller bucket bounds anyway, while one runaway client at a shared address
 * (a NAT, a gateway serving many clients) cannot spend everyone else's. The client_id is
 * hashed: it is the caller's text (up to an https URL of kilobytes) and ends up as a key
 * in Redis or PostgreSQL.
 */
export function clientBucket(request: FastifyRequest, clientId: string): string {
  const client = hash('sha256', clientId, 'hex').slice(0, 32);
  return `${callerOf(request)}:client:${client}:${request.method} ${request.routeOptions.url ?? '(unmatched)'}`;
}

/**
 * The OAuth client a request names: the user part of `Authorization: Basic`
 * (client_secret_basic, RFC 6749 §2.3.1, form-urlencoded), else the route's `:clientId`
 * (RFC 7592 management), else `client_id` in a form or JSON body, else in the query. Only
 * for rate limiting: the endpoint itself decides whether the client is real.
 */
export function clientIdOf(request: FastifyRequest): string | undefined {
  const basic = basicUser(request.headers.authorization);
  if (basic) return basic;
  const param = (request.params as Record<string, unknown> | undefined)?.clientId;
  if (typeof param === 'string' && param !== '') return param;
  const body = request.body;
  const fromBody =
    body instanceof URLSearchParams
      ? body.get('client_id')
      : typeof body === 'object' && body !== null
        ? (body as Record<string, unknown>).client_id
        : undefined;
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  const q = request.url.indexOf('?');
  const fromQuery = q < 0 ? null : new URLSearchParams(request.url.slice(q + 1)).get('client_id');
  return fromQuery || undefined;
}

function basicUser(authorization: string | undefined): string | undefined {
  const encoded = authorization === undefined ? undefined : /^Basic\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  try {
    return decodeURIComponent(user.replaceAll('+', ' '));
  } catch {
    return user;
  }
}

/**
 * The token a proxy-style request carries (`Authorization: Bearer`, else `X-Api-Key`),
 * as a SHA-256 hex digest: counter keys end up in Redis and PostgreSQL, secrets must not.
 */
export function tokenBucket(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  const bearer =
    typeof authorization === 'string' ? /^Bearer\s+(.+?)\s*$/i.exec(authorization)?.[1] : undefined;
  const header = request.headers['x-api-key'];
  const token = bearer ?? (typeof header === 'string' && header !== '' ? header : undefined);
  return token === undefined ? undefined : hash('sha256', token, 'hex');
}

/**
 * IPv4 addresses as they are; IPv6 addresses by their /64, the smallest block a site is
 * given, so one host cannot get a fresh bucket per address of its subnet.
 */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  if (!ip.includes(':')) return ip;
  const groups = ipv6HexGroups(ip);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : ip;
}

/** The eight groups of an IPv6 address in hex, without leading zeros; undefined if malformed. */
export function ipv6HexGroups(ip: string): string[] | undefined {
  return ipv6Groups(ip)?.map((g) => g.toString(16));
}
