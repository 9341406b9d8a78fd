import { createListSchema, listDtoSchema } from "#core/lists.ts";
import { createTaskSchema, taskDtoSchema } from "#core/tasks.ts";
import { route } from "#platform/host.ts";
import { createTask } from "#tasks/commands.ts";
import { commandContext, taskReply } from "#tasks/http.ts";
import { createList } from "#tasks/lists.ts";

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

/** Lists are created where tasks are: one write function per verb (docs/decisions/016). */
export const createListRoute = route({
  method: "POST",
  path: "/v1/lists",
  auth: "write",
  body: createListSchema,
  summary: "Create a list (names are unique per user among active lists, ignoring case: 409 names `name`)",
  response: listDtoSchema,
  async handle(request, ctx) {
    const list = await createList(commandContext(request.principal, ctx, request), request.body);
    ctx.relay.kick();
    return {
      status: 201,
      body: list,
      headers: { ETag: `"${list.version}"`, Location: `/v1/lists/${list.id}` },
    };
  },
});

export const routes = [createTaskRoute, createListRoute];
