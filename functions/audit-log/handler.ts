import { z } from "zod";
import { deadLetterTopic, taskEventsPayloadSchema, TOPICS } from "#core/events.ts";
import { taskIdSchema } from "#core/tasks.ts";
import { route, subscription } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";
import {
  activityPageSchema,
  activityQuerySchema,
  recordAuditEvent,
  taskActivity,
  userActivity,
} from "#tasks/activity.ts";

/** Every task and list event, whatever its type: the audit trail records them all. */
export const taskEventsSubscription = subscription({
  topic: TOPICS.taskEvents,
  path: "/events/task-events",
  deadLetterTopic: deadLetterTopic(TOPICS.taskEvents),
  data: taskEventsPayloadSchema,
  async handle(event, ctx) {
    const recorded = await recordAuditEvent(ctx.db, event.id, event.data);
    if (!recorded) ctx.log.info("event already in the audit log; redelivery ignored");
    return "SUCCESS";
  },
});

export const taskActivityRoute = route({
  method: "GET",
  path: "/v1/tasks/:id/activity",
  auth: "read",
  params: z.object({ id: taskIdSchema }),
  query: activityQuerySchema("task"),
  summary: "A task's history, oldest first (still readable after the task was deleted)",
  response: activityPageSchema,
  async handle(request, ctx) {
    const page = await taskActivity(ctx.db, request.principal!.userId, request.params.id, request.query);
    if (!page) throw problems.notFound("No such task.");
    return { body: page };
  },
});

export const userActivityRoute = route({
  method: "GET",
  path: "/v1/activity",
  auth: "read",
  query: activityQuerySchema("user"),
  summary: "The caller's recent activity across all tasks, newest first",
  response: activityPageSchema,
  async handle(request, ctx) {
    return { body: await userActivity(ctx.db, request.principal!.userId, request.query) };
  },
});

export const routes = [taskActivityRoute, userActivityRoute];
export const subscriptions = [taskEventsSubscription];
