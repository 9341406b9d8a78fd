// The task contract: what a client may send, and what every reader and event carries. Pure: zod
// only. JSON on the wire is snake_case, in the API and in events alike.
import { z } from "zod";
import { RuleViolation } from "./errors.ts";
import { storableString } from "./text.ts";

export const PRIORITIES = ["high", "medium", "low", "none"] as const;
export const STATUSES = ["pending", "completed"] as const;
export type Priority = (typeof PRIORITIES)[number];
export type TaskStatus = (typeof STATUSES)[number];

export const LIMITS = {
  titleMax: 500,
  descriptionMax: 20_000,
  tagMax: 50,
  tagsPerTask: 20,
  remindersPerTask: 10,
  /** A reminder at most a year before its due time. */
  reminderOffsetMaxMinutes: 525_600,
  recurrenceIntervalMax: 365,
  recurrenceCountMax: 1000,
} as const;

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const timeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(isValidTimeZone, { message: "must be an IANA time zone such as Europe/Berlin" });

// ───── Instants PostgreSQL can store ─────

/**
 * The instants Orbit takes and emits: 1970-01-01T00:00:00Z up to 9999-12-31T23:59:59.999Z.
 * - Up to year 9999: RFC 3339 has four-digit years. Past them `toISOString()` writes an expanded
 *   year (+010000-01-01T…), which no RFC 3339 reader takes: our own schemas, Go's time.RFC3339 in
 *   daprd (a reminder job's dueTime). A task due then could never be sent in an event again.
 * - From 1970: PostgreSQL has no year 0 (JavaScript's year 0 is 1 BC, written "0000-…", refused
 *   with 22008), and a reminder before the epoch would be named `reminder-<id>-a-<ms>`, which the
 *   job route does not recognise as a reminder (a negative epoch). Nothing a task manager plans
 *   lies before 1970, so one range for every instant keeps the rule simple.
 */
export const INSTANT_RANGE = {
  min: Date.UTC(1970, 0, 1),
  max: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
} as const;

const INSTANT_RANGE_MESSAGE = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z";

/** Whether `ms` (epoch milliseconds) is an instant inside INSTANT_RANGE. */
export function isInstantInRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= INSTANT_RANGE.min && ms <= INSTANT_RANGE.max;
}

/** An RFC 3339 date-time with an offset inside INSTANT_RANGE, kept as the string (events, DTOs). */
export const instantStringSchema = z.iso
  .datetime({
    offset: true,
    error: "must be an RFC 3339 date-time with an offset, e.g. 2026-11-24T15:00:00Z",
    // A value that is no date-time at all gets that one message, not the range's too.
    abort: true,
  })
  .refine((value) => isInstantInRange(Date.parse(value)), { message: INSTANT_RANGE_MESSAGE });

/** An instant with an explicit offset (RFC 3339), e.g. 2026-11-24T15:00:00+01:00. */
export const instantSchema = instantStringSchema.transform((value) => new Date(value));

export const titleSchema = storableString()
  .trim()
  .min(1, "must not be empty")
  .max(LIMITS.titleMax, `must be at most ${LIMITS.titleMax} characters`);

export const descriptionSchema = storableString().max(
  LIMITS.descriptionMax,
  `must be at most ${LIMITS.descriptionMax} characters`,
);

export const prioritySchema = z.enum(PRIORITIES, { error: `must be one of ${PRIORITIES.join(", ")}` });
export const statusSchema = z.enum(STATUSES, { error: `must be one of ${STATUSES.join(", ")}` });

/** A tag: letters, digits and `- _ / .`, starting with a letter or digit. Case-insensitive per user. */
export const tagSchema = storableString()
  .trim()
  .min(1, "must not be empty")
  .max(LIMITS.tagMax, `must be at most ${LIMITS.tagMax} characters`)
  .regex(
    /^[\p{L}\p{N}][\p{L}\p{N}_\-/.]*$/u,
    "may contain letters, digits, - _ / . and must start with a letter or digit",
  );

