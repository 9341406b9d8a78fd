// Reminder planning: which Dapr jobs a task should have. Pure: the clock comes in as an argument.
//
// One job per task and reminder rule, under a deterministic name, so scheduling is an upsert
// (`overwrite: true`) and a redelivered task event changes nothing. The name stays the same when
// the due date moves (an offset reminder's job is moved, not replaced); the reminder's time and
// the due date it was planned for are kept beside it (reminder_jobs), so a trigger that fires for
// an older due date is recognised as stale.
import { DateTime } from "luxon";
import { z } from "zod";
import type { TaskEvent } from "./events.ts";
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
  /**
   * Reminders nothing is sent for: their time and the task's due time have both passed, or their
   * time has passed and the account skips such reminders (PastReminderPolicy).
   */
  skipped: SkippedReminder[];
}

/**
 * What becomes of a reminder whose time has already passed when its task is saved, the task not
 * yet being due (an account setting, users.past_reminder_policy): sent at once (the default, and
 * the behaviour before there was a choice) or skipped, its ledger row saying why.
 */
export const PAST_REMINDER_POLICIES = ["send_now", "skip"] as const;
export type PastReminderPolicy = (typeof PAST_REMINDER_POLICIES)[number];
export const DEFAULT_PAST_REMINDER_POLICY: PastReminderPolicy = "send_now";

export const pastReminderPolicySchema = z.enum(PAST_REMINDER_POLICIES, {
  error: "Pick “Send now” or “Skip”.",
});

/** A stored policy (a text column) as the rules read it; anything unknown is the default. */
export function pastReminderPolicyOf(stored: string | null | undefined): PastReminderPolicy {
  const parsed = pastReminderPolicySchema.safeParse(stored);
  return parsed.success ? parsed.data : DEFAULT_PAST_REMINDER_POLICY;
}

export const SKIP_REASONS = {
  alreadyDue: "the reminder time and the due time had both passed when it was planned",
  pastWhenSaved:
    "the reminder time had already passed when the task was saved, and the account's setting is to skip such reminders",
  taskGone: "the task was deleted",
  taskCompleted: "the task was completed",
  dueDateChanged: "the task's due date changed after this job was scheduled",
} as const;

