// The assistant's tools: the MCP server's tools (functions/mcp), called over MCP as any agent calls
// them — the SDK's client over Streamable HTTP — through the assistant's own Dapr sidecar (service
// invocation to app-id `mcp`), with the caller's own credential forwarded. So scopes, isolation,
// rate limits and the audit actor (`agent`) are MCP's, exactly as for an outside client; the
// assistant never touches the database itself.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import type { TaskDto } from "#core/tasks.ts";
import type { DaprClient } from "#platform/dapr-client.ts";
import { AGENT_ACTOR, ACTOR_HEADER } from "#platform/auth.ts";

export const MCP_APP_ID = "mcp";

/** A tool call's outcome as the assistant uses it: the text the server wrote, and its data. */
export interface ToolOutcome {
  ok: boolean;
  /** The server's text (for a model), or its error sentence. */
  text: string;
  structured: Record<string, unknown> | null;
  /** Tasks the result carries (created, changed or listed), in order. */
  tasks: TaskDto[];
}

/** MCP (or the path to it) failed: not a tool's answer but no answer at all. */
export class ToolboxUnavailableError extends Error {
  constructor(detail: string) {
    super(`The task tools (MCP) are unreachable: ${detail}`);
    this.name = "ToolboxUnavailableError";
  }
}

export interface Toolbox {
  listTools(): Promise<Tool[]>;
  call(name: string, args: Record<string, unknown>): Promise<ToolOutcome>;
  close(): Promise<void>;
}

function isTask(value: unknown): value is TaskDto {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { id?: unknown }).id === "string" &&
    typeof (value as { title?: unknown }).title === "string" &&
    typeof (value as { status?: unknown }).status === "string"
  );
}

/** The tasks in a tool's structured result: `task`, `items[]`, `results[].task`. */
export function tasksOf(structured: Record<string, unknown> | null): TaskDto[] {
  if (!structured) return [];
  const found: TaskDto[] = [];
  if (isTask(structured.task)) found.push(structured.task);
  if (Array.isArray(structured.items)) found.push(...structured.items.filter(isTask));
  if (Array.isArray(structured.results))
    for (const r of structured.results as { task?: unknown }[]) if (isTask(r?.task)) found.push(r.task);
  return found;
}

export function toOutcome(result: CallToolResult): ToolOutcome {
  const text = result.content
    .map((c) => (c.type === "text" ? c.text : ""))
    .join("\n")
    .trim();
  const structured = (result.structuredContent as Record<string, unknown> | undefined) ?? null;
  return { ok: result.isError !== true, text, structured, tasks: tasksOf(structured) };
}

/**
 * Connects to MCP through the sidecar as `authorization` (the caller's `Session …` or `Bearer …`),
 * named as the agent (X-Orbit-Actor), with `timeoutMs` per request.
 */
export async function connectToolbox(
  dapr: Pick<DaprClient, "invokeUrl">,
  authorization: string,
  options: { timeoutMs: number; traceparent?: string },
): Promise<Toolbox> {
  const { url, headers } = dapr.invokeUrl(MCP_APP_ID, "mcp");
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: {
      headers: {
        ...headers,
        authorization,
        [ACTOR_HEADER]: AGENT_ACTOR,
        ...(options.traceparent ? { traceparent: options.traceparent } : {}),
      },
    },
    // A sidecar that never answers must not hang the turn.
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(options.timeoutMs) }),
  });
  const client = new Client({ name: "orbit-assistant", version: "1.0.0" });
  try {
    await client.connect(transport, { timeout: options.timeoutMs });
  } catch (error) {
    await client.close().catch(() => {});
    throw new ToolboxUnavailableError((error as Error).message);
  }
  return {
    async listTools() {
      try {
        return (await client.listTools(undefined, { timeout: options.timeoutMs })).tools;
      } catch (error) {
        throw new ToolboxUnavailableError((error as Error).message);
      }
    },
    async call(name, args) {
      let result: CallToolResult;
      try {
        result = (await client.callTool({ name, arguments: args }, undefined, {
          timeout: options.timeoutMs,
        })) as CallToolResult;
      } catch (error) {
        throw new ToolboxUnavailableError((error as Error).message);
      }
      return toOutcome(result);
    },
    close: () => client.close(),
  };
}
