// Reminders you can act on (issue 16, item 2): the work behind POST /v1/reminder-actions, which the
// Reminder Service (on-reminder-fired) serves because a snooze is a Dapr job, and Dapr fires a job
// only into the app-id that scheduled it. The token rules are #core/reminder-actions.ts.
//
// One transaction per action, holding the task's reminder lock (the one reconciliations and
// triggers take): it reads what this link already did (reminder_actions, one row per occurrence
// and action), then completes the task through the complete command (its events in the outbox,
// the audit log's actor `reminder_action`) or schedules the snooze job (Dapr first, with
// `overwrite`, under a name fixed by the occurrence) and records it in reminder_jobs, where the
// task's page shows it. A link used again answers what it did the first time and does nothing.
import { DateTime } from "luxon";
import {
  ACTION_KEY_ENV,
  ACTION_KEY_SECRET,
  actionRefusal,
  claimsReminderKey,
  isSnooze,
  REFUSAL_MESSAGES,
  reminderActionActor,
  snoozedUntil,
  type ActionOutcome,
  type ActionRefusal,
  type ReminderAction,
  type ReminderActionBody,
  type TokenRefusal,
} from "#core/reminder-actions.ts";
import { verifyActionToken, type ActionKeyring } from "#core/reminder-action-tokens.ts";
import { snoozeJobName, toRfc3339 } from "#core/reminders.ts";
import { DomainError } from "#core/errors.ts";
import type { Db, Tx } from "#db/client.ts";
import { DaprClient } from "#platform/dapr-client.ts";
import { EnvError, parseEnv } from "#platform/env.ts";
import { extendEnv } from "#platform/host.ts";
import { loadSecretKeyring, SecretKeyError } from "#platform/secret-box.ts";
import { z } from "zod";
import { completeTask } from "./commands.ts";
import { JOB_FAILURE_POLICY, type ReminderContext, type ReminderJobData } from "./reminders.ts";

/** A refused action: why, in the words the person who pressed the button reads. */
export class ReminderActionRefused extends DomainError {
  override readonly name = "ReminderActionRefused";

  constructor(readonly reason: TokenRefusal | ActionRefusal) {
    super(REFUSAL_MESSAGES[reason]);
  }
}

export interface ReminderActionContext extends ReminderContext {
  db: Db;
  dapr: Pick<DaprClient, "scheduleJob">;
  keys: Pick<ActionKeyring, "keys">;
  traceparent?: string;
}

/** The task an action is about, as the answer shows it. */
interface TaskSummary {
  id: string;
  title: string;
  status: "pending" | "completed";
  due_at: string | null;
}

export interface ActionResult {
  action: ReminderAction;
  outcome: ActionOutcome;
  /** This link had already been used: nothing was done now, this is what it did then. */
  repeated: boolean;
  task: TaskSummary;
  /** Snoozes: when the reminder comes again. */
  snoozed_until: string | null;
  /** The account's zone, for showing snoozed_until. */
  time_zone: string;
  message: string;
}

export interface ActionPreview {
  action: ReminderAction;
  task: TaskSummary;
  time_zone: string;
  /** What pressing the button will do ("Snooze “Pay rent” for 10 minutes?"). */
  prompt: string;
  /** Set when there is nothing left to do (the task is done, or this link was used): why. */
  settled: string | null;
}

interface TaskRow {
  id: string;
  title: string;
  status: "pending" | "completed";
  due_at: Date | null;
  task_zone: string;
  user_zone: string;
}

const summary = (row: TaskRow): TaskSummary => ({
  id: row.id,
  title: row.title,
  status: row.status,
  due_at: row.due_at?.toISOString() ?? null,
});

