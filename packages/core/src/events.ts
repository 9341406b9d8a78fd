// The event contract: topic names, the payloads on each topic and their CloudEvent types.
// docs/events.md documents each with an example; a test checks the two agree.
// Every consumer parses its topic's payload with these before acting, and the host DROPs (dead-
// letters) what fails: so instants are RFC 3339 within INSTANT_RANGE, text is what PostgreSQL
// stores and the ids consumers key rows by are UUIDs. One malformed event must not hang or fail a
// consumer at every redelivery, and no consumer needs to tighten its topic's contract.
import { z } from "zod";
import { actorSchema } from "./actor.ts";
import { listDtoSchema } from "./lists.ts";
import { instantStringSchema, statusSchema, taskDtoSchema } from "./tasks.ts";
import { findUnstorableText, storableString } from "./text.ts";

export const TOPICS = {
  taskEvents: "task-events",
  reminders: "reminders",
  taskUpdates: "task-updates",
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** Where a consumer's poison messages go (Dapr `deadLetterTopic`). */
export function deadLetterTopic(topic: Topic): string {
  return `${topic}-dlq`;
}

/** A task's or a user's id: a UUID, as the columns every consumer keys by it are. */
const idSchema = z.uuid();

export const TASK_EVENT_TYPES = ["created", "updated", "completed", "deleted"] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

/** A field's values before and after: any JSON, as long as PostgreSQL can store its text. */
const changeSchema = z.object({ before: z.unknown(), after: z.unknown() }).superRefine((change, ctx) => {
  const found = findUnstorableText(change);
  if (found) ctx.addIssue({ code: "custom", path: found.path, message: found.message });
});

/** `task-events`: the spec's shape plus who did it and, for updates, what changed. */
export const taskEventSchema = z.object({
  version: z.literal("1.0"),
  event_type: z.enum(TASK_EVENT_TYPES),
  task_id: idSchema,
  user_id: idSchema,
  /** The full task after the change (before it, for `deleted`). */
  task_data: taskDtoSchema,
  timestamp: instantStringSchema,
  actor: actorSchema,
  /** For `updated` (and `completed`): each changed field before and after. */
  changes: z.record(storableString(), changeSchema).default({}),
  /** Why it happened when the user did not do it directly, e.g. "recurrence". */
  reason: storableString().nullable().default(null),
});
export type TaskEvent = z.infer<typeof taskEventSchema>;

export const LIST_EVENT_TYPES = [
  "list_created",
  "list_renamed",
  "list_recoloured",
  "list_archived",
  "list_unarchived",
  "list_moved",
] as const;
export type ListEventType = (typeof LIST_EVENT_TYPES)[number];

/**
 * `task-events` also carries a list's lifecycle (created, renamed, recoloured, archived,
 * unarchived, moved in the user's order): the audit trail records them beside the task events; the task reactions
 * (recurrence, reminders) pass them by. One change of several fields is one event per kind.
 */
export const listEventSchema = z.object({
  version: z.literal("1.0"),
  event_type: z.enum(LIST_EVENT_TYPES),
  list_id: idSchema,
  user_id: idSchema,
  /** The list after the change. */
  list_data: listDtoSchema,
  timestamp: instantStringSchema,
  actor: actorSchema,
  /** The changed fields before and after (name, color, archived, position). */
  changes: z.record(storableString(), changeSchema).default({}),
});
export type ListEvent = z.infer<typeof listEventSchema>;

/** Everything on `task-events`: a task's event or a list's. */
export const taskEventsPayloadSchema = z.union([taskEventSchema, listEventSchema]);
export type TaskEventsPayload = z.infer<typeof taskEventsPayloadSchema>;

/** Whether a `task-events` payload is a task's (not a list's) event. */
export function isTaskEvent(payload: TaskEventsPayload): payload is TaskEvent {
  return "task_id" in payload;
}

export const TASK_UPDATE_TYPES = ["task_created", "task_updated", "status_changed", "task_deleted"] as const;
export type TaskUpdateType = (typeof TASK_UPDATE_TYPES)[number];

/** `task-updates`: what a live client needs to redraw, partitioned by user. */
export const taskUpdateSchema = z.object({
  event_type: z.enum(TASK_UPDATE_TYPES),
  task_id: storableString(),
  user_id: storableString(),
  /** status_changed only. */
  old_status: statusSchema.nullable().default(null),
  new_status: statusSchema.nullable().default(null),
  /** The task as it is now (null once deleted). */
  task: taskDtoSchema.nullable(),
  changed_fields: z.array(storableString()).default([]),
  timestamp: instantStringSchema,
});
export type TaskUpdate = z.infer<typeof taskUpdateSchema>;

/**
 * `task-updates` also carries a list's changes (one per list event, named alike), so an open
 * client redraws its lists bar and the list it shows. It has `list_id` and `list` where a task's
 * update has `task_id` and `task`: a consumer tells them apart with `isTaskUpdate`.
 */
export const listUpdateSchema = z.object({
  event_type: z.enum(LIST_EVENT_TYPES),
  list_id: idSchema,
  user_id: idSchema,
  /** The list as it is now. */
  list: listDtoSchema,
  changed_fields: z.array(storableString()).default([]),
  timestamp: instantStringSchema,
});
export type ListUpdate = z.infer<typeof listUpdateSchema>;

/** Everything on `task-updates`: a task's update or a list's. */
export const taskUpdatesPayloadSchema = z.union([taskUpdateSchema, listUpdateSchema]);
export type TaskUpdatesPayload = z.infer<typeof taskUpdatesPayloadSchema>;

/** Whether a `task-updates` payload is a task's (not a list's) update. */
export function isTaskUpdate(payload: TaskUpdatesPayload): payload is TaskUpdate {
  return "task_id" in payload;
}

/** `reminders`: one per reminder that fired for a still-pending task. */
export const reminderEventSchema = z.object({
  task_id: idSchema,
  user_id: idSchema,
  title: storableString(),
  due_at: instantStringSchema,
  remind_at: instantStringSchema,
  /** The Dapr job that fired; with remind_at, the delivery's idempotency key. */
  job_name: storableString(),
});
export type ReminderEvent = z.infer<typeof reminderEventSchema>;

/** CloudEvent `type` of each payload, e.g. `orbit.task.created`, `orbit.task-update.status_changed`. */
export const cloudEventType = {
  taskEvent: (type: TaskEventType) => `orbit.task.${type}`,
  /** orbit.list.created, orbit.list.renamed, … */
  listEvent: (type: ListEventType) => `orbit.list.${type.replace(/^list_/, "")}`,
  taskUpdate: (type: TaskUpdateType) => `orbit.task-update.${type}`,
  /** orbit.list-update.created, orbit.list-update.renamed, … */
  listUpdate: (type: ListEventType) => `orbit.list-update.${type.replace(/^list_/, "")}`,
  reminder: () => "orbit.reminder.due",
} as const;
