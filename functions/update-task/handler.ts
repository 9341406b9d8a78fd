import { z } from "zod";
import { listDtoSchema, listIdSchema, updateListSchema } from "#core/lists.ts";
import { taskDtoSchema, taskIdSchema, updateTaskSchema } from "#core/tasks.ts";
import { route } from "#platform/host.ts";
import { updateTask } from "#tasks/commands.ts";
import { commandContext, taskReply, versionFromHeaders } from "#tasks/http.ts";
import { updateList } from "#tasks/lists.ts";

export const updateTaskRoute = route({
  method: "PATCH",
  path: "/v1/tasks/:id",
  auth: "write",
  params: z.object({ id: taskIdSchema }),
  body: updateTaskSchema,
  summary: "Change a task's fields (optimistic concurrency via `version` or If-Match)",
  response: taskDtoSchema,
  async handle(request, ctx) {
    const version = request.body.version ?? versionFromHeaders(request.headers);
    const { task, changed } = await updateTask(
      commandContext(request.principal, ctx, request),
      request.params.id,
      {
        ...request.body,
        version,
      },
    );
    if (changed) ctx.relay.kick();
    return taskReply(task);
  },
});

export const updateListRoute = route({
  method: "PATCH",
  path: "/v1/lists/:id",
  auth: "write",
  params: z.object({ id: listIdSchema }),
  body: updateListSchema,
  summary:
    "Rename, recolour, archive (archived: true), unarchive or move a list (`before` or `after` another of the user's lists; the Inbox stays first) (optimistic concurrency via `version` or If-Match)",
  response: listDtoSchema,
  async handle(request, ctx) {
    const version = request.body.version ?? versionFromHeaders(request.headers);
    const { list, changed } = await updateList(
      commandContext(request.principal, ctx, request),
      request.params.id,
      { ...request.body, version },
    );
    if (changed) ctx.relay.kick();
    return { body: list, headers: { ETag: `"${list.version}"` } };
  },
});

export const routes = [updateTaskRoute, updateListRoute];
