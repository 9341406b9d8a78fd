// The MCP tools: each one a thin adapter over what the web app already uses. Writes go to the
// command functions through this function's own Dapr sidecar (service invocation), forwarding the
// caller's token and `X-Orbit-Actor: agent` so the audit log names the agent. Reads call the same
// read paths query-tasks and audit-log serve (packages/tasks) directly on the database: a read has
// no side effect and no event to publish, so a hop through another app would only add latency and
// one more process that must be up, while the validation (the same zod schemas) stays identical.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { ORDERS, SORTS, STATUS_FILTERS, TAG_MODES, taskListQuerySchema } from "#core/task-query.ts";
import {
  createTaskSchema,
  instantSchema,
  prioritySchema,
  taskIdSchema,
  updateTaskSchema,
  type TaskDto,
} from "#core/tasks.ts";
import { ACTOR_HEADER, AGENT_ACTOR, type Principal } from "#platform/auth.ts";
import { SidecarUnavailableError } from "#platform/dapr-client.ts";
import type { Context } from "#platform/host.ts";
import { fieldErrors, type FieldError } from "#platform/problems.ts";
import { activityQuerySchema, ACTIVITY_LIMITS, taskActivity, userActivity } from "#tasks/activity.ts";
import { listTags, listTasks } from "#tasks/queries.ts";
import { loadTaskDto } from "#tasks/records.ts";

/** The command functions' app-ids (dapr.yaml, Knative Services). */
export const COMMAND_APPS = {
  create: "create-task",
  update: "update-task",
  complete: "complete-task",
  delete: "delete-task",
} as const;

/** Items per batch call: enough for a model's "add these" lists, small enough to answer in seconds. */
export const MAX_BATCH = 50;

export const SERVER_INFO = { name: "orbit", version: "1.0.0" };

export interface ToolCaller {
  principal: Principal;
  /** The caller's Authorization header, forwarded to the command functions. */
  authorization: string;
  ctx: Context;
}

/** The outcome of one invocation: the task (or nothing, for a delete), or a sentence for a model. */
type Outcome = { ok: true; task: TaskDto | null } | { ok: false; error: string };

/** `title: must not be empty; due_at: must be …` from a problem+json body; else its title/detail. */
export function problemText(status: number, body: unknown): string {
  const problem = (body && typeof body === "object" ? body : {}) as {
    title?: string;
    detail?: string;
    errors?: FieldError[];
  };
  if (problem.errors?.length) return problem.errors.map((e) => `${e.field}: ${e.detail}`).join("; ");
  if (problem.title) return problem.detail ? `${problem.title}: ${problem.detail}` : problem.title;
  return `The task service answered HTTP ${status}; retry shortly.`;
}

async function invoke(
  caller: ToolCaller,
  appId: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Outcome> {
  let response: Response;
  try {
    response = await caller.ctx.dapr.invoke(appId, method, path, {
      body,
      headers: { authorization: caller.authorization, [ACTOR_HEADER]: AGENT_ACTOR },
    });
  } catch (error) {
    if (error instanceof SidecarUnavailableError) {
      caller.ctx.log.error("dapr sidecar unreachable", { err: error });
      return { ok: false, error: "The task service is unreachable right now; retry shortly." };
    }
    throw error;
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.ok) return { ok: true, task: response.status === 204 ? null : (parsed as TaskDto) };
  // The sidecar's own errors (no live instance: 500 ERR_DIRECT_INVOKE) are not problem+json.
  if (parsed && typeof parsed === "object" && "errorCode" in parsed) {
    caller.ctx.log.error("service invocation failed", { app_id: appId, status: response.status, body: text });
    return { ok: false, error: `The task service (${appId}) is unavailable right now; retry shortly.` };
  }
  return { ok: false, error: problemText(response.status, parsed) };
}

function textResult(text: string, structured: Record<string, unknown>, isError = false): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured, isError };
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

function readOnlyError(tool: string, principal: Principal): CallToolResult | null {
  if (principal.scope === "read_write") return null;
  return errorResult(
    `This API token is read-only: ${tool} changes tasks and needs a token with the read_write scope.`,
  );
}

/**
 * One line per item, then the JSON of every result. The call is an error only when nothing
 * succeeded; a partial batch reports each failure by its index so the model can retry just those.
 */
function batchResult(verb: string, outcomes: Outcome[]): CallToolResult {
  const done = outcomes.filter((o) => o.ok).length;
  const lines = [`${verb} ${done} of ${outcomes.length}.`];
  outcomes.forEach((o, index) => {
    if (!o.ok) lines.push(`[${index}] failed: ${o.error}`);
  });
  const results = outcomes.map((o) => (o.ok ? { ok: true, task: o.task } : { ok: false, error: o.error }));
  lines.push(JSON.stringify(results, null, 2));
  return textResult(lines.join("\n"), { results }, done === 0);
}

