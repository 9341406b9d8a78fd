// The MCP server (https://modelcontextprotocol.io): Streamable HTTP, stateless. Every POST builds a
// fresh server and transport (`sessionIdGenerator: undefined`), so no state outlives a request and
// the function scales to zero like the others. GET (a standalone SSE stream) and DELETE (ending a
// session) have no meaning without sessions: the host answers them 405, as the SDK's stateless
// example does. Auth is the host's: a user's API token; tools check its scope themselves.
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { rawRoute } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";
import { buildMcpServer } from "./tools.ts";

/** A JSON-RPC 2.0 message (or batch), for the generated API description. */
const jsonRpcMessageSchema = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.string(), z.number()]).optional(),
  method: z.string(),
  params: z.record(z.string(), z.unknown()).optional(),
});

export const mcpRoute = rawRoute({
  method: "POST",
  path: "/mcp",
  auth: "read",
  summary: "MCP Streamable HTTP endpoint (JSON-RPC 2.0; stateless, JSON responses)",
  body: z.union([jsonRpcMessageSchema, z.array(jsonRpcMessageSchema)]),
  async handle({ req, res, principal }, ctx) {
    if (!principal) throw problems.unauthorized();
    const server = buildMcpServer({ principal, authorization: req.headers.authorization!, ctx });
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
