// The event catalog: every topic, who publishes and who consumes it, its payload schema and a
// valid example. docs/events.md is generated from it (`npm run docs:events`), and a test fails when
// the document, the schemas or the functions' real subscriptions disagree with it.
import type { z } from "zod";
import {
  cloudEventType,
  deadLetterTopic,
  LIST_EVENT_TYPES,
  reminderEventSchema,
  taskEventsPayloadSchema,
  taskUpdatesPayloadSchema,
  TOPICS,
  type ListEvent,
  type ListUpdate,
  type ReminderEvent,
  type TaskEvent,
  type TaskUpdate,
  type Topic,
} from "./events.ts";
import type { TaskDto } from "./tasks.ts";

export interface TopicEntry {
  topic: Topic;
  summary: string;
  /** CloudEvent `type`s carried on the topic. */
  types: string[];
  partitionKey: string;
  /** App-ids that publish (through their outbox). */
  producers: string[];
  /** App-ids that subscribe. */
  consumers: string[];
  schema: z.ZodType;
  example: unknown;
  /** Further examples of other payload kinds on the topic (a list's event or update). */
  moreExamples?: unknown[];
}

const exampleTask: TaskDto = {
  id: "3f1c2a5e-8d4b-4f7a-9c61-2b8e5d0a7f13",
  user_id: "9a7e4c21-5b3d-4e8f-a1c2-7d6b5e4f3a21",
  title: "Buy groceries",
  description: "Milk, eggs, coffee",
  status: "completed",
  priority: "high",
  due_at: "2026-12-01T17:00:00.000Z",
  time_zone: "Europe/Berlin",
  tags: ["home", "errands"],
  list_id: "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c",
  parent_id: null,
  subtasks: { done: 2, total: 3 },
  reminders: [{ id: "5d2e8f1a-3c4b-4a6d-9e7f-1b2c3d4e5f60", offset_minutes: 60, remind_at: null }],
  recurrence: {
    series_id: "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
    pattern: "weekly",
    interval: 1,
    weekdays: [2],
    month_day: null,
    last_day_of_month: false,
    month_week: null,
    anchor: "schedule",
    ends_at: null,
    max_count: null,
    active: true,
  },
  series_id: "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
  occurrence_index: 3,
  completed_at: "2026-12-01T16:42:10.512Z",
  created_at: "2026-11-24T08:00:00.000Z",
  updated_at: "2026-12-01T16:42:10.512Z",
  version: 4,
};

const exampleTaskEvent: TaskEvent = {
  version: "1.0",
  event_type: "completed",
  task_id: exampleTask.id,
  user_id: exampleTask.user_id,
  task_data: exampleTask,
  timestamp: "2026-12-01T16:42:10.512Z",
  actor: { type: "api_token", id: "c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e7f" },
  changes: {
    status: { before: "pending", after: "completed" },
    completed_at: { before: null, after: "2026-12-01T16:42:10.512Z" },
  },
  reason: null,
};

const exampleListEvent: ListEvent = {
  version: "1.0",
  event_type: "list_renamed",
  list_id: exampleTask.list_id,
  user_id: exampleTask.user_id,
  list_data: {
    id: exampleTask.list_id,
    user_id: exampleTask.user_id,
    name: "Errands",
    color: "green",
    is_inbox: false,
    archived: false,
    archived_at: null,
    position: 1,
    created_at: "2026-11-20T09:00:00.000Z",
    updated_at: "2026-12-01T16:40:00.000Z",
    version: 2,
  },
  timestamp: "2026-12-01T16:40:00.000Z",
  actor: { type: "user", id: exampleTask.user_id },
  changes: { name: { before: "Shopping", after: "Errands" } },
};

const exampleTaskUpdate: TaskUpdate = {
  event_type: "status_changed",
  task_id: exampleTask.id,
  user_id: exampleTask.user_id,
  old_status: "pending",
  new_status: "completed",
  task: exampleTask,
  changed_fields: ["status", "completed_at"],
  timestamp: "2026-12-01T16:42:10.512Z",
};

const exampleListUpdate: ListUpdate = {
  event_type: "list_archived",
  list_id: exampleListEvent.list_id,
  user_id: exampleListEvent.user_id,
  list: {
    ...exampleListEvent.list_data,
    archived: true,
    archived_at: "2026-12-02T08:15:00.000Z",
    updated_at: "2026-12-02T08:15:00.000Z",
    version: 3,
  },
  changed_fields: ["archived"],
  timestamp: "2026-12-02T08:15:00.000Z",
};

const exampleReminder: ReminderEvent = {
  task_id: exampleTask.id,
  user_id: exampleTask.user_id,
  title: "Buy groceries",
  due_at: "2026-12-01T17:00:00.000Z",
  remind_at: "2026-12-01T16:00:00.000Z",
  job_name: `reminder-${exampleTask.id}-o60`,
};

export const EVENT_CATALOG: TopicEntry[] = [
  {
    topic: TOPICS.taskEvents,
    summary:
      "Every change to a task, with the full task after the change (its list_id, parent_id and subtask progress included) and, for updates, each changed field before and after (a move between lists is a change of list_id). The system of record for reactions (recurrence, reminders, audit). It also carries each list's lifecycle (orbit.list.*: list_data instead of task_data; moved: its place in the user's order, position before and after), which the audit log records and the task reactions pass by.",
    types: [
      ...(["created", "updated", "completed", "deleted"] as const).map(cloudEventType.taskEvent),
      ...LIST_EVENT_TYPES.map(cloudEventType.listEvent),
    ],
    partitionKey: "task id (a task's events arrive in order); list id for a list's events",
    producers: ["create-task", "update-task", "complete-task", "delete-task", "on-task-completed"],
    consumers: ["audit-log", "on-task-completed", "on-reminder-fired"],
    schema: taskEventsPayloadSchema,
    example: exampleTaskEvent,
    moreExamples: [exampleListEvent],
  },
  {
    topic: TOPICS.taskUpdates,
    summary:
      "What an open client needs to redraw: a task created, updated, status changed or deleted, with the task as it is now; and a list created, renamed, recoloured, archived, unarchived or moved in the user's order (orbit.list-update.*: list_id and list instead of task_id and task), so open lists bars follow. Streamed to browsers over Server-Sent Events by the web app.",
    types: [
      ...(["task_created", "task_updated", "status_changed", "task_deleted"] as const).map(
        cloudEventType.taskUpdate,
      ),
      ...LIST_EVENT_TYPES.map(cloudEventType.listUpdate),
    ],
    partitionKey: "user id (a user's stream is ordered, its lists' updates among its tasks')",
    producers: ["create-task", "update-task", "complete-task", "delete-task", "on-task-completed"],
    consumers: ["web"],
    schema: taskUpdatesPayloadSchema,
    example: exampleTaskUpdate,
    moreExamples: [exampleListUpdate],
  },
  {
    topic: TOPICS.reminders,
    summary:
      "A reminder that fired for a still-pending task: at its time, or at once when its time had already passed when the task was saved and the account's setting is to send such reminders (the other choice skips them: nothing is published, the reminder's job is recorded as skipped with the reason). The notifications function delivers it by push, email and webhook.",
    types: [cloudEventType.reminder()],
    partitionKey: "task id",
    producers: ["on-reminder-fired"],
    consumers: ["notifications"],
    schema: reminderEventSchema,
    example: exampleReminder,
  },
];

/** Consumers that are not functions/ folders (the web app subscribes through its own sidecar). */
export const NON_FUNCTION_APPS = ["web"];

export { deadLetterTopic };
