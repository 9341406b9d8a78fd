// The Reminder Service. It owns every reminder job, because Dapr triggers a job only on the app-id
// that scheduled it (https://docs.dapr.io/concepts/dapr-services/scheduler/):
// - on each task event that may change them it reconciles the task's Dapr jobs with what the task
//   now wants (one job per reminder rule), recording each in reminder_jobs;
// - on `POST /job/reminder-…` it checks the reminder still applies and publishes it to `reminders`
//   (outbox, same transaction as marking the job fired).
// - on `POST /v1/reminder-actions` (a reminder's "Complete" / "Snooze" button, passed on by the web
//   app) it checks the action's signed token and completes the task or schedules the snooze job:
//   here, because the snooze job must fire back into this app-id.
// The rules are in packages/core/src/reminders.ts and reminder-actions.ts, the database and Dapr
// work in packages/tasks/src/reminders.ts and reminder-actions.ts; this file wires them to the
// topic, the job trigger and the routes.
import { z } from "zod";
import { deadLetterTopic, isTaskEvent, taskEventsPayloadSchema, TOPICS } from "#core/events.ts";
import type { ActionKeyring } from "#core/reminder-action-tokens.ts";
import { reminderActionBodySchema } from "#core/reminder-actions.ts";
import { mayChangeReminderJobs, REMINDER_JOB_PREFIX } from "#core/reminders.ts";
import { route, subscription, type JobDef } from "#platform/host.ts";
import { consumeOnce } from "#platform/inbox.ts";
import { problems, type Problem } from "#platform/problems.ts";
import {
  performReminderAction,
  previewReminderAction,
  ReminderActionRefused,
} from "#tasks/reminder-actions.ts";
import { fireReminderJob, reconcileTaskReminders } from "#tasks/reminders.ts";

export const CONSUMER = "on-reminder-fired";

export const taskEventsSubscription = subscription({
  topic: TOPICS.taskEvents,
  path: "/events/task-events",
  deadLetterTopic: deadLetterTopic(TOPICS.taskEvents),
  data: taskEventsPayloadSchema,
  async handle(event, ctx) {
    const data = event.data;
    // A list's event changes no reminder.
    if (!isTaskEvent(data) || !mayChangeReminderJobs(data)) return "SUCCESS";
    const { duplicate, result } = await consumeOnce(
      ctx.db,
      CONSUMER,
      event.id,
      (tx) => reconcileTaskReminders(tx, data.task_id, data.user_id, ctx),
      { timeoutMs: 30_000 },
    );
    if (duplicate) {
      ctx.log.info("event already consumed; redelivery ignored");
      return "SUCCESS";
    }
    const r = result!;
    if (r.scheduled.length + r.firedNow.length + r.skipped.length + r.cancelled.length > 0) {
      ctx.log.info("reminder jobs reconciled", {
        task_id: data.task_id,
        scheduled: r.scheduled,
        fired_now: r.firedNow,
        skipped: r.skipped,
        cancelled: r.cancelled,
      });
    }
    if (r.firedNow.length > 0) ctx.relay.kick();
    return "SUCCESS";
  },
});

export const reminderJobs: JobDef = {
  prefix: REMINDER_JOB_PREFIX,
  async handle(name, data, ctx) {
    const outcome = await fireReminderJob(name, data, ctx);
    if (outcome.kind === "fired") {
      ctx.log.info("reminder fired");
      ctx.relay.kick();
    } else if (outcome.kind === "skipped") {
      ctx.log.info("reminder skipped", { reason: outcome.reason });
    } else {
      ctx.log.info("trigger ignored", { why: outcome.why });
    }
  },
};

export const subscriptions = [taskEventsSubscription];
export const jobs = [reminderJobs];

/** A refused action as problem+json, its `reason` a stable word for the web app and service worker. */
function refusalProblem(error: unknown): unknown {
  if (!(error instanceof ReminderActionRefused)) return error;
  const { reason, message } = error;
  let problem: Problem;
  if (reason === "task_gone") problem = problems.notFound(message);
  else if (reason === "task_completed" || reason === "no_due_date") problem = problems.conflict(message);
  else {
    const field = reason === "wrong_action" ? "action" : "token";
    problem = problems.validation([{ pointer: `/body/${field}`, field, detail: message }], message);
  }
  problem.body.reason = reason;
  return problem;
}

const taskSummarySchema = z.object({
  id: z.uuid(),
  title: z.string(),
  status: z.enum(["pending", "completed"]),
  due_at: z.iso.datetime().nullable(),
});

/**
 * The routes of a reminder's buttons. No user credential: the signed token in the body is the
 * credential (one action, one task, 7 days; #core/reminder-actions.ts). The web app passes on what
 * its confirmation page and the service worker post; this Service is cluster-local.
 */
export function reminderActionRoutes(keys: ActionKeyring) {
  return [
    route({
      method: "POST",
      path: "/v1/reminder-actions/preview",
      auth: "none",
      body: reminderActionBodySchema,
      summary: "What a reminder's action link would do, without doing it (its confirmation page)",
      response: z.object({
        action: reminderActionBodySchema.shape.action,
        task: taskSummarySchema,
        time_zone: z.string(),
        prompt: z.string(),
        settled: z.string().nullable().describe("Set when nothing is left to do: why"),
      }),
      async handle(request, ctx) {
        try {
          return { body: await previewReminderAction({ ...ctx, keys }, request.body) };
        } catch (error) {
          throw refusalProblem(error);
        }
      },
    }),
    route({
      method: "POST",
      path: "/v1/reminder-actions",
      auth: "none",
      body: reminderActionBodySchema,
      summary:
        "Complete the task or snooze the reminder its signed token names; a link used again answers the same and does nothing",
      response: z.object({
        action: reminderActionBodySchema.shape.action,
        outcome: z.enum(["completed", "already_completed", "snoozed"]),
        repeated: z.boolean().describe("The link had been used: nothing was done now"),
        task: taskSummarySchema,
        snoozed_until: z.iso.datetime().nullable(),
        time_zone: z.string(),
        message: z.string(),
      }),
      async handle(request, ctx) {
        try {
          const result = await performReminderAction(
            { ...ctx, keys, traceparent: request.traceparent },
            request.body,
          );
          if (result.outcome === "completed" && !result.repeated) ctx.relay.kick();
          ctx.log.info("reminder action", {
            task_id: result.task.id,
            action: result.action,
            outcome: result.outcome,
            repeated: result.repeated,
          });
          return { body: result };
        } catch (error) {
          throw refusalProblem(error);
        }
      },
    }),
  ];
}
