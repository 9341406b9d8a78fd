import { createTaskSchema, taskDtoSchema } from "#core/tasks.ts";
import { route } from "#platform/host.ts";
import { createTask } from "#tasks/commands.ts";
import { commandContext, taskReply } from "#tasks/http.ts";

export const createTaskRoute = route({
  method: "POST",
  path: "/v1/tasks",
  auth: "write",
  body: createTaskSchema,
  summary: "Create a task",
  response: taskDtoSchema,
  async handle(request, ctx) {
    const { task } = await createTask(commandContext(request.principal, ctx, request), request.body);
    ctx.relay.kick();
    const reply = taskReply(task, 201);
    return { ...reply, headers: { ...reply.headers, Location: `/v1/tasks/${task.id}` } };
  },
});

export const routes = [createTaskRoute];
