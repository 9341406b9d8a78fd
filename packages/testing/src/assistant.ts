// The assistant beside everything it reaches, each app beside its own sidecar (the local one, or
// real daprd with ORBIT_DAPR_RUNTIME=daprd): the command functions and audit-log under their real
// app-ids, mcp (app-id `mcp`, which the assistant invokes by name) and the assistant with the
// state store (and, for the model path, a secret store holding `assistant-model`).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseSse } from "#core/assistant/contract.ts";
import type { FunctionDef } from "#platform/host.ts";
import { COMMAND_APPS } from "#tasks/client.ts";
import {
  routes as auditRoutes,
  subscriptions as auditSubscriptions,
} from "../../../functions/audit-log/handler.ts";
import { assistantEnvSchema, routes as assistantRoutes } from "../../../functions/assistant/handler.ts";
import { routes as completeRoutes } from "../../../functions/complete-task/handler.ts";
import { routes as createRoutes } from "../../../functions/create-task/handler.ts";
import { routes as deleteRoutes } from "../../../functions/delete-task/handler.ts";
import { routes as mcpRoutes } from "../../../functions/mcp/handler.ts";
import { routes as updateRoutes } from "../../../functions/update-task/handler.ts";
import { secretStoreYaml, stateStoreYaml } from "./components.ts";
import {
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "./sidecar-pair.ts";
import { workerDatabaseUrl } from "./worker-db.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Pair = FunctionWithSidecar<any>;

export interface AssistantWorld {
  assistant: Pair;
  mcp: Pair;
  resourcesPath: string;
  /** Starts the assistant (and its sidecar) again, e.g. after `assistant.close()`. */
  restartAssistant(): Promise<Pair>;
  close(): Promise<void>;
}

export async function startAssistantWorld(
  options: {
    model?: { base_url: string; model: string; api_key: string };
    env?: Record<string, string>;
  } = {},
): Promise<AssistantWorld> {
  const files: Record<string, string> = {
    "pubsub.yaml": PUBSUB_COMPONENT,
    "statestore.yaml": stateStoreYaml(await workerDatabaseUrl(), ["assistant"]),
  };
  let resourcesPath = await resourcesFolder(files);
  if (options.model) {
    const secrets = path.join(resourcesPath, "secrets.json");
    await writeFile(secrets, JSON.stringify({ "assistant-model": options.model }));
    resourcesPath = await resourcesFolder({
      ...files,
      "secretstore.yaml": secretStoreYaml(secrets, "assistant-secrets"),
    });
  }
  const commands: [string, FunctionDef["routes"]][] = [
    [COMMAND_APPS.create, createRoutes],
    [COMMAND_APPS.update, updateRoutes],
    [COMMAND_APPS.complete, completeRoutes],
    [COMMAND_APPS.delete, deleteRoutes],
  ];
  const pairs: Pair[] = await Promise.all([
    ...commands.map(([name, r]) =>
      startFunctionWithSidecar({ name, routes: r, outbox: true }, { resourcesPath, appId: name }),
    ),
    startFunctionWithSidecar(
      { name: "audit-log", routes: auditRoutes, subscriptions: auditSubscriptions },
      { resourcesPath },
    ),
    startFunctionWithSidecar({ name: "mcp", routes: mcpRoutes }, { resourcesPath, appId: "mcp" }),
  ]);
  const startAssistant = () =>
    startFunctionWithSidecar(
      { name: "assistant", env: assistantEnvSchema, routes: assistantRoutes },
      { resourcesPath, appId: "assistant", env: options.env },
    );
  let assistant = await startAssistant();
  const world: AssistantWorld = {
    get assistant() {
      return assistant;
    },
    mcp: pairs.at(-1)!,
    resourcesPath,
    async restartAssistant() {
      assistant = await startAssistant();
      return assistant;
    },
    async close() {
      await Promise.all([assistant.close().catch(() => {}), ...pairs.map((p) => p.close())]);
    },
  };
  return world;
}

export interface ChatReply {
  status: number;
  /** The SSE events in order (empty when the answer was a problem). */
  events: { event: string; data: AnyData }[];
  /** The problem+json body when the answer was not a stream. */
  problem: AnyData;
  contentType: string | null;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyData = any;

/** POST /v1/chat and read the whole stream. */
export async function chat(
  base: string,
  auth: string | undefined,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ChatReply> {
  const response = await fetch(`${base}/v1/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  const contentType = response.headers.get("content-type");
  if (contentType?.startsWith("text/event-stream"))
    return {
      status: response.status,
      events: parseSse(text) as ChatReply["events"],
      problem: null,
      contentType,
    };
  return { status: response.status, events: [], problem: text ? JSON.parse(text) : null, contentType };
}

/** The reply's text (every `text` delta joined). */
/** The events of a turn that calls one tool and then answers in `textPieces` text events. */
export const toolTurnEvents = (textPieces: number): string[] => [
  "conversation",
  "tool",
  "tool-result",
  ...Array<string>(textPieces).fill("text"),
  "tasks",
  "done",
];

export function replyText(reply: ChatReply): string {
  return reply.events
    .filter((e) => e.event === "text")
    .map((e) => (e.data as { delta: string }).delta)
    .join("");
}

/**
 * The assistant alone beside its sidecar with the state store (no mcp: a turn that calls a tool
 * ends with an `error` event), for suites that exercise its routes, not its tools.
 */
export async function startAssistantAlone(env: Record<string, string> = {}): Promise<Pair> {
  const resourcesPath = await resourcesFolder({
    "statestore.yaml": stateStoreYaml(await workerDatabaseUrl(), []),
  });
  return startFunctionWithSidecar(
    { name: "assistant", env: assistantEnvSchema, routes: assistantRoutes },
    { resourcesPath, env },
  );
}
