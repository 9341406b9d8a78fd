// A task's reminders as GET /v1/tasks/:id/reminders shows them: its rules, the Dapr jobs planned
// for them (and its snoozes) with what became of each and whether it reached the user, and every
// delivery with its attempts.
import { deliveriesOfJob, occurrenceDelivery } from "#core/channels.ts";
import { isSnoozeJobName } from "#core/reminders.ts";
import type { Db } from "#db/client.ts";

/** The view, or null for a task that never had any of it (a deleted task's history stays readable). */
export async function taskRemindersView(db: Db, userId: string, taskId: string) {
  const [task, jobs, deliveries] = await Promise.all([
    db.task.findFirst({
      where: { id: taskId, userId },
      select: {
        status: true,
        dueAt: true,
        reminders: {
          select: { id: true, offsetMinutes: true, remindAt: true },
          orderBy: [{ offsetMinutes: "desc" }, { remindAt: "asc" }],
        },
      },
    }),
    db.reminderJob.findMany({
      where: { taskId, userId },
      orderBy: [{ remindAt: "asc" }, { jobName: "asc" }],
    }),
    db.notificationDelivery.findMany({
      where: { taskId, userId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: { attemptLog: { orderBy: { attempt: "asc" } } },
    }),
  ]);
  // A deleted task's reminder history stays readable; a task that never had any is just unknown.
  if (!task && jobs.length === 0 && deliveries.length === 0) return null;
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    task_id: taskId,
    task_status: task?.status ?? "deleted",
    due_at: iso(task?.dueAt ?? null),
    reminders: (task?.reminders ?? []).map((r) => ({
      id: r.id,
      offset_minutes: r.offsetMinutes,
      remind_at: iso(r.remindAt),
    })),
    jobs: jobs.map((j) => ({
      job_name: j.jobName,
      /** A rule's own job, or a snooze (a reminder's "Snooze" button). */
      kind: isSnoozeJobName(j.jobName) ? "snooze" : "reminder",
      /** delivered, retrying, undelivered (every channel failed for good) or none. */
      delivery: occurrenceDelivery(deliveriesOfJob(deliveries, j)),
      reminder_id: j.reminderId,
      remind_at: j.remindAt.toISOString(),
      due_at: j.dueAt.toISOString(),
      status: j.status,
      fired_at: iso(j.firedAt),
      reason: j.skipReason,
      updated_at: j.updatedAt.toISOString(),
    })),
    deliveries: deliveries.map((d) => ({
      id: d.id,
      reminder_key: d.reminderKey,
      channel: d.channel,
      target: d.target,
      status: d.status,
      attempts: d.attempts,
      http_status: d.httpStatus,
      last_error: d.lastError,
      created_at: d.createdAt.toISOString(),
      sent_at: iso(d.sentAt),
      /** A pending delivery's later attempt (after the quick round), when it is due. */
      next_attempt_at: iso(d.nextAttemptAt),
      attempt_log: d.attemptLog.map((a) => ({
        attempt: a.attempt,
        status: a.status,
        http_status: a.httpStatus,
        error: a.error,
        at: a.at.toISOString(),
        /** Who asked for it ("Send again"); null for the service's own attempts. */
        requested_by: a.requestedByType ? { type: a.requestedByType, id: a.requestedById } : null,
      })),
    })),
  };
}