function invalid(location: string, issues: z.core.$ZodIssue[]): CallToolResult {
  const errors = fieldErrors(location, issues).map((e) => `${e.field}: ${e.detail}`);
  return errorResult(`Invalid arguments: ${errors.join("; ")}`);
}

const versionSchema = z
  .number()
  .int()
  .min(1)
  .optional()
  .describe("The task's version the change is based on; a stale one is refused (reload and retry).");

const findTasksShape = {
  q: z
    .string()
    .max(500)
    .optional()
    .describe("Full-text search in titles and descriptions (web search syntax)."),
  status: z.enum(STATUS_FILTERS).optional().describe("Default: all."),
  priorities: z.array(prioritySchema).max(4).optional(),
  tags: z.array(z.string()).max(20).optional(),
  tag_mode: z
    .enum(TAG_MODES)
    .optional()
    .describe("any (default): a task with one of the tags; all: with every tag."),
  due_from: z.string().optional().describe("Inclusive lower bound of due_at, RFC 3339 with an offset."),
  due_to: z.string().optional().describe("Exclusive upper bound of due_at, RFC 3339 with an offset."),
  overdue: z.boolean().optional().describe("true: only pending tasks past due; false: none of those."),
  no_due: z.boolean().optional().describe("true: only tasks without a due date; false: only with one."),
  sort: z.enum(SORTS).optional().describe("Default: relevance with q, else due."),
  order: z.enum(ORDERS).optional(),
  limit: z.number().int().min(1).max(200).optional().describe("Default 50."),
  cursor: z.string().optional().describe("next_cursor of the previous page, with the same filters and sort."),
};

/** find_tasks' typed arguments as the `GET /v1/tasks` query parameters query-tasks parses. */
function toListQuery(args: z.infer<z.ZodObject<typeof findTasksShape>>): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined) continue;
    const name = key === "priorities" ? "priority" : key;
    query[name] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return query;
}

