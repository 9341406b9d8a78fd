// Reminders you can act on (issue 16, item 2): "Complete", "Snooze 10 min" and "Snooze 1 h" from a
// push notification or a reminder mail. Each action of each reminder occurrence gets its own signed
// token: HMAC-SHA256 under a server key (secret `reminder-action-key`, never in the database) over
// the user, the task, the occurrence, the action, the channel and an expiry. It is the only
// credential the action needs (never the session cookie, never an API token in a URL); it does that
// one thing for that one task, for 7 days, and nothing once the task is done or deleted. Pure: the
// clock comes in as an argument; signing and checking tokens is ./reminder-action-tokens.ts (kept
// apart: the web app's pages import these names and labels, and a browser has no node:crypto);
// packages/tasks/src/reminder-actions.ts does the work.
import { z } from "zod";

/** What a reminder lets you do, and how long each snooze is. */
export const REMINDER_ACTIONS = ["complete", "snooze_10m", "snooze_1h"] as const;
export type ReminderAction = (typeof REMINDER_ACTIONS)[number];
export const SNOOZE_MINUTES: Record<Exclude<ReminderAction, "complete">, number> = {
  snooze_10m: 10,
  snooze_1h: 60,
};
export const ACTION_LABELS: Record<ReminderAction, string> = {
  complete: "Complete",
  snooze_10m: "Snooze 10 min",
  snooze_1h: "Snooze 1 h",
};
export const isSnooze = (action: ReminderAction): action is keyof typeof SNOOZE_MINUTES =>
  action !== "complete";

/** The channels that carry action tokens. */
export const ACTION_CHANNELS = ["push", "email", "webhook"] as const;
export type ActionChannel = (typeof ACTION_CHANNELS)[number];

/**
 * Where the signing keys come from: JSON `{"current":"<kid>","<kid>":"<32 bytes, base64>"}` in this
 * env variable, else the Dapr secret of this name (same fields), read by notifications (which
 * signs) and on-reminder-fired (which verifies) at start.
 */
export const ACTION_KEY_ENV = "REMINDER_ACTION_KEYS";
export const ACTION_KEY_SECRET = "reminder-action-key";

/** How long a token works after it was issued (when the reminder was sent). */
export const ACTION_TOKEN_TTL_MS = 7 * 24 * 3_600_000;

/** What a token says: who, which task and occurrence, what, through which channel, until when. */
export interface ActionClaims {
  userId: string;
  taskId: string;
  /** The occurrence: the job that fired and its instant (its ledger key is `jobName@remindAt`). */
  jobName: string;
  remindAt: Date;
  action: ReminderAction;
  channel: ActionChannel;
  expiresAt: Date;
}

/** The ledger key of the occurrence a token acts on (#core/channels.ts reminderKey). */
export const claimsReminderKey = (claims: Pick<ActionClaims, "jobName" | "remindAt">) =>
  `${claims.jobName}@${claims.remindAt.toISOString()}`;

/** Who the audit log says completed a task from a reminder: the channel and the reminder's job. */
export const reminderActionActor = (claims: Pick<ActionClaims, "channel" | "jobName">) => ({
  type: "reminder_action" as const,
  id: `${claims.channel}:${claims.jobName}`,
});

// ───── what an action does with the task as it is now ─────

/** Why a token is refused. */
export type TokenRefusal = "invalid" | "expired" | "wrong_action";

/** Why an action does nothing to the task (each a friendly 4xx), or null when it goes ahead. */
export type ActionRefusal = "task_gone" | "task_completed" | "no_due_date";

/**
 * Whether `action` may act on `task` (null: deleted, or not the token's user's: they must read
 * the same). Completing a completed task is no refusal (it is already what was asked: 200); a
 * snooze of a completed or undated task is.
 */
export function actionRefusal(
  action: ReminderAction,
  task: { status: "pending" | "completed"; dueAt: Date | null } | null,
): ActionRefusal | null {
  if (!task) return "task_gone";
  if (action === "complete") return null;
  if (task.status === "completed") return "task_completed";
  if (!task.dueAt) return "no_due_date";
  return null;
}

/** When a snooze pressed at `now` reminds again. */
export const snoozedUntil = (action: keyof typeof SNOOZE_MINUTES, now: Date) =>
  new Date(now.getTime() + SNOOZE_MINUTES[action] * 60_000);

/** The request body of POST /v1/reminder-actions (and its preview). */
export const reminderActionBodySchema = z.strictObject({
  action: z.enum(REMINDER_ACTIONS, { error: "must be complete, snooze_10m or snooze_1h" }),
  token: z
    .string({ error: "must be the token of a reminder's action link" })
    .min(1, "must be the token of a reminder's action link")
    .max(1024, "must be the token of a reminder's action link"),
});
export type ReminderActionBody = z.infer<typeof reminderActionBodySchema>;

/** What every refusal says to the person who pressed the button. */
export const REFUSAL_MESSAGES: Record<TokenRefusal | ActionRefusal, string> = {
  invalid:
    "This reminder link is not valid: it may have been cut short or changed. Open the task in Orbit instead.",
  expired: "This reminder link has expired (they work for 7 days). Open the task in Orbit instead.",
  wrong_action: "This link is for another action of the reminder.",
  task_gone: "This task no longer exists.",
  task_completed: "This task is already done: there is nothing to snooze.",
  no_due_date: "This task no longer has a due date, so it has no reminders to snooze.",
};

/** The outcome of an action, as the endpoint answers it. */
export type ActionOutcome = "completed" | "already_completed" | "snoozed";
