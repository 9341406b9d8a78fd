// The MCP tools: each one a thin adapter over what the web app already uses. Writes go to the
// command functions through the typed client (client.ts), forwarding the caller's token and
// `X-Orbit-Actor: agent` so the audit log names the agent. Reads call the same read paths
// query-tasks and audit-log serve (queries.ts, activity.ts) directly on the database: a read has
// no side effect and no event to publish, so a hop through another app would only add latency and
// one more process that must be up, while the validation (the same zod schemas) stays identical.
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import {
  ORDERS,
  SORT_DESCRIPTION,
  SORTS,
  STATUS_FILTERS,
  TAG_MODES,
  taskListQuerySchema,
} from "#core/task-query.ts";
import { createListSchema, LIST_COLORS, listIdSchema, listToken, updateListSchema } from "#core/lists.ts";
import {
  createTaskSchema,
  instantSchema,
  prioritySchema,
  subtaskChoiceSchema,
  taskIdSchema,
  updateTaskSchema,
} from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import type { Principal } from "#platform/auth.ts";
import type { Logger } from "#platform/logger.ts";
import { activityQuerySchema, ACTIVITY_LIMITS, taskActivity, userActivity } from "./activity.ts";
import type { CommandCaller, TaskCommands } from "./client.ts";
import {
  batchResult,
  errorResult,
  invalid,
  jsonResult,
  outcomeOf,
  readOnlyError,
  failureText,
  textResult,
  type Outcome,
} from "./mcp-results.ts";
import { listLists } from "./list-queries.ts";
import { listTags, listTasks } from "./queries.ts";
import { loadTaskDto } from "./records.ts";

/** Items per batch call: enough for a model's "add these" lists, small enough to answer in seconds. */
export const MAX_BATCH = 50;

export const SERVER_INFO = { name: "orbit", version: "1.0.0" };

export const SERVER_INSTRUCTIONS =
  "Orbit is a task manager. Find tasks before changing them; pass a task's version with a change " +
  "to avoid overwriting a newer edit. Times are RFC 3339 with an offset. Tasks are in lists " +
  "(list_lists; the Inbox unless another is named) and may have subtasks (parent_id, one level).";

/** What the tools of one request act with: its caller, the command client, the database. */
export interface ToolContext {
  principal: Principal;
  /** The command functions' client, and the caller they are invoked as. */
  commands: TaskCommands;
  caller: CommandCaller;
  db: Db;
  log: Logger;
  now(): Date;
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
  list: z
    .string()
    .max(60)
    .optional()
    .describe(
      "Only the tasks of the list with this name (ignoring case; archived lists too). Without list or list_id, archived lists' tasks are left out.",
    ),
  list_id: listIdSchema.optional().describe("Only the tasks of this list (an id from list_lists)."),
  parent_id: taskIdSchema.optional().describe("Only the subtasks of this task."),
  top_level: z.boolean().optional().describe("true: leave subtasks out."),
  sort: z.enum(SORTS).optional().describe(SORT_DESCRIPTION),
  order: z.enum(ORDERS).optional(),
  limit: z.number().int().min(1).max(200).optional().describe("Default 50."),
  cursor: z.string().optional().describe("next_cursor of the previous page, with the same filters and sort."),
};

/** find_tasks' typed arguments as the `GET /v1/tasks` query parameters query-tasks parses. */
function toListQuery(args: z.infer<z.ZodObject<typeof findTasksShape>>): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || key === "list") continue;
    const name = key === "priorities" ? "priority" : key;
    query[name] = Array.isArray(value) ? value.join(",") : String(value);
  }
  // A list by name is the search's own `list:` filter (#core/lists.ts takeListToken).
  if (args.list !== undefined) query.q = `${listToken(args.list)}${args.q ? ` ${args.q}` : ""}`;
  return query;
}

