// The audit trail: one audit_log row per task event (written by the audit-log function), and the
// two ways to read it back (a task's history, oldest first; a user's recent activity, newest first).
import { z } from "zod";
import { actorSchema, type Actor } from "#core/actor.ts";
import { isTaskEvent, LIST_EVENT_TYPES, type TaskEvent, type TaskEventsPayload } from "#core/events.ts";
import { instantStringSchema, TRACKED_FIELDS, type TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";

export const AUDIT_ACTIONS = [
  "created",
  "updated",
  "completed",
  "reopened",
  "deleted",
  ...LIST_EVENT_TYPES,
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

type Change = { before: unknown; after: unknown };

/** `updated` covers reopening too; the audit trail names it, as the spec lists it apart. */
export function auditAction(event: TaskEvent): AuditAction {
  const status = event.changes.status;
  if (event.event_type === "updated" && status?.before === "completed" && status.after === "pending")
    return "reopened";
  return event.event_type;
}

/** Every tracked field of `task` as the change from nothing (created) or to nothing (deleted). */
function snapshot(task: TaskDto, side: "created" | "deleted"): Record<string, Change> {
  return Object.fromEntries(
    TRACKED_FIELDS.map((field) => [
      field,
      side === "created" ? { before: null, after: task[field] } : { before: task[field], after: null },
    ]),
  );
}

/** The `changes` column of an event's row: before/after of each field the event touched. */
export function auditChanges(event: TaskEvent): Record<string, Change> {
  return event.event_type === "created"
    ? snapshot(event.task_data, "created")
    : event.event_type === "deleted"
      ? snapshot(event.task_data, "deleted")
      : { ...event.changes };
}

/**
 * Stores the row of one event; false when the event id is already in the log (a redelivery). A
 * list's event is a row without a task: its action (list_created, …), the list's name as its
 * title, and `list_id` in its changes, so the user's activity shows it.
 */
export async function recordAuditEvent(db: Db, eventId: string, event: TaskEventsPayload): Promise<boolean> {
  const row = isTaskEvent(event)
    ? {
        taskId: event.task_id,
        action: auditAction(event),
        title: event.task_data.title,
        reason: event.reason,
        changes: auditChanges(event),
      }
    : {
        taskId: null,
        action: event.event_type,
        title: event.list_data.name,
        reason: null,
        changes: {
          list_id: { before: event.list_data.id, after: event.list_data.id },
          ...(event.event_type === "list_created"
            ? {
                name: { before: null, after: event.list_data.name },
                color: { before: null, after: event.list_data.color },
              }
            : event.changes),
        },
      };
  // ON CONFLICT (event_id) DO NOTHING: redeliveries, also concurrent ones, leave the one row alone.
  const { count } = await db.auditLog.createMany({
    data: [
      {
        eventId,
        userId: event.user_id,
        ...row,
        changes: row.changes as object,
        actorType: event.actor.type,
        actorId: event.actor.id,
        occurredAt: new Date(event.timestamp),
      },
    ],
    skipDuplicates: true,
  });
  return count === 1;
}

// ───── reading ─────

export interface ActivityItem {
  id: string;
  event_id: string;
  task_id: string | null;
  action: string;
  actor: Actor;
  changes: Record<string, Change>;
  occurred_at: string;
  /** The task's title as of this event. */
  title: string;
  /** Why it happened when the user did not do it directly (recurrence, occurrence_skipped, series_deleted). */
  reason: string | null;
}

export interface ActivityPage {
  items: ActivityItem[];
  next_cursor: string | null;
}

/** ActivityPage as a schema, for the generated API description. */
export const activityPageSchema = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      event_id: z.string(),
      task_id: z.string().nullable(),
      action: z.string().describe(`One of ${AUDIT_ACTIONS.join(", ")}`),
      actor: actorSchema,
      changes: z.record(z.string(), z.object({ before: z.unknown(), after: z.unknown() })),
      occurred_at: z.string(),
      title: z.string(),
      reason: z.string().nullable(),
    }),
  ),
  next_cursor: z.string().nullable(),
});

export const ACTIVITY_LIMITS = { defaultLimit: 50, maxLimit: 100 } as const;

type CursorKind = "task" | "user";
interface CursorKey {
  occurredAt: Date;
  id: bigint;
}

const cursorPayloadSchema = z.strictObject({
  v: z.literal(1),
  k: z.enum(["task", "user"]),
  // Within what the table can hold: a crafted year 0 would reach PostgreSQL as an error (a 500).
  t: instantStringSchema,
  i: z
    .string()
    .regex(/^\d{1,19}$/)
    .refine((id) => BigInt(id) <= 9_223_372_036_854_775_807n, "beyond bigint"),
});

function encodeCursor(kind: CursorKind, last: CursorKey): string {
  const payload = { v: 1, k: kind, t: last.occurredAt.toISOString(), i: last.id.toString() };
  return Buffer.from(JSON.stringify(payload)).toString("base64url");
}

