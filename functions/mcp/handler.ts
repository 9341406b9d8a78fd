// The MCP server (https://modelcontextprotocol.io): Streamable HTTP, stateless. Every POST builds a
// fresh server and transport (`sessionIdGenerator: undefined`), so no state outlives a request and
// the function scales to zero like the others. GET (a standalone SSE stream) and DELETE (ending a
// session) have no meaning without sessions: the host answers them 405, as the SDK's stateless
// example does. Auth is the host's: a user's API token; tools check its scope themselves. The tools
// (#tasks/mcp-tools.ts) act through the command client as the caller, named as an agent.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Response } from "express";
import { z } from "zod";
import { AGENT_ACTOR } from "#platform/auth.ts";
import { rawRoute } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";
import { createTaskCommands } from "#tasks/client.ts";
import { registerTools, SERVER_INFO, SERVER_INSTRUCTIONS } from "#tasks/mcp-tools.ts";

/** A JSON-RPC 2.0 message (or batch), for the generated API description. */
const jsonRpcMessageSchema = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.string(), z.number()]).optional(),
  method: z.string(),
  params: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Each JSON-RPC message of a batch is one unit of the token's per-minute limit, so a batch cannot
 * carry more calls than single requests could. A batch that does not fit is refused whole, with
 * nothing executed: Streamable HTTP says a server that cannot accept the input MUST answer with an
 * HTTP error status, its body MAY be a JSON-RPC error without an id
 * (https://modelcontextprotocol.io/specification/2025-03-26/basic/transports#sending-messages-to-the-server),
 * and JSON-RPC has no way to say "not now" for part of a batch — answering some messages and not
 * others would leave a client to work out which writes happened. (Protocol 2025-06-18 dropped
 * batches; the SDK still accepts them from 2025-03-26 clients.) A batch larger than the limit can
 * never fit: its error says so.
 */
const rateLimit = {
  cost: (body: unknown) => (Array.isArray(body) ? Math.max(1, body.length) : 1),
  refuse(res: Response, retryAfterSeconds: number) {
    const messages = Array.isArray(res.req.body) ? res.req.body.length : 1;
    res
      .status(429)
      .setHeader("Retry-After", String(retryAfterSeconds))
      .json({
        jsonrpc: "2.0",
        id: null,
        error: {
          code: -32000,
          message: `Rate limit exceeded: this request holds ${messages} JSON-RPC message${messages === 1 ? "" : "s"}, each counted against your token's limit per minute. Retry after ${retryAfterSeconds} s, or send fewer at once.`,
          data: { retry_after_seconds: retryAfterSeconds, messages },
        },
      });
  },
};

export const mcpRoute = rawRoute({
  method: "POST",
  path: "/mcp",
  auth: "read",
  summary: "MCP Streamable HTTP endpoint (JSON-RPC 2.0; stateless, JSON responses)",
  body: z.union([jsonRpcMessageSchema, z.array(jsonRpcMessageSchema)]),
  rateLimit,
  async handle({ req, res, principal }, ctx) {
    if (!principal) throw problems.unauthorized();
    const server = new McpServer(SERVER_INFO, { instructions: SERVER_INSTRUCTIONS });
    registerTools(server, {
      principal,
      commands: createTaskCommands(ctx.dapr),
      caller: { authorization: req.headers.authorization!, actor: AGENT_ACTOR },
      db: ctx.db,
      log: ctx.log,
      now: () => ctx.now(),
    });
    // JSON responses rather than an SSE stream: every tool answers in one reply, and a plain JSON
    // body passes through any proxy (Knative's queue-proxy, Dapr) without buffering surprises.
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  },
});

export const routes = [mcpRoute];