async function lockTask(tx: Tx, taskId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`reminders:${taskId}`}, 0))`;
}

async function loadTask(db: Db | Tx, userId: string, taskId: string): Promise<TaskRow | null> {
  const [row] = await db.$queryRaw<TaskRow[]>`
    SELECT t.id::text AS id, t.title, t.status::text AS status, t.due_at, t.time_zone AS task_zone,
           u.time_zone AS user_zone
    FROM tasks t JOIN users u ON u.id = t.user_id
    WHERE t.id = ${taskId}::uuid AND t.user_id = ${userId}::uuid`;
  return row ?? null;
}

/** An instant as the account reads it: "14:35" today, else "Tue 8 Dec, 14:35". */
function spoken(at: Date, timeZone: string, now: Date): string {
  const zoned = DateTime.fromJSDate(at, { zone: timeZone });
  const local = zoned.isValid ? zoned : DateTime.fromJSDate(at, { zone: "UTC" });
  const today = DateTime.fromJSDate(now, { zone: local.zone }).hasSame(local, "day");
  return local.toFormat(today ? "HH:mm" : "ccc d LLL, HH:mm");
}

function message(outcome: ActionOutcome, title: string, until: Date | null, zone: string, now: Date) {
  if (outcome === "completed") return `Done: “${title}” is completed.`;
  if (outcome === "already_completed") return `“${title}” was already completed.`;
  return `Snoozed: Orbit reminds you of “${title}” again at ${spoken(until!, zone, now)}.`;
}

/** The token's claims for `body`, or the refusal. */
function verified(ctx: ReminderActionContext, body: ReminderActionBody) {
  const verdict = verifyActionToken(body.token, ctx.keys, ctx.now(), body.action);
  if (!verdict.ok) throw new ReminderActionRefused(verdict.reason);
  return verdict.claims;
}

/** What a link would do, without doing it (the confirmation page a mail link opens). */
export async function previewReminderAction(
  ctx: ReminderActionContext,
  body: ReminderActionBody,
): Promise<ActionPreview> {
  const claims = verified(ctx, body);
  const now = ctx.now();
  const [task, used] = await Promise.all([
    loadTask(ctx.db, claims.userId, claims.taskId),
    ctx.db.reminderAction.findUnique({
      where: { reminderKey_action: { reminderKey: claimsReminderKey(claims), action: claims.action } },
    }),
  ]);
  const refusal = actionRefusal(claims.action, task && { status: task.status, dueAt: task.due_at });
  if (refusal) throw new ReminderActionRefused(refusal);
  const row = task!;
  const prompt =
    claims.action === "complete"
      ? `Complete “${row.title}”?`
      : `Snooze “${row.title}” for ${claims.action === "snooze_10m" ? "10 minutes" : "1 hour"}?`;
  let settled: string | null = null;
  if (used) {
    const until = used.snoozedUntil;
    settled = `You already used this link: ${message(used.outcome as ActionOutcome, row.title, until, row.user_zone, now)}`;
  } else if (claims.action === "complete" && row.status === "completed") {
    settled = message("already_completed", row.title, null, row.user_zone, now);
  }
  return { action: claims.action, task: summary(row), time_zone: row.user_zone, prompt, settled };
}

/** Does what the link says, once. */
export async function performReminderAction(
  ctx: ReminderActionContext,
  body: ReminderActionBody,
): Promise<ActionResult> {
  const claims = verified(ctx, body);
  const reminderKey = claimsReminderKey(claims);
  return ctx.db.$transaction(
    async (tx): Promise<ActionResult> => {
      await lockTask(tx, claims.taskId);
      const now = ctx.now();
      const task = await loadTask(tx, claims.userId, claims.taskId);
      const refusal = actionRefusal(claims.action, task && { status: task.status, dueAt: task.due_at });
      // A deleted task (or another account's: the same words) ends every link, used or not.
      if (refusal === "task_gone") throw new ReminderActionRefused(refusal);
      const row = task!;
      const answer = (outcome: ActionOutcome, repeated: boolean, until: Date | null): ActionResult => ({
        action: claims.action,
        outcome,
        repeated,
        task: summary(row),
        snoozed_until: until?.toISOString() ?? null,
        time_zone: row.user_zone,
        message: message(outcome, row.title, until, row.user_zone, now),
      });

      const used = await tx.reminderAction.findUnique({
        where: { reminderKey_action: { reminderKey, action: claims.action } },
      });
      if (used) {
        // What it did then; a snooze moved since (the other snooze button) says where it is now.
        let until = used.snoozedUntil;
        if (used.snoozeJob) {
          const job = await tx.reminderJob.findUnique({ where: { jobName: used.snoozeJob } });
          if (job?.status === "scheduled") until = job.remindAt;
        }
        return answer(used.outcome as ActionOutcome, true, until);
      }
      if (refusal) throw new ReminderActionRefused(refusal);

      if (!isSnooze(claims.action)) {
        const { task: after, changed } = await completeTask(
          {
            db: ctx.db,
            tx,
            pubsub: ctx.env.PUBSUB_NAME,
            source: ctx.name,
            actor: reminderActionActor(claims),
            userId: claims.userId,
            userTimeZone: row.user_zone,
            defaultReminderMinutes: [],
            now,
            traceparent: ctx.traceparent,
          },
          claims.taskId,
        );
        if (!changed) return answer("already_completed", false, null);
        await record(tx, claims, reminderKey, "completed", null, null, now);
        return { ...answer("completed", false, null), task: { ...summary(row), status: after.status } };
      }

      const until = snoozedUntil(claims.action, now);
      const jobName = snoozeJobName({ jobName: claims.jobName, remindAt: claims.remindAt });
      // verifyActionToken admits only this task's reminder job names, so there is always one.
      if (!jobName) throw new ReminderActionRefused("invalid");
      const origin = await tx.reminderJob.findUnique({
        where: { jobName: claims.jobName },
        select: { reminderId: true },
      });
      const dueAt = row.due_at!;
      // Dapr first: if it fails, nothing is recorded and the person can press again.
      await ctx.dapr.scheduleJob(jobName, {
        dueTime: toRfc3339(until, row.task_zone),
        data: {
          task_id: claims.taskId,
          job_name: jobName,
          remind_at: until.toISOString(),
          due_at: dueAt.toISOString(),
        } satisfies ReminderJobData,
        overwrite: true,
        failurePolicy: JOB_FAILURE_POLICY,
      });
      const fields = {
        reminderId: origin?.reminderId ?? null,
        remindAt: until,
        dueAt,
        status: "scheduled" as const,
        firedAt: null,
        skipReason: null,
        updatedAt: now,
      };
      await tx.reminderJob.upsert({
        where: { jobName },
        create: { jobName, taskId: claims.taskId, userId: claims.userId, ...fields, createdAt: now },
        update: fields,
      });
      await record(tx, claims, reminderKey, "snoozed", jobName, until, now);
      return answer("snoozed", false, until);
    },
    { maxWait: 5_000, timeout: 30_000 },
  );
}

function record(
  tx: Tx,
  claims: { userId: string; taskId: string; action: ReminderAction; channel: string },
  reminderKey: string,
  outcome: "completed" | "snoozed",
  snoozeJob: string | null,
  snoozedUntil: Date | null,
  now: Date,
) {
  return tx.reminderAction.create({
    data: {
      userId: claims.userId,
      taskId: claims.taskId,
      reminderKey,
      action: claims.action,
      channel: claims.channel,
      outcome,
      snoozeJob,
      snoozedUntil,
      createdAt: now,
    },
  });
}

// ───── the Reminder Service's keys ─────

/** on-reminder-fired's settings on top of the base env: where its action keys come from. */
export const reminderServiceEnvSchema = extendEnv({
  /** The keys action tokens are verified with (#core/reminder-actions.ts ACTION_KEY_ENV). */
  [ACTION_KEY_ENV]: z.string().min(1).optional(),
  SECRET_STORE_NAME: z.string().min(1).default("secretstore"),
});
export type ReminderServiceEnv = z.infer<typeof reminderServiceEnvSchema>;

/**
 * The action keys, read once before serving: from the env, else the Dapr secret store. A missing
 * or malformed key ends the process with exit code 78 (EX_CONFIG) and says why on stderr, as
 * notifications does for its keys: a reminder's buttons must never silently stop working.
 */
export async function readActionKeysOrExit(service: string): Promise<ActionKeyring> {
  try {
    const env = parseEnv(reminderServiceEnvSchema);
    const dapr = new DaprClient({
      host: env.DAPR_HOST,
      port: env.DAPR_HTTP_PORT,
      apiToken: env.DAPR_API_TOKEN,
    });
    return await loadSecretKeyring(env[ACTION_KEY_ENV], dapr, {
      envName: ACTION_KEY_ENV,
      secretName: ACTION_KEY_SECRET,
      store: env.SECRET_STORE_NAME,
    });
  } catch (error) {
    if (!(error instanceof EnvError || error instanceof SecretKeyError)) throw error;
    process.stderr.write(`${service}: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
}