/** Why a scheduled job was cancelled (its row keeps the reason). */
export const CANCEL_REASONS = {
  taskGone: SKIP_REASONS.taskGone,
  taskCompleted: SKIP_REASONS.taskCompleted,
  noDueDate: "the task no longer has a due date",
  reminderRemoved: "the reminder was removed from the task",
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

/**
 * Job name of a snoozed reminder (issue 16, item 2): `reminder-<task id>-s<rule>-<epoch ms>`, where
 * `<rule>` is the snoozed reminder's own rule (`o15`, `a<epoch ms>`) and the number is the instant of
 * the occurrence that was snoozed (its remind_at). One name per occurrence: snoozing it twice (a
 * double click, or 10 min and then 1 h) moves one job instead of scheduling a second; a snooze that
 * fired and is snoozed again is a new occurrence, so a new name.
 */
export function snoozeJobName(occurrence: { jobName: string; remindAt: Date }): string | null {
  const parsed = parseReminderJobName(occurrence.jobName);
  if (!parsed) return null;
  const at = occurrence.remindAt.getTime();
  if (!Number.isSafeInteger(at) || at < 0) return null;
  return `${REMINDER_JOB_PREFIX}${parsed.taskId}-s${ruleCode(parsed.reminder)}-${at}`;
}

const ruleCode = (reminder: { offset_minutes: number | null; remind_at: string | null }) =>
  reminder.offset_minutes !== null
    ? `o${reminder.offset_minutes}`
    : `a${new Date(reminder.remind_at!).getTime()}`;

const DIGITS = "(0|[1-9][0-9]*)";
const JOB_NAME = new RegExp(
  `^${REMINDER_JOB_PREFIX}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(s?)([oa])${DIGITS}(?:-${DIGITS})?$`,
);

/** An epoch-milliseconds number as an instant, or null when it is none. */
function epochInstant(digits: string): string | null {
  const value = Number(digits);
  const at = new Date(value);
  return Number.isSafeInteger(value) && !Number.isNaN(at.getTime()) ? at.toISOString() : null;
}

/**
 * The task id and the reminder a job name stands for (the inverse of reminderJobName and
 * snoozeJobName), or null for a name neither writes. A snooze's `reminder` is the rule of the
 * reminder it snoozes, and `snoozed` the instant of the occurrence it snoozed.
 */
export function parseReminderJobName(name: string): {
  taskId: string;
  reminder: { offset_minutes: number | null; remind_at: string | null };
  snoozed?: string;
} | null {
  const match = JOB_NAME.exec(name);
  if (!match) return null;
  const [, taskId, snooze, kind, digits, occurrence] = match as unknown as [
    string,
    string,
    "s" | "",
    "o" | "a",
    string,
    string | undefined,
  ];
  // A snooze names the occurrence it snoozed; a rule's own job does not.
  if ((snooze === "s") !== (occurrence !== undefined)) return null;
  let reminder: { offset_minutes: number | null; remind_at: string | null };
  if (kind === "o") reminder = { offset_minutes: Number(digits), remind_at: null };
  else {
    const at = epochInstant(digits);
    if (!at) return null;
    reminder = { offset_minutes: null, remind_at: at };
  }
  if (occurrence === undefined) return { taskId, reminder };
  const snoozed = epochInstant(occurrence);
  return snoozed ? { taskId, reminder, snoozed } : null;
}

/** Whether `name` is a snoozed reminder's job (snoozeJobName), not a reminder rule's own. */
export const isSnoozeJobName = (name: string) => parseReminderJobName(name)?.snoozed !== undefined;

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

/**
 * What planning a reminder at `now` does with it: `scheduled` (its time is ahead), `send_now` (its
 * time has passed, the task is not due yet, and the policy sends such reminders at once),
 * `skip_past` (the same, but the policy skips them) or `skip_due` (its time and the due time have
 * both passed: nothing is sent, whatever the policy). The planner's rule, and the editor's hint
 * ("already passed — will be sent now / skipped") as the user types a due date.
 */
export type ReminderTiming = "scheduled" | "send_now" | "skip_past" | "skip_due";

export function reminderTiming(
  remindAt: Date,
  dueAt: Date,
  now: Date,
  policy: PastReminderPolicy,
): ReminderTiming {
  if (remindAt.getTime() > now.getTime()) return "scheduled";
  if (dueAt.getTime() <= now.getTime()) return "skip_due";
  return policy === "skip" ? "skip_past" : "send_now";
}

/** A reminder's instant for a task due at `dueAt`: `offset_minutes` before it, or its own time. */
export function reminderInstant(
  reminder: { offset_minutes: number | null; remind_at: string | null },
  dueAt: Date,
): Date {
  return reminder.offset_minutes !== null
    ? new Date(dueAt.getTime() - reminder.offset_minutes * 60_000)
    : new Date(reminder.remind_at!);
}

/**
 * The jobs `task` should have at `now`. A completed task, or one without a due date, has none. A
 * reminder whose time has passed while the task is not yet due is sent at once or skipped, as the
 * account's `policy` says (send_now, today's behaviour, unless told otherwise).
 */
export function planReminderJobs(
  task: TaskDto,
  now: Date,
  policy: PastReminderPolicy = DEFAULT_PAST_REMINDER_POLICY,
): ReminderPlan {
  const plan: ReminderPlan = { jobs: [], skipped: [] };
  if (task.status !== "pending" || task.due_at === null) return plan;
  const dueAt = new Date(task.due_at);
  for (const reminder of task.reminders) {
    const remindAt = reminderInstant(reminder, dueAt);
    const jobName = reminderJobName(task.id, reminder);
    const planned = { jobName, reminderId: reminder.id, remindAt, dueAt };
    const timing = reminderTiming(remindAt, dueAt, now, policy);
    if (timing === "scheduled") plan.jobs.push({ ...planned, fireImmediately: false });
    else if (timing === "send_now") plan.jobs.push({ ...planned, fireImmediately: true });
    else
      plan.skipped.push({
        ...planned,
        reason: timing === "skip_past" ? SKIP_REASONS.pastWhenSaved : SKIP_REASONS.alreadyDue,
      });
  }
  return plan;
}

/** Only changes to these fields can change a task's reminder jobs. */
const FIELDS_REMINDERS_DEPEND_ON = ["due_at", "reminders", "status"] as const;

/** Whether `event` may change its task's reminder jobs (an update of other fields cannot). */
export function mayChangeReminderJobs(event: Pick<TaskEvent, "event_type" | "changes">): boolean {
  return event.event_type !== "updated" || FIELDS_REMINDERS_DEPEND_ON.some((field) => field in event.changes);
}

// ───── Reconciliation: the jobs a task has against the jobs it should have ─────

/** The state of one job as reminder_jobs records it. */
export interface ReminderJobRecord {
  jobName: string;
  status: "scheduled" | "fired" | "skipped" | "cancelled";
  remindAt: Date;
  dueAt: Date;
}

export interface Reconciliation {
  /** Jobs to (re)schedule with Dapr and record as scheduled. */
  schedule: PlannedReminderJob[];
  /** Reminders to send now, without a job, and record as fired. */
  fire: PlannedReminderJob[];
  /** Reminders to record as skipped. */
  skip: SkippedReminder[];
  /** Jobs Dapr may still hold that must not fire (their row is fired, skipped or cancelled now). */
  delete: string[];
  /** Scheduled jobs the task no longer wants: recorded as cancelled (and deleted). */
  cancel: string[];
}

const sameInstant = (a: Date, b: Date) => a.getTime() === b.getTime();

/** A row already accounts for this planned job (scheduled, fired or skipped for the same times). */
function alreadyHandled(row: ReminderJobRecord | undefined, remindAt: Date, dueAt: Date): boolean {
  return (
    row !== undefined &&
    row.status !== "cancelled" &&
    sameInstant(row.remindAt, remindAt) &&
    sameInstant(row.dueAt, dueAt)
  );
}

/**
 * What to do to bring a task's recorded jobs (`rows`) in line with its `plan`: a planned job that
 * a row already accounts for is left alone, so reconciling twice changes nothing the second time.
 * Snoozed reminders (snoozeJobName) are no rule's plan: a scheduled one stays while the task is
 * pending and due when it was snoozed (`snoozesDueAt`, the task's due date; null when the task is
 * completed, gone or undated), and is cancelled otherwise.
 */
export function planReconciliation(
  plan: ReminderPlan,
  rows: readonly ReminderJobRecord[],
  snoozesDueAt: Date | null = null,
): Reconciliation {
  const byName = new Map(rows.map((row) => [row.jobName, row]));
  const result: Reconciliation = { schedule: [], fire: [], skip: [], delete: [], cancel: [] };
  const planned = new Set<string>();
  for (const job of plan.jobs) {
    planned.add(job.jobName);
    const row = byName.get(job.jobName);
    if (alreadyHandled(row, job.remindAt, job.dueAt)) continue;
    if (job.fireImmediately) {
      result.fire.push(job);
      if (row?.status === "scheduled") result.delete.push(job.jobName);
    } else {
      result.schedule.push(job);
    }
  }
  for (const skip of plan.skipped) {
    planned.add(skip.jobName);
    const row = byName.get(skip.jobName);
    if (alreadyHandled(row, skip.remindAt, skip.dueAt)) continue;
    result.skip.push(skip);
    if (row?.status === "scheduled") result.delete.push(skip.jobName);
  }
  for (const row of byName.values()) {
    if (planned.has(row.jobName) || row.status !== "scheduled") continue;
    const keptSnooze =
      isSnoozeJobName(row.jobName) && snoozesDueAt !== null && sameInstant(row.dueAt, snoozesDueAt);
    if (!keptSnooze) result.cancel.push(row.jobName);
  }
  result.delete.push(...result.cancel);
  return result;
}

/**
 * Why a task's scheduled job that it no longer plans (`jobName`) is cancelled (`task` null: it is
 * gone). A snooze of a pending, dated task is cancelled only because the due date moved.
 */
export function cancelReason(task: Pick<TaskDto, "status" | "due_at"> | null, jobName?: string): string {
  if (!task) return CANCEL_REASONS.taskGone;
  if (task.status === "completed") return CANCEL_REASONS.taskCompleted;
  if (task.due_at === null) return CANCEL_REASONS.noDueDate;
  if (jobName !== undefined && isSnoozeJobName(jobName)) return SKIP_REASONS.dueDateChanged;
  return CANCEL_REASONS.reminderRemoved;
}

// ───── Triggers: one job firing ─────

/**
 * Why a trigger of the job recorded as `row` does nothing, or null when it is the one to act on:
 * a job fires at most once per schedule, and with `overwrite` Dapr replaces a job's schedule, so a
 * trigger of the replaced one already under way (its data names the old `remindAt`) must not fire
 * the new one early.
 */
export function ignoredTrigger(
  row: Pick<ReminderJobRecord, "status" | "remindAt"> | null,
  triggeredRemindAt: Date | undefined,
): string | null {
  if (!row) return "no such reminder job";
  if (row.status === "fired") return "already fired (a repeated trigger)";
  if (row.status !== "scheduled") return `the job is ${row.status}`;
  if (triggeredRemindAt && !sameInstant(triggeredRemindAt, row.remindAt))
    return "a trigger of an earlier schedule of this job";
  return null;
}

/**
 * Why a due trigger sends nothing because the task moved on since the job was planned for
 * `plannedDueAt` (`task` null: it is gone), or null when the reminder still applies.
 */
export function staleTriggerReason(
  task: { status: TaskDto["status"]; dueAt: Date | null } | null,
  plannedDueAt: Date,
): string | null {
  if (!task) return SKIP_REASONS.taskGone;
  if (task.status === "completed") return SKIP_REASONS.taskCompleted;
  if (!task.dueAt || !sameInstant(task.dueAt, plannedDueAt)) return SKIP_REASONS.dueDateChanged;
  return null;
}