/** A new MCP server with every tool bound to one caller: built per request (stateless). */
export function buildMcpServer(caller: ToolCaller): McpServer {
  const { principal, ctx } = caller;
  const userId = principal.userId;
  const server = new McpServer(SERVER_INFO, {
    instructions:
      "Orbit is a task manager. Find tasks before changing them; pass a task's version with a change " +
      "to avoid overwriting a newer edit. Times are RFC 3339 with an offset.",
  });

  server.registerTool(
    "add_tasks",
    {
      title: "Add tasks",
      description: `Create one or more tasks (at most ${MAX_BATCH}). Each succeeds or fails on its own.`,
      inputSchema: { tasks: z.array(createTaskSchema).min(1).max(MAX_BATCH) },
    },
    async ({ tasks }) => {
      const denied = readOnlyError("add_tasks", principal);
      if (denied) return denied;
      const outcomes: Outcome[] = [];
      for (const task of tasks)
        outcomes.push(await invoke(caller, COMMAND_APPS.create, "POST", "v1/tasks", task));
      return batchResult("Created", outcomes);
    },
  );

  server.registerTool(
    "find_tasks",
    {
      title: "Find tasks",
      description:
        "Search, filter and sort the user's tasks. Returns a page of tasks and next_cursor (null on the last page).",
      inputSchema: findTasksShape,
      annotations: { readOnlyHint: true },
    },
    async (args) => {
      const query = taskListQuerySchema.safeParse(toListQuery(args));
      if (!query.success) return invalid("query", query.error.issues);
      const page = await listTasks(ctx.db, userId, query.data, ctx.now());
      const structured = { items: page.items, next_cursor: page.nextCursor };
      return textResult(
        `${page.items.length} task(s)${page.nextCursor ? "; more with next_cursor" : ""}.\n${JSON.stringify(structured, null, 2)}`,
        structured,
      );
    },
  );

  server.registerTool(
    "get_task",
    {
      title: "Get a task",
      description: "One task by id, with its version, reminders and recurrence.",
      inputSchema: { id: taskIdSchema },
      annotations: { readOnlyHint: true },
    },
    async ({ id }) => {
      const task = await loadTaskDto(ctx.db, userId, id);
      if (!task) return errorResult(`Not found: no task with id ${id}.`);
      return textResult(JSON.stringify(task, null, 2), { task });
    },
  );

  server.registerTool(
    "update_tasks",
    {
      title: "Update tasks",
      description: `Change fields of one or more tasks (at most ${MAX_BATCH}). Only the fields given change.`,
      inputSchema: {
        updates: z
          .array(z.strictObject({ id: taskIdSchema, changes: updateTaskSchema }))
          .min(1)
          .max(MAX_BATCH),
      },
    },
    async ({ updates }) => {
      const denied = readOnlyError("update_tasks", principal);
      if (denied) return denied;
      const outcomes: Outcome[] = [];
      for (const { id, changes } of updates)
        outcomes.push(await invoke(caller, COMMAND_APPS.update, "PATCH", `v1/tasks/${id}`, changes));
      return batchResult("Updated", outcomes);
    },
  );

  server.registerTool(
    "complete_tasks",
    {
      title: "Complete (or reopen) tasks",
      description:
        "Mark tasks completed, or pending again with reopen: true. Idempotent. Completing a recurring " +
        "task creates its next occurrence.",
      inputSchema: {
        tasks: z
          .array(z.strictObject({ id: taskIdSchema, version: versionSchema }))
          .min(1)
          .max(MAX_BATCH),
        reopen: z.boolean().default(false).describe("true: mark the tasks pending again."),
      },
    },
    async ({ tasks, reopen }) => {
      const denied = readOnlyError("complete_tasks", principal);
      if (denied) return denied;
      const action = reopen ? "reopen" : "complete";
      const outcomes: Outcome[] = [];
      for (const { id, version } of tasks)
        outcomes.push(
          await invoke(caller, COMMAND_APPS.complete, "POST", `v1/tasks/${id}/${action}`, { version }),
        );
      return batchResult(reopen ? "Reopened" : "Completed", outcomes);
    },
  );

  server.registerTool(
    "reschedule_task",
    {
      title: "Reschedule a task",
      description:
        "Move a task to a new due time. A recurring task keeps its recurrence; its reminders move with it.",
      inputSchema: { id: taskIdSchema, due_at: instantSchema, version: versionSchema },
    },
    async ({ id, due_at, version }) => {
      const denied = readOnlyError("reschedule_task", principal);
      if (denied) return denied;
      const outcome = await invoke(caller, COMMAND_APPS.update, "PATCH", `v1/tasks/${id}`, {
        due_at,
        version,
      });
      if (!outcome.ok) return errorResult(outcome.error);
      return textResult(JSON.stringify(outcome.task, null, 2), { task: outcome.task });
    },
  );

  server.registerTool(
    "delete_tasks",
    {
      title: "Delete tasks",
      description:
        "Delete one or more tasks. For a recurring task, scope series (default) ends the whole series; " +
        "occurrence removes only this one and keeps the series going.",
      inputSchema: {
        ids: z.array(taskIdSchema).min(1).max(MAX_BATCH),
        scope: z.enum(["series", "occurrence"]).default("series"),
      },
      annotations: { destructiveHint: true },
    },
    async ({ ids, scope }) => {
      const denied = readOnlyError("delete_tasks", principal);
      if (denied) return denied;
      const outcomes: Outcome[] = [];
      for (const id of ids)
        outcomes.push(await invoke(caller, COMMAND_APPS.delete, "DELETE", `v1/tasks/${id}?scope=${scope}`));
      return batchResult("Deleted", outcomes);
    },
  );

  server.registerTool(
    "list_tags",
    {
      title: "List tags",
      description: "The user's tags with how many tasks carry each, most used first.",
      annotations: { readOnlyHint: true },
    },
    async () => {
      const items = await listTags(ctx.db, userId);
      return textResult(JSON.stringify(items, null, 2), { items });
    },
  );

  server.registerTool(
    "find_activity",
    {
      title: "Find activity",
      description:
        "The audit log: with task_id, that task's history (oldest first, also after deletion); without, " +
        "the user's recent activity across all tasks (newest first). Each entry names its actor.",
      inputSchema: {
        task_id: taskIdSchema.optional(),
        limit: z.number().int().min(1).max(ACTIVITY_LIMITS.maxLimit).optional(),
        cursor: z.string().optional().describe("next_cursor of the previous page."),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ task_id, limit, cursor }) => {
      const raw = {
        ...(limit === undefined ? {} : { limit: String(limit) }),
        ...(cursor === undefined ? {} : { cursor }),
      };
      const query = activityQuerySchema(task_id ? "task" : "user").safeParse(raw);
      if (!query.success) return invalid("query", query.error.issues);
      const page = task_id
        ? await taskActivity(ctx.db, userId, task_id, query.data)
        : await userActivity(ctx.db, userId, query.data);
      if (!page) return errorResult(`Not found: no task with id ${task_id}.`);
      return textResult(JSON.stringify(page, null, 2), { ...page });
    },
  );

  return server;
}
