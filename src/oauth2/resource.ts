// Resource indicators (RFC 8707): the audience an access token is bound to. Values are
// compared after normalisation (lower-case scheme and host, default port dropped, empty
// path as `/`), so `HTTPS://Example.com:443` and `https://example.com/` are one resource.

/** The normal form of a resource URI, or undefined when it is not an acceptable one. */
export function normaliseResource(text: string): string | undefined {
  if (text.length === 0 || text.length > 2048 || /\s/.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  // RFC 8707 §2: an absolute URI without a fragment. Userinfo has no place in an audience.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (text.includes('#') || url.username !== '' || url.password !== '') return undefined;
  // WHATWG URL parsing lower-cases scheme and host, drops the default port and turns an
  // empty path into `/`: exactly the comparison RFC 8707 and the MCP spec ask for.
  return url.href;
}

/** This server's own audience: the access URL, normalised. */
export function ownResource(accessUrl: string): string {
  return normaliseResource(accessUrl) ?? accessUrl;
}

/**
 * Whether `inner` is `outer` or a resource below it (same origin, path under outer's at a
 * `/` boundary): `https://x/mcp` is within `https://x/`, `https://x/mcpx` is not within
 * `https://x/mcp`. Both must be normalised.
 */
export function isWithin(inner: string, outer: string): boolean {
  if (inner === outer) return true;
  return inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}

/**
 * Whether a token bound to `audience` is for this server (its API and MCP endpoint live
 * under the access URL). A token for another resource server is refused here, however
 * valid it is there (OA-5).
 */
export function isOwnAudience(audience: string, accessUrl: string): boolean {
  const normal = normaliseResource(audience);
  return normal !== undefined && isWithin(normal, ownResource(accessUrl));
}

/**
 * Whether a client may ask for a token bound to `resource`: this server, or another
 * resource server on https (plain http only on a loopback address, for local development).
 */
export function isAcceptableResource(resource: string, accessUrl: string): boolean {
  if (isWithin(resource, ownResource(accessUrl))) return true;
  const url = new URL(resource);
  return url.protocol === 'https:' || ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}
