import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type CallToolResult, ErrorCode, isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ForbiddenError, type Subject } from '../authz/index.ts';
import type { DataStore } from '../db/index.ts';
import { type Vault, VaultError } from '../externalauth/index.ts';

// OA-7: Latchkey's own MCP server. One is built per request (the endpoint is stateless),
// for one authenticated caller: every tool acts as that caller, through the caller's
// authorized store, so a token's scopes and allow-list apply to tools as they do to the API.

/** Who the tools act for; the HTTP layer fills it in after authentication. */
export interface McpCaller {
  readonly userId: string;
  readonly username: string;
  readonly subject: Subject;
  /** The store as the caller (authorization checks included). */
  readonly store: DataStore;
}

export interface McpDeps {
  readonly vault: Vault;
  /** For links the user follows to link a provider. */
  readonly accessUrl: string;
}

/** Reported to clients in the initialize answer. */
const SERVER_VERSION = '0.1.0';

/** The scope that lets a credential read external-auth links, named in refusals. */
export const EXTERNAL_AUTH_READ_SCOPE = 'external_auth_link:read';

/**
 * The caller's scopes by name, read back from the subject's permissions: `latchkey:all`
 * when the credential narrows nothing, else one `resource:action` per permission.
 */
export function scopeNamesOf(subject: Subject): string[] {
  if (subject.scopes === undefined) return ['latchkey:all'];
  const names = new Set<string>();
  for (const p of subject.scopes) if (!p.negate) names.add(`${p.resourceType}:${p.action}`);
  return [...names];
}

const json = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
  structuredContent: value as Record<string, unknown>,
});

const failure = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

/** A refusal or vault error as a tool error the model can read; anything else is thrown. */
function toolError(err: unknown): CallToolResult {
  if (err instanceof VaultError) return failure(`${err.message} (${err.code})`);
  if (err instanceof ForbiddenError) return failure(`Refused: ${err.message}.`);
  throw err;
}

/**
 * Makes `server`, once connected, answer a `tools/call` naming a tool it does not have with
 * the protocol error the MCP spec gives for unknown tools (JSON-RPC Invalid params). The
 * SDK's McpServer answers a tool result with `isError` instead, as if the tool existed and
 * failed: a client (or model) cannot tell a wrong name from a failure, and the conformance
 * suite's tool scenarios "passed" against tools Latchkey does not have. The request is
 * answered before it reaches the server; every other message goes through untouched.
 */
function refuseUnknownTools(server: McpServer, tools: ReadonlySet<string>): void {
  const connect = server.connect.bind(server);
  server.connect = async (transport: Transport) => {
    await connect(transport);
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message) && message.method === 'tools/call') {
        const name = message.params?.name;
        // A missing or non-string name is a malformed request, which the SDK refuses itself.
        if (typeof name === 'string' && !tools.has(name)) {
          const refusal = { code: ErrorCode.InvalidParams, message: `Unknown tool: ${name}` };
          transport
            .send({ jsonrpc: '2.0', id: message.id, error: refusal })
            .catch((err: unknown) =>
              transport.onerror?.(err instanceof Error ? err : new Error(String(err))),
            );
          return;
        }
      }
      deliver?.(message, extra);
    };
  };
}

export function createMcpServer(caller: McpCaller, deps: McpDeps): McpServer {
  const server = new McpServer({ name: 'latchkey', version: SERVER_VERSION });
  // Every tool is registered through here, so refuseUnknownTools knows their names.
  const tools = new Set<string>();
  const registerTool: McpServer['registerTool'] = (name, config, callback) => {
    tools.add(name);
    return server.registerTool(name, config, callback);
  };
  refuseUnknownTools(server, tools);
  const linkUrl = (provider: string) =>
    `${deps.accessUrl}/external-auth/${encodeURIComponent(provider)}/link`;

  registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'The Latchkey user this connection acts as, and the scopes of its token.',
      outputSchema: { user_id: z.string(), username: z.string(), scopes: z.array(z.string()) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () =>
      json({ user_id: caller.userId, username: caller.username, scopes: scopeNamesOf(caller.subject) }),
  );

  registerTool(
    'list_external_auth',
    {
      title: 'List external auth',
      description:
        'The external providers (GitHub, …) configured on this Latchkey, and whether you are linked with each.',
      outputSchema: {
        providers: z.array(
          z.object({
            id: z.string(),
            type: z.string(),
            display_name: z.string(),
            linked: z.boolean(),
            expires_at: z.string().nullable(),
            failure_reason: z.string().nullable(),
            link_url: z.string(),
          }),
        ),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () => {
      try {
        const states = await deps.vault.list(caller.store, caller.userId);
        return json({
          providers: states.map((s) => ({
            id: s.provider.id,
            type: s.provider.type,
            display_name: s.provider.displayName,
            linked: s.linked,
            expires_at: s.expiresAt?.toISOString() ?? null,
            failure_reason: s.failureReason || null,
            link_url: linkUrl(s.provider.id),
          })),
        });
      } catch (err) {
        return toolError(err);
      }
    },
  );

  registerTool(
    'get_external_token',
    {
      title: 'Get external token',
      description: `A fresh access token for one of your linked external providers (refreshed if needed). Needs the scope ${EXTERNAL_AUTH_READ_SCOPE} (or latchkey:all).`,
      inputSchema: {
        provider: z.string().min(1).max(128).describe('Provider id, as list_external_auth names it'),
      },
      outputSchema: {
        provider: z.string(),
        access_token: z.string(),
        token_type: z.string(),
        expires_at: z.string().nullable(),
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async ({ provider }) => {
      const object = { type: 'external_auth_link' as const, id: provider, ownerId: caller.userId };
      if (!caller.subject.can('read', object)) {
        return failure(
          `This token may not read external-auth tokens: it needs the scope ${EXTERNAL_AUTH_READ_SCOPE} (or latchkey:all). Reconnect asking for it.`,
        );
      }
      try {
        const token = await deps.vault.token(caller.store, caller.userId, provider);
        return json({
          provider,
          access_token: token.accessToken,
          token_type: token.tokenType,
          expires_at: token.expiresAt?.toISOString() ?? null,
        });
      } catch (err) {
        if (err instanceof VaultError && (err.code === 'not_linked' || err.code === 'relink_required')) {
          return failure(`${err.message} Link it at ${linkUrl(provider)}`);
        }
        return toolError(err);
      }
    },
  );

  return server;
}
