// Reminder planning: which Dapr jobs a task should have. Pure: the clock comes in as an argument.
//
// One job per task and reminder rule, under a deterministic name, so scheduling is an upsert
// (`overwrite: true`) and a redelivered task event changes nothing. The name stays the same when
// the due date moves (an offset reminder's job is moved, not replaced); the reminder's time and
// the due date it was planned for are kept beside it (reminder_jobs), so a trigger that fires for
// an older due date is recognised as stale.
import { DateTime } from "luxon";
import type { TaskDto } from "./tasks.ts";

/** Every reminder job's name starts with this (the function host routes `POST /job/reminder-…`). */
export const REMINDER_JOB_PREFIX = "reminder-";

export interface PlannedReminderJob {
  jobName: string;
  reminderId: string;
  remindAt: Date;
  /** The task's due date this job is planned for. */
  dueAt: Date;
  /** The reminder time has passed but the task is not due yet: notify now, schedule nothing. */
  fireImmediately: boolean;
}

export interface SkippedReminder {
  jobName: string;
  reminderId: string;
  remindAt: Date;
  dueAt: Date;
  reason: string;
}

export interface ReminderPlan {
  jobs: PlannedReminderJob[];
  /** Reminders whose time and the task's due time have both passed: nothing is sent for them. */
  skipped: SkippedReminder[];
}

export const SKIP_REASONS = {
  alreadyDue: "the reminder time and the due time had both passed when it was planned",
  taskGone: "the task was deleted",
  taskCompleted: "the task was completed",
  dueDateChanged: "the task's due date changed after this job was scheduled",
} as const;

/**
 * Job name of one reminder: `reminder-<task id>-o<minutes>` for "minutes before due", and
 * `reminder-<task id>-a<epoch ms>` for an absolute instant (milliseconds, because two reminders of a
 * task may differ by less than a second).
 */
export function reminderJobName(
  taskId: string,
  reminder: { offset_minutes: number | null; remind_at: string | null },
): string {
  if (reminder.offset_minutes !== null) return `${REMINDER_JOB_PREFIX}${taskId}-o${reminder.offset_minutes}`;
  return `${REMINDER_JOB_PREFIX}${taskId}-a${new Date(reminder.remind_at!).getTime()}`;
}

const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Dapr's job-name rule (go-etcd-cron internal/api/validator/validator.go): `/ \ # ?`, NUL and
 * newlines are refused; with `_ : -` and spaces removed and lower-cased, what is left must be a
 * DNS-1123 subdomain of at most 253 characters.
 */
export function isValidJobName(name: string): boolean {
  if (/[/\\#?\0\n\r]/.test(name)) return false;
  const normalised = name.replace(/[_:\- ]/g, "").toLowerCase();
  return normalised.length > 0 && normalised.length <= 253 && DNS_1123_SUBDOMAIN.test(normalised);
}

/**
 * RFC 3339 with an explicit offset, in `timeZone` (the task's zone, so a job's dueTime reads as the
 * user's local time), e.g. `2026-11-24T15:00:00.000+01:00`; daprd parses it with Go's
 * time.RFC3339, which accepts the fraction.
 */
export function toRfc3339(instant: Date, timeZone = "UTC"): string {
  const local = DateTime.fromJSDate(instant, { zone: timeZone });
  const zoned = local.isValid ? local : DateTime.fromJSDate(instant, { zone: "UTC" });
  return zoned.toISO({ suppressMilliseconds: false, includeOffset: true })!;
}

/** The jobs `task` should have at `now`. A completed task, or one without a due date, has none. */
export function planReminderJobs(task: TaskDto, now: Date): ReminderPlan {
  const plan: ReminderPlan = { jobs: [], skipped: [] };
  if (task.status !== "pending" || task.due_at === null) return plan;
  const dueAt = new Date(task.due_at);
  for (const reminder of task.reminders) {
    const remindAt =
      reminder.offset_minutes !== null
        ? new Date(dueAt.getTime() - reminder.offset_minutes * 60_000)
        : new Date(reminder.remind_at!);
    const jobName = reminderJobName(task.id, reminder);
    if (remindAt.getTime() > now.getTime()) {
      plan.jobs.push({ jobName, reminderId: reminder.id, remindAt, dueAt, fireImmediately: false });
    } else if (dueAt.getTime() > now.getTime()) {
      plan.jobs.push({ jobName, reminderId: reminder.id, remindAt, dueAt, fireImmediately: true });
    } else {
      plan.skipped.push({
        jobName,
        reminderId: reminder.id,
        remindAt,
        dueAt,
        reason: SKIP_REASONS.alreadyDue,
      });
    }
  }
  return plan;
}
