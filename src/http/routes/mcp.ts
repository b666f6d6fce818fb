import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { createMcpServer } from '../../mcp/server.ts';
import { resourceMetadataUrl } from '../../oauth2/index.ts';
import { requireAuth } from '../auth/actor.ts';
import type { RouteDeps } from './index.ts';
import { store } from './loaders.ts';

// OA-7: Latchkey's own MCP endpoint, over the streamable HTTP transport in stateless mode:
// each POST gets a new server and transport for its caller, so any replica can answer any
// request and nothing is kept between them. Authentication is the API's (a bearer token,
// in practice an OAuth access token of an MCP client); a 401 names the protected-resource
// metadata of /mcp, whose `resource` is `<access url>/mcp` (RFC 9728 §3.1, MCP spec).

export const MCP_PATH = '/mcp';

/** JSON-RPC error answers written directly to the socket (the reply is hijacked). */
function rpcError(reply: FastifyReply, status: number, code: number, message: string): void {
  if (reply.raw.headersSent) {
    reply.raw.end();
    return;
  }
  reply.raw.writeHead(status, { 'content-type': 'application/json' });
  reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

export function registerMcpRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { authz, vault, config } = deps;
  const metadataUrl = `${resourceMetadataUrl(config.accessUrl)}${MCP_PATH}`;
  // Challenges on this route point at the path-suffixed document, not the API's.
  const challengeForMcp = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    request.resourceMetadataUrl = metadataUrl;
    done();
  };
  const options = {
    config: { cors: 'oauth' as const },
    onRequest: challengeForMcp,
    preHandler: requireAuth,
  };

  app.post(MCP_PATH, options, async (request, reply) => {
    const auth = request.auth;
    const subject = request.actor;
    if (!auth || !subject) throw new Error('requireAuth let an anonymous request through');
    const server = createMcpServer(
      {
        userId: auth.userId,
        username: auth.user.username,
        subject,
        store: store(request, authz),
      },
      { vault, accessUrl: config.accessUrl },
    );
    // Stateless: no sessionIdGenerator, so no session ids (leaving it out is the SDK's
    // `sessionIdGenerator: undefined`); plain JSON answers (no tool streams progress).
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    // From here the SDK writes the answer. Headers fastify's hooks set so far (CORS,
    // security headers) live on the reply and would be lost: copy them to the socket.
    reply.hijack();
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value);
    }
    reply.raw.setHeader('cache-control', 'no-store');
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch (err) {
      request.log.error({ err }, 'MCP request failed');
      rpcError(reply, 500, -32603, 'Internal server error');
    }
  });

  // Stateless mode has no server-initiated stream (GET) and no session to end (DELETE).
  // They still authenticate first, so a client probing them gets the same challenge.
  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(405)
      .header('allow', 'POST')
      .send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  app.get(MCP_PATH, options, notAllowed);
  app.delete(MCP_PATH, options, notAllowed);
}