/** Registers every tool on `server`, bound to one request's caller (the server is stateless). */
export function registerTools(server: McpServer, tools: ToolContext): void {
  const { principal, commands, caller, db, log } = tools;
  const userId = principal.userId;

  server.registerTool(
    "add_tasks",
    {
      title: "Add tasks",
      description: `Create one or more tasks (at most ${MAX_BATCH}). Each succeeds or fails on its own. A task goes into the Inbox unless list_id names another list (list_lists); parent_id makes it a subtask (in its parent's list; one level deep).`,
      inputSchema: { tasks: z.array(createTaskSchema).min(1).max(MAX_BATCH) },
    },
    async ({ tasks }) => {
      const denied = readOnlyError("add_tasks", principal);
      if (denied) return denied;
      const outcomes: Outcome[] = [];
      for (const task of tasks) outcomes.push(outcomeOf(await commands.createTask(caller, task), log));
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
      const page = await listTasks(db, userId, query.data, tools.now());
      const structured = { items: page.items, next_cursor: page.nextCursor, match: page.match };
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
      const task = await loadTaskDto(db, userId, id);
      if (!task) return errorResult(`Not found: no task with id ${id}.`);
      return jsonResult(task, { task });
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
        outcomes.push(outcomeOf(await commands.updateTask(caller, id, changes), log));
      return batchResult("Updated", outcomes);
    },
  );

  server.registerTool(
    "complete_tasks",
    {
      title: "Complete (or reopen) tasks",
      description:
        "Mark tasks completed, or pending again with reopen: true. Idempotent. Completing a recurring " +
        "task creates its next occurrence. A task with open subtasks is refused unless subtasks says " +
        'what becomes of them: "complete" completes them too, "leave" leaves them open (ask the user ' +
        "when they did not say).",
      inputSchema: {
        tasks: z
          .array(z.strictObject({ id: taskIdSchema, version: versionSchema }))
          .min(1)
          .max(MAX_BATCH),
        reopen: z.boolean().default(false).describe("true: mark the tasks pending again."),
        subtasks: subtaskChoiceSchema
          .optional()
          .describe('For a task with open subtasks: "complete" them too, or "leave" them open.'),
      },
    },
    async ({ tasks, reopen, subtasks }) => {
      const denied = readOnlyError("complete_tasks", principal);
      if (denied) return denied;
      const outcomes: Outcome[] = [];
      for (const { id, version } of tasks)
        outcomes.push(outcomeOf(await commands.completeTask(caller, id, { reopen, version, subtasks }), log));
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
      const outcome = outcomeOf(await commands.updateTask(caller, id, { due_at, version }), log);
      if (!outcome.ok) return errorResult(outcome.error);
      return jsonResult(outcome.task, { task: outcome.task });
    },
  );

  server.registerTool(
    "skip_occurrence",
    {
      title: "Skip an occurrence",
      description:
        "Skip this occurrence of a recurring task: it is removed (the audit log says skipped) and the " +
        "series moves on to its next date. To postpone it instead, reschedule_task moves only this occurrence.",
      inputSchema: { id: taskIdSchema },
      annotations: { destructiveHint: true },
    },
    async ({ id }) => {
      const denied = readOnlyError("skip_occurrence", principal);
      if (denied) return denied;
      const task = await loadTaskDto(db, userId, id);
      if (!task) return errorResult(`Not found: no task with id ${id}.`);
      if (!task.recurrence?.active || task.status !== "pending")
        return errorResult("Only an open occurrence of a repeating task can be skipped.");
      const outcome = outcomeOf(await commands.deleteTask(caller, id, "occurrence"), log);
      if (!outcome.ok) return errorResult(outcome.error);
      return jsonResult({ skipped: id }, { skipped: id });
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
      for (const id of ids) outcomes.push(outcomeOf(await commands.deleteTask(caller, id, scope), log));
      return batchResult("Deleted", outcomes);
    },
  );

  server.registerTool(
    "list_lists",
    {
      title: "List lists",
      description:
        "The user's lists in the user's order (Inbox first, then by position, as the web app shows them), " +
        "each with its id, name, colour, position and number of open tasks. " +
        "archived: true lists the archived ones instead.",
      inputSchema: { archived: z.boolean().default(false) },
      annotations: { readOnlyHint: true },
    },
    async ({ archived }) => {
      const items = await listLists(db, userId, archived ? "archived" : "active");
      return jsonResult(items, { items });
    },
  );

  server.registerTool(
    "create_list",
    {
      title: "Create a list",
      description: `Create a list. Names are unique among the user's active lists, ignoring case. Colours: ${LIST_COLORS.join(", ")}.`,
      inputSchema: createListSchema.shape,
    },
    async (list) => {
      const denied = readOnlyError("create_list", principal);
      if (denied) return denied;
      const reply = await commands.createList(caller, list);
      if (!reply.ok) return errorResult(failureText(reply.failure, log));
      return jsonResult(reply.value, { list: reply.value });
    },
  );

  server.registerTool(
    "update_list",
    {
      title: "Rename, recolour, archive or reorder a list",
      description:
        "Change one of the user's lists (an id from list_lists): name, color, archived (true hides its " +
        "tasks from default views and keeps them; false brings them back; the Inbox cannot be archived), " +
        "or its place: before or after another of the user's lists (one of the two; the Inbox stays first). " +
        "Pass the list's version to refuse a change based on a stale read.",
      inputSchema: { id: listIdSchema, ...updateListSchema.shape },
    },
    async ({ id, ...changes }) => {
      const denied = readOnlyError("update_list", principal);
      if (denied) return denied;
      const reply = await commands.updateList(caller, id, changes);
      if (!reply.ok) return errorResult(failureText(reply.failure, log));
      return jsonResult(reply.value, { list: reply.value });
    },
  );

  server.registerTool(
    "move_task",
    {
      title: "Move a task to another list",
      description:
        "Move a task to another of the user's lists (an id from list_lists); its subtasks move with it. " +
        "A subtask moves only with its parent. Archived lists take no tasks.",
      inputSchema: { id: taskIdSchema, list_id: listIdSchema, version: versionSchema },
    },
    async ({ id, list_id, version }) => {
      const denied = readOnlyError("move_task", principal);
      if (denied) return denied;
      const outcome = outcomeOf(await commands.updateTask(caller, id, { list_id, version }), log);
      if (!outcome.ok) return errorResult(outcome.error);
      return jsonResult(outcome.task, { task: outcome.task });
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
      const items = await listTags(db, userId);
      return jsonResult(items, { items });
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
        ? await taskActivity(db, userId, task_id, query.data)
        : await userActivity(db, userId, query.data);
      if (!page) return errorResult(`Not found: no task with id ${task_id}.`);
      return jsonResult(page, { ...page });
    },
  );
}
