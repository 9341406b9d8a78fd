// The Reminder Service. It owns every reminder job, because Dapr triggers a job only on the app-id
// that scheduled it (https://docs.dapr.io/concepts/dapr-services/scheduler/):
// - on each task event that may change them it reconciles the task's Dapr jobs with what the task
//   now wants (one job per reminder rule), recording each in reminder_jobs;
// - on `POST /job/reminder-…` it checks the reminder still applies and publishes it to `reminders`
//   (outbox, same transaction as marking the job fired).
// The rules are in packages/core/src/reminders.ts, the database and Dapr work in
// packages/tasks/src/reminders.ts; this file wires them to the topic and the job trigger.
import { deadLetterTopic, taskEventSchema, TOPICS } from "#core/events.ts";
import { mayChangeReminderJobs, REMINDER_JOB_PREFIX } from "#core/reminders.ts";
import { subscription, type JobDef } from "#platform/host.ts";
import { consumeOnce } from "#platform/inbox.ts";
import { fireReminderJob, reconcileTaskReminders } from "#tasks/reminders.ts";

export const CONSUMER = "on-reminder-fired";

export const taskEventsSubscription = subscription({
  topic: TOPICS.taskEvents,
  path: "/events/task-events",
  deadLetterTopic: deadLetterTopic(TOPICS.taskEvents),
  data: taskEventSchema,
  async handle(event, ctx) {
    const data = event.data;
    if (!mayChangeReminderJobs(data)) return "SUCCESS";
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