/** Tags of one task: duplicates (ignoring case) are removed, first spelling wins. */
export const tagListSchema = z
  .array(tagSchema, { error: "must be an array of strings" })
  .max(LIMITS.tagsPerTask, `at most ${LIMITS.tagsPerTask} tags`)
  .transform((tags) => {
    const seen = new Set<string>();
    return tags.filter((tag) => {
      const key = tag.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  });

export const reminderInputSchema = z.union(
  [
    z.strictObject({
      offset_minutes: z
        .number({ error: "must be a number of minutes" })
        .int("must be a whole number of minutes")
        .min(0, "must not be negative")
        .max(LIMITS.reminderOffsetMaxMinutes, "must be at most a year (525600 minutes)"),
    }),
    z.strictObject({ remind_at: instantSchema }),
  ],
  { error: "each reminder is { offset_minutes } (minutes before due) or { remind_at } (an instant)" },
);
export type ReminderInput = z.infer<typeof reminderInputSchema>;

export const reminderListSchema = z
  .array(reminderInputSchema, { error: "must be an array" })
  .max(LIMITS.remindersPerTask, `at most ${LIMITS.remindersPerTask} reminders`);

export const RECURRENCE_PATTERNS = ["hourly", "daily", "weekly", "monthly", "yearly"] as const;
/** The nth weekday of the month a monthly rule may name: 1st … 4th, or -1 for the last. */
export const RECURRENCE_MONTH_WEEKS = [1, 2, 3, 4, -1] as const;
export const RECURRENCE_ANCHORS = ["schedule", "completion"] as const;

export const recurrenceInputSchema = z
  .strictObject({
    pattern: z.enum(RECURRENCE_PATTERNS, { error: "must be hourly, daily, weekly, monthly or yearly" }),
    interval: z.number().int().min(1).max(LIMITS.recurrenceIntervalMax).default(1),
    /**
     * ISO weekdays, 1 = Monday … 7 = Sunday: weekly, or monthly with month_week (exactly one:
     * "the 3rd Tuesday").
     */
    weekdays: z
      .array(
        z.number().int().min(1, "weekdays are 1 (Mon) … 7 (Sun)").max(7, "weekdays are 1 (Mon) … 7 (Sun)"),
      )
      .max(7)
      .transform((days) => [...new Set(days)].sort((a, b) => a - b))
      .default([]),
    /** Day of the month, 1–31 (monthly only; 31 means the month's last day in short months). */
    month_day: z.number().int().min(1).max(31).nullable().default(null),
    last_day_of_month: z.boolean().default(false),
    /** Monthly on the nth weekday (the one in weekdays): 1 … 4, or -1 for the last. */
    month_week: z
      .union(
        RECURRENCE_MONTH_WEEKS.map((week) => z.literal(week)),
        { error: "must be 1, 2, 3, 4 or -1 (the last)" },
      )
      .nullable()
      .default(null),
    anchor: z.enum(RECURRENCE_ANCHORS, { error: "must be schedule or completion" }).default("schedule"),
    ends_at: instantSchema.nullable().default(null),
    max_count: z.number().int().min(1).max(LIMITS.recurrenceCountMax).nullable().default(null),
  })
  .superRefine((value, ctx) => {
    const nth = value.pattern === "monthly" && value.month_week !== null;
    if (value.pattern !== "weekly" && !nth && value.weekdays.length > 0)
      ctx.addIssue({
        code: "custom",
        path: ["weekdays"],
        message: "only weekly recurrences, and monthly ones on the nth weekday, take weekdays",
      });
    if (nth && value.weekdays.length !== 1)
      ctx.addIssue({
        code: "custom",
        path: ["weekdays"],
        message: "name exactly one weekday for the nth weekday of the month",
      });
    if (value.month_week !== null && value.pattern !== "monthly")
      ctx.addIssue({
        code: "custom",
        path: ["month_week"],
        message: "only monthly recurrences take a month week",
      });
    if (nth && (value.month_day !== null || value.last_day_of_month))
      ctx.addIssue({
        code: "custom",
        path: ["month_week"],
        message: "give month_week or a month day, not both",
      });
    if (value.pattern !== "monthly" && (value.month_day !== null || value.last_day_of_month))
      ctx.addIssue({
        code: "custom",
        path: ["month_day"],
        message: "only monthly recurrences take a month day",
      });
    if (value.month_day !== null && value.last_day_of_month)
      ctx.addIssue({
        code: "custom",
        path: ["last_day_of_month"],
        message: "give month_day or last_day_of_month, not both",
      });
  });
export type RecurrenceInput = z.infer<typeof recurrenceInputSchema>;

// ───── Rules that join fields ─────

/** A recurring task needs a due date: its series is counted from it. Null when the rule holds. */
export function recurrenceWithoutDueDate(
  recurrence: unknown,
  dueAt: Date | string | null,
): RuleViolation | null {
  return recurrence && !dueAt ? new RuleViolation("recurrence", "a recurring task needs a due_at") : null;
}

/**
 * Reminders need a due date: each is planned against its task's due time (reminder_jobs keeps the
 * due date each job was planned for, to tell a stale trigger). Null when the rule holds.
 */
export function remindersWithoutDueDate(
  reminders: readonly unknown[],
  dueAt: Date | string | null,
): RuleViolation | null {
  return reminders.length > 0 && !dueAt
    ? new RuleViolation("reminders", "reminders need the task to have a due_at")
    : null;
}

/** A list's id as a task names it (packages/core/src/lists.ts holds the lists' own rules). */
const taskListIdSchema = z.uuid({ error: "must be a list id (UUID)" });
const parentIdSchema = z.uuid({ error: "must be a task id (UUID)" });

export const createTaskSchema = z
  .strictObject({
    title: titleSchema,
    /** Omitted: the Inbox (or, for a subtask, its parent's list). */
    list_id: taskListIdSchema.optional(),
    /** Makes the task a subtask of this one (one level: the parent is no subtask). */
    parent_id: parentIdSchema.optional(),
    description: descriptionSchema.default(""),
    priority: prioritySchema.default("none"),
    due_at: instantSchema.nullable().default(null),
    /** Defaults to the user's time zone. */
    time_zone: timeZoneSchema.optional(),
    tags: tagListSchema.default([]),
    /** Omitted: the user's default reminders apply when the task has a due date. */
    reminders: reminderListSchema.optional(),
    recurrence: recurrenceInputSchema.nullable().default(null),
  })
  .superRefine((value, ctx) => {
    const violation = recurrenceWithoutDueDate(value.recurrence, value.due_at);
    if (violation)
      ctx.addIssue({ code: "custom", path: violation.field.split("."), message: violation.detail });
  });
export type CreateTaskInput = z.infer<typeof createTaskSchema>;

export const updateTaskSchema = z
  .strictObject({
    title: titleSchema.optional(),
    description: descriptionSchema.optional(),
    priority: prioritySchema.optional(),
    due_at: instantSchema.nullable().optional(),
    time_zone: timeZoneSchema.optional(),
    tags: tagListSchema.optional(),
    reminders: reminderListSchema.optional(),
    /** null stops the task repeating. */
    recurrence: recurrenceInputSchema.nullable().optional(),
    /** Moves the task (and its subtasks) to another of the user's lists. */
    list_id: taskListIdSchema.optional(),
    /** Makes the task a subtask of another, or (null) a task of its own again. */
    parent_id: parentIdSchema.nullable().optional(),
    /** The version the change is based on; a stale one is refused with 409. */
    version: z.number().int().min(1).optional(),
  })
  .refine((value) => Object.keys(value).some((key) => key !== "version"), {
    message: "name at least one field to change",
  });
export type UpdateTaskInput = z.infer<typeof updateTaskSchema>;

/** What completing a parent does with its open subtasks; without one, the command asks (409). */
export const SUBTASK_CHOICES = ["complete", "leave"] as const;
export type SubtaskChoice = (typeof SUBTASK_CHOICES)[number];
export const subtaskChoiceSchema = z.enum(SUBTASK_CHOICES, {
  error: "must be complete (complete the open subtasks too) or leave (leave them open)",
});

/**
 * `POST /v1/tasks/:id/complete` and `/reopen` take an optional version; complete takes
 * `subtasks` too, which a parent with open subtasks needs (else 409 open-subtasks).
 */
export const statusChangeSchema = z.strictObject({
  version: z.number().int().min(1).optional(),
  subtasks: subtaskChoiceSchema.optional(),
});

export const taskIdSchema = z.uuid({ error: "must be a task id (UUID)" });

// ───── What readers and events carry ─────

// Readers get what the database holds; events are read back by consumers, which must refuse what
// they could not store or compute with (an instant out of range, text PostgreSQL refuses) rather
// than fail on it at every redelivery: so these schemas hold the same rules as the inputs.

export const reminderDtoSchema = z.object({
  id: storableString(),
  offset_minutes: z.number().nullable(),
  remind_at: instantStringSchema.nullable(),
});

export const recurrenceDtoSchema = z.object({
  series_id: storableString(),
  pattern: z.enum(RECURRENCE_PATTERNS),
  interval: z.number(),
  weekdays: z.array(z.number()),
  month_day: z.number().nullable(),
  last_day_of_month: z.boolean(),
  month_week: z.number().nullable(),
  anchor: z.enum(RECURRENCE_ANCHORS),
  ends_at: instantStringSchema.nullable(),
  max_count: z.number().nullable(),
  active: z.boolean(),
});

export const taskDtoSchema = z.object({
  id: storableString(),
  user_id: storableString(),
  title: storableString(),
  description: storableString(),
  status: statusSchema,
  priority: prioritySchema,
  due_at: instantStringSchema.nullable(),
  time_zone: storableString(),
  tags: z.array(storableString()),
  /** The list the task is in. */
  list_id: storableString(),
  /** The parent, for a subtask; null for a task of its own. */
  parent_id: storableString().nullable(),
  /** A parent's progress: its subtasks, and how many of them are completed (0/0 without any). */
  subtasks: z.object({ done: z.number().int(), total: z.number().int() }),
  reminders: z.array(reminderDtoSchema),
  recurrence: recurrenceDtoSchema.nullable(),
  series_id: storableString().nullable(),
  occurrence_index: z.number().nullable(),
  completed_at: instantStringSchema.nullable(),
  created_at: instantStringSchema,
  updated_at: instantStringSchema,
  version: z.number(),
});
export type TaskDto = z.infer<typeof taskDtoSchema>;

/** Fields whose change is recorded in `updated` events (before/after). */
export const TRACKED_FIELDS = [
  "title",
  "description",
  "status",
  "priority",
  "due_at",
  "time_zone",
  "tags",
  "reminders",
  "recurrence",
  "completed_at",
  "list_id",
  "parent_id",
] as const satisfies readonly (keyof TaskDto)[];
export type TrackedField = (typeof TRACKED_FIELDS)[number];
export type Changes = Partial<Record<TrackedField, { before: unknown; after: unknown }>>;

/** The tracked fields that differ between two versions of a task. */
export function diffTasks(before: TaskDto, after: TaskDto): Changes {
  const changes: Changes = {};
  for (const field of TRACKED_FIELDS) {
    const a = stableJson(before[field]);
    const b = stableJson(after[field]);
    if (a !== b) changes[field] = { before: before[field], after: after[field] };
  }
  return changes;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}