function decodeCursor(kind: CursorKind, cursor: string): CursorKey | string {
  const invalid = "is not a cursor this API issued; start again without one";
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return invalid;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return invalid;
  }
  const parsed = cursorPayloadSchema.safeParse(raw);
  if (!parsed.success) return invalid;
  if (parsed.data.k !== kind)
    return `belongs to the ${parsed.data.k === "task" ? "task history" : "activity feed"}; start again without a cursor`;
  return { occurredAt: new Date(parsed.data.t), id: BigInt(parsed.data.i) };
}

const limitMessage = `must be a whole number from 1 to ${ACTIVITY_LIMITS.maxLimit}`;

/** `?limit=&cursor=` of an activity list; unknown parameters are refused by name. */
export function activityQuerySchema(kind: CursorKind) {
  return z.strictObject({
    limit: z
      .string({ error: `must be given once, as a whole number from 1 to ${ACTIVITY_LIMITS.maxLimit}` })
      .regex(/^\d{1,4}$/, limitMessage)
      .transform(Number)
      .pipe(z.number().min(1, limitMessage).max(ACTIVITY_LIMITS.maxLimit, limitMessage))
      .default(ACTIVITY_LIMITS.defaultLimit),
    cursor: z
      .string({ error: "must be given once" })
      .transform((value, ctx) => {
        const key = decodeCursor(kind, value);
        if (typeof key === "string") {
          ctx.addIssue({ code: "custom", message: key });
          return z.NEVER;
        }
        return key;
      })
      .optional(),
  });
}
export type ActivityQuery = z.infer<ReturnType<typeof activityQuerySchema>>;

interface ActivityRow {
  id: bigint;
  event_id: string;
  task_id: string | null;
  action: string;
  actor_type: Actor["type"];
  actor_id: string | null;
  changes: Record<string, Change>;
  occurred_at: Date;
  title: string;
  reason: string | null;
}

function toItem(row: ActivityRow): ActivityItem {
  return {
    id: row.id.toString(),
    event_id: row.event_id,
    task_id: row.task_id,
    action: row.action,
    actor: { type: row.actor_type, id: row.actor_id },
    changes: row.changes,
    occurred_at: row.occurred_at.toISOString(),
    title: row.title,
    reason: row.reason,
  };
}

function page(kind: CursorKind, rows: ActivityRow[], limit: number): ActivityPage {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(toItem),
    next_cursor:
      rows.length > limit && last ? encodeCursor(kind, { occurredAt: last.occurred_at, id: last.id }) : null,
  };
}

const SELECT_ITEMS = Prisma.sql`
  SELECT a.id, a.event_id, a.task_id::text AS task_id, a.action, a.actor_type::text AS actor_type,
         a.actor_id, a.changes, a.occurred_at, a.title, a.reason
  FROM audit_log a`;

/**
 * A task's history, oldest first. Null when `userId` has neither audit rows nor a task with this
 * id (the caller answers 404 whether the task is someone else's or never existed). The history
 * outlives the task: a deleted task's rows stay readable.
 */
export async function taskActivity(
  db: Db,
  userId: string,
  taskId: string,
  query: ActivityQuery,
): Promise<ActivityPage | null> {
  const after = query.cursor
    ? Prisma.sql`AND (a.occurred_at, a.id) > (${query.cursor.occurredAt}::timestamptz, ${query.cursor.id}::bigint)`
    : Prisma.empty;
  const rows = await db.$queryRaw<ActivityRow[]>`
    ${SELECT_ITEMS}
    WHERE a.user_id = ${userId}::uuid AND a.task_id = ${taskId}::uuid ${after}
    ORDER BY a.occurred_at, a.id
    LIMIT ${query.limit + 1}`;
  if (rows.length === 0) {
    const [known] = await db.$queryRaw<{ known: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM audit_log WHERE user_id = ${userId}::uuid AND task_id = ${taskId}::uuid)
          OR EXISTS (SELECT 1 FROM tasks WHERE user_id = ${userId}::uuid AND id = ${taskId}::uuid) AS known`;
    if (!known?.known) return null;
  }
  return page("task", rows, query.limit);
}

/** A user's recent activity across all their tasks, newest first. */
export async function userActivity(db: Db, userId: string, query: ActivityQuery): Promise<ActivityPage> {
  const before = query.cursor
    ? Prisma.sql`AND (a.occurred_at, a.id) < (${query.cursor.occurredAt}::timestamptz, ${query.cursor.id}::bigint)`
    : Prisma.empty;
  const rows = await db.$queryRaw<ActivityRow[]>`
    ${SELECT_ITEMS}
    WHERE a.user_id = ${userId}::uuid ${before}
    ORDER BY a.occurred_at DESC, a.id DESC
    LIMIT ${query.limit + 1}`;
  return page("user", rows, query.limit);
}
