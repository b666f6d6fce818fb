import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type ServerResponse,
} from 'node:http';

/**
 * An HTTP reverse proxy that signs every request with one bearer token, for clients that
 * cannot authenticate themselves (the MCP conformance suite sends no token). Bodies stream
 * both ways as they arrive, so an SSE answer reaches the client event by event.
 *
 * Like a reverse proxy configured to keep it, the client's Host header is passed through
 * unchanged: the server sees the Host (and Origin) the client sent, not the proxy's target.
 */
export interface BearerProxy {
  /** The proxy's origin, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Requests forwarded so far. */
  readonly forwarded: number;
  close(): Promise<void>;
}

// RFC 9110 §7.6.1: they describe one connection, not the message, so they are not forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    (headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value;
  }
  return out;
}

/** Listens on a random port of 127.0.0.1 and forwards to `target` (an origin). */
export async function startBearerProxy(target: string, token: string): Promise<BearerProxy> {
  const upstream = new URL(target);
  // Its own pool of upstream connections, so close() can end them: idle keep-alive
  // connections of the global agent would hold the target server's close() until they time out.
  const agent = new Agent({ keepAlive: true });
  let forwarded = 0;

  const forward = (client: IncomingMessage, answer: ServerResponse) => {
    forwarded++;
    const outgoing = request({
      agent,
      host: upstream.hostname,
      port: upstream.port,
      method: client.method,
      path: client.url,
      headers: { ...endToEnd(client.headers), authorization: `Bearer ${token}` },
    });
    outgoing.on('response', (reply) => {
      answer.writeHead(reply.statusCode ?? 502, reply.statusMessage, endToEnd(reply.headers));
      // Each chunk is written as it comes; nothing is buffered to the end of the answer.
      reply.pipe(answer);
      reply.on('error', () => answer.destroy());
    });
    outgoing.on('error', (err) => {
      if (answer.headersSent) {
        answer.destroy();
        return;
      }
      answer.writeHead(502, { 'content-type': 'text/plain' });
      answer.end(`bearer proxy: ${err.message}`);
    });
    // A client that goes away (e.g. cancels an SSE stream) ends the upstream request too.
    answer.on('close', () => {
      if (!answer.writableFinished) outgoing.destroy();
    });
    client.pipe(outgoing);
  };

  const server = createServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get forwarded() {
      return forwarded;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
