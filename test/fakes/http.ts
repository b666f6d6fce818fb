import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FlavourProfile } from './flavours.ts';

const MAX_BODY_BYTES = 64 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** A form body; JSON bodies too when `acceptJson` (GitHub takes both). `null` = wrong type. */
export async function readParams(req: IncomingMessage, acceptJson: boolean): Promise<URLSearchParams | null> {
  const raw = await readBody(req);
  const type = mediaType(req);
  if (type === 'application/x-www-form-urlencoded') return new URLSearchParams(raw);
  if (type === 'application/json' && acceptJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw || '{}');
    } catch {
      return null;
    }
    const params = new URLSearchParams();
    if (parsed && typeof parsed === 'object') {
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') params.set(k, v);
    }
    return params;
  }
  return null;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendHtml(res: ServerResponse, status: number, title: string, text: string): void {
  const html = `<!doctype html><title>${title}</title><h1>${title}</h1><p>${text}</p>\n`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
  });
  res.end(html);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

function acceptsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').toLowerCase().includes('application/json');
}

/**
 * A token or device endpoint answer: JSON with `Cache-Control: no-store`, except that
 * GitHub answers form-urlencoded unless the client sends `Accept: application/json`.
 */
export function sendOAuth(
  req: IncomingMessage,
  res: ServerResponse,
  profile: FlavourProfile,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache', ...headers };
  if (profile.formUnlessJsonAccepted && !acceptsJson(req)) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) if (v !== undefined) form.set(k, String(v));
    const text = form.toString();
    res.writeHead(status, {
      'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...noStore,
    });
    res.end(text);
    return;
  }
  sendJson(res, status, body, noStore);
}

/** `Authorization: Bearer x` (GitHub also takes `token x`). */
export function bearerToken(req: IncomingMessage, alsoTokenScheme: boolean): string | undefined {
  const match = /^(\S+)\s+(\S+)$/.exec(req.headers.authorization ?? '');
  if (!match?.[1] || !match[2]) return undefined;
  const scheme = match[1].toLowerCase();
  return scheme === 'bearer' || (alsoTokenScheme && scheme === 'token') ? match[2] : undefined;
}

/** HTTP Basic credentials, each part form-urlencoded as RFC 6749 §2.3.1 says. */
export function basicCredentials(
  req: IncomingMessage,
): { id: string; secret: string } | 'malformed' | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
