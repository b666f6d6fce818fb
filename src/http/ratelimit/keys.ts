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
