import { z } from "zod";
import { statusChangeSchema, taskDtoSchema, taskIdSchema } from "#core/tasks.ts";
import { route } from "#platform/host.ts";
import { completeTask, reopenTask } from "#tasks/commands.ts";
import { commandContext, taskReply, versionFromHeaders } from "#tasks/http.ts";

const params = z.object({ id: taskIdSchema });

export const completeTaskRoute = route({
  method: "POST",
  path: "/v1/tasks/:id/complete",
  auth: "write",
  params,
  body: statusChangeSchema,
  summary: "Mark a task completed (idempotent)",
  response: taskDtoSchema,
  async handle(request, ctx) {
    const version = request.body.version ?? versionFromHeaders(request.headers);
    const { task, changed } = await completeTask(
      commandContext(request.principal, ctx, request),
      request.params.id,
      version,
    );
    if (changed) ctx.relay.kick();
    return taskReply(task);
  },
});

export const reopenTaskRoute = route({
  method: "POST",
  path: "/v1/tasks/:id/reopen",
  auth: "write",
  params,
  body: statusChangeSchema,
  summary: "Mark a completed task pending again (idempotent)",
  response: taskDtoSchema,
  async handle(request, ctx) {
    const version = request.body.version ?? versionFromHeaders(request.headers);
    const { task, changed } = await reopenTask(
      commandContext(request.principal, ctx, request),
      request.params.id,
      version,
    );
    if (changed) ctx.relay.kick();
    return taskReply(task);
  },
});

export const routes = [completeTaskRoute, reopenTaskRoute];
