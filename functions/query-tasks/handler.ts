import { z } from "zod";
import { taskListQuerySchema } from "#core/task-query.ts";
import { taskDtoSchema, taskIdSchema } from "#core/tasks.ts";
import type { Principal } from "#platform/auth.ts";
import { route } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";
import { listIdSchema, listDtoSchema, listSummarySchema } from "#core/lists.ts";
import { taskReply } from "#tasks/http.ts";
import { listLists, loadList } from "#tasks/lists.ts";
import { listTags, listTasks } from "#tasks/queries.ts";
import { loadTaskDto } from "#tasks/records.ts";

/** The caller's user id; every read is scoped to it, so another user's task is simply not found. */
function ownerOf(principal: Principal | null): string {
  if (!principal) throw problems.unauthorized();
  return principal.userId;
}

export const getTaskRoute = route({
  method: "GET",
  path: "/v1/tasks/:id",
  auth: "read",
  params: z.strictObject({ id: taskIdSchema }),
  summary: "Get one task (ETag: its version)",
  response: taskDtoSchema,
  async handle(request, ctx) {
    const task = await loadTaskDto(ctx.db, ownerOf(request.principal), request.params.id);
    if (!task) throw problems.notFound("No such task.");
    return taskReply(task);
  },
});

export const listTasksRoute = route({
  method: "GET",
  path: "/v1/tasks",
  auth: "read",
  query: taskListQuerySchema,
  summary: "List, search and filter tasks (keyset pagination via next_cursor)",
  response: z.object({
    items: z.array(taskDtoSchema),
    next_cursor: z.string().nullable(),
    match: z
      .enum(["words", "similar"])
      .nullable()
      .describe(
        "How a search (q) matched: words (full text), or similar when no task holds its words and these titles are close to them (a typo); null without q.",
      ),
  }),
  async handle(request, ctx) {
    const page = await listTasks(ctx.db, ownerOf(request.principal), request.query, ctx.now());
    return { body: { items: page.items, next_cursor: page.nextCursor, match: page.match } };
  },
});

export const listTagsRoute = route({
  method: "GET",
  path: "/v1/tags",
  auth: "read",
  query: z.strictObject({}),
  summary: "The caller's tags with how many tasks carry each, most used first",
  response: z.object({ items: z.array(z.object({ tag: z.string(), count: z.number().int() })) }),
  async handle(request, ctx) {
    return { body: { items: await listTags(ctx.db, ownerOf(request.principal)) } };
  },
});

export const listListsRoute = route({
  method: "GET",
  path: "/v1/lists",
  auth: "read",
  query: z.strictObject({
    status: z
      .enum(["active", "archived", "all"], { error: "must be active, archived or all" })
      .default("active"),
  }),
  summary: "The caller's lists, Inbox first, each with its number of open tasks",
  response: z.object({ items: z.array(listSummarySchema) }),
  async handle(request, ctx) {
    return { body: { items: await listLists(ctx.db, ownerOf(request.principal), request.query.status) } };
  },
});

export const getListRoute = route({
  method: "GET",
  path: "/v1/lists/:id",
  auth: "read",
  params: z.strictObject({ id: listIdSchema }),
  summary: "Get one list",
  response: listDtoSchema,
  async handle(request, ctx) {
    const list = await loadList(ctx.db, ownerOf(request.principal), request.params.id);
    if (!list) throw problems.notFound("No such list.");
    return { body: list, headers: { ETag: `"${list.version}"` } };
  },
});

export const routes = [listTasksRoute, getTaskRoute, listTagsRoute, listListsRoute, getListRoute];
