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
  summary:
    'Mark a task completed (idempotent). A parent with open subtasks needs `subtasks`: "complete" completes them too, "leave" leaves them open; without it, 409 open-subtasks with `open_subtasks`',
  response: taskDtoSchema.extend({
    completed_subtasks: z
      .array(z.string())
      .optional()
      .describe('With subtasks "complete": the subtasks this request completed (what an undo reopens).'),
  }),
  async handle(request, ctx) {
    const version = request.body.version ?? versionFromHeaders(request.headers);
    const { task, changed, completedSubtasks } = await completeTask(
      commandContext(request.principal, ctx, request),
      request.params.id,
      version,
      request.body.subtasks,
    );
    if (changed) ctx.relay.kick();
    const reply = taskReply(task);
    return completedSubtasks?.length
      ? { ...reply, body: { ...task, completed_subtasks: completedSubtasks } }
      : reply;
  },
});

export const reopenTaskRoute = route({
  method: "POST",
  path: "/v1/tasks/:id/reopen",
  auth: "write",
  params,
  body: statusChangeSchema.omit({ subtasks: true }),
  summary: "Mark a completed task pending again (idempotent; its subtasks stay as they are)",
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
