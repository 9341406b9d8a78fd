import { z } from "zod";
import { taskIdSchema } from "#core/tasks.ts";
import { route } from "#platform/host.ts";
import { deleteTask } from "#tasks/commands.ts";
import { commandContext, versionFromHeaders } from "#tasks/http.ts";

export const deleteTaskRoute = route({
  method: "DELETE",
  path: "/v1/tasks/:id",
  auth: "write",
  params: z.object({ id: taskIdSchema }),
  query: z.strictObject({
    scope: z.enum(["series", "occurrence"], { error: "must be series or occurrence" }).default("series"),
  }),
  summary: "Delete a task (for a recurring one: the whole series, or only this occurrence)",
  async handle(request, ctx) {
    await deleteTask(commandContext(request.principal, ctx, request), request.params.id, {
      scope: request.query.scope,
      expectedVersion: versionFromHeaders(request.headers),
    });
    ctx.relay.kick();
    return { status: 204 };
  },
});

export const routes = [deleteTaskRoute];
