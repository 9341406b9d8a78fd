import { z } from "zod";
import { statusChangeSchema, taskDtoSchema, taskIdSchema } from "#core/tasks.ts";
import { route } from "#platform/host.ts";
import { completeTask, reopenTask } from "#tasks/commands.ts";
import { commandContext, taskReply, versionFromHeaders } from "#tasks/http.ts";

const params = z.object({ id: taskIdSchema });

/** complete and reopen are one route shape over two commands: idempotent status changes. */
function statusRoute(path: string, summary: string, command: typeof completeTask) {
  return route({
    method: "POST",
    path,
    auth: "write",
    params,
    body: statusChangeSchema,
    summary,
    response: taskDtoSchema,
    async handle(request, ctx) {
      const version = request.body.version ?? versionFromHeaders(request.headers);
      const { task, changed } = await command(
        commandContext(request.principal, ctx, request),
        request.params.id,
        version,
      );
      if (changed) ctx.relay.kick();
      return taskReply(task);
    },
  });
}

export const completeTaskRoute = statusRoute(
  "/v1/tasks/:id/complete",
  "Mark a task completed (idempotent)",
  completeTask,
);
export const reopenTaskRoute = statusRoute(
  "/v1/tasks/:id/reopen",
  "Mark a completed task pending again (idempotent)",
  reopenTask,
);

export const routes = [completeTaskRoute, reopenTaskRoute];
