// What a user's export looks like: the JSON document's version and the task CSV's columns. Pure;
// packages/tasks/src/export.ts reads the data page by page and writes it in these shapes.
//
// JSON (`orbit-export`, version 1): { format, version, exported_at, account, notification_channels,
// push_subscriptions, api_tokens, saved_views, lists, tasks, activity }. Lists are the API's List
// objects (GET /v1/lists/:id, archived ones too); tasks the API's Task objects (GET /v1/tasks/:id,
// each with its list_id and parent_id), activity items the API's (GET /v1/activity), newest first. Nothing that
// grants access is in it: no password hash, no token or session secret or hash, no webhook secret
// (only whether one is set), no push endpoint or keys.
import { describeWireRecurrence } from "./recurrence.ts";
import { toRfc3339 } from "./reminders.ts";
import type { TaskDto } from "./tasks.ts";

export const EXPORT_FORMAT = "orbit-export";
/** Raised when a field changes meaning or goes away; new fields may appear within a version. */
export const EXPORT_VERSION = 1;

export const TASK_CSV_COLUMNS = [
  "id",
  "title",
  "description",
  "status",
  "priority",
  "due_at",
  "time_zone",
  "tags",
  "repeats",
  "reminders",
  "completed_at",
  "created_at",
  "updated_at",
  "list",
  "parent_id",
] as const;

/**
 * One task as a CSV row, in TASK_CSV_COLUMNS' order: the due date in the task's own zone with its
 * offset (what a spreadsheet shows is the time the user set), the other instants in UTC, tags
 * separated by spaces (a tag holds none), the repeat and reminders in words, the list by its name
 * and a subtask's parent by its id (the parent's own row has it).
 */
export function taskCsvValues(task: TaskDto, listName = ""): string[] {
  const recurrence = task.recurrence?.active
    ? describeWireRecurrence(
        task.recurrence,
        task.due_at ? { startsAt: new Date(task.due_at), timeZone: task.time_zone } : undefined,
      ) + (task.recurrence.anchor === "completion" ? ", from completion" : "")
    : "";
  const reminders = task.reminders.map((reminder) =>
    reminder.offset_minutes === 0
      ? "at the due time"
      : reminder.offset_minutes !== null
        ? `${reminder.offset_minutes} min before`
        : toRfc3339(new Date(reminder.remind_at!), task.time_zone),
  );
  return [
    task.id,
    task.title,
    task.description,
    task.status,
    task.priority,
    task.due_at ? toRfc3339(new Date(task.due_at), task.time_zone) : "",
    task.time_zone,
    task.tags.join(" "),
    recurrence,
    reminders.join("; "),
    task.completed_at ?? "",
    task.created_at,
    task.updated_at,
    listName,
    task.parent_id ?? "",
  ];
}

/** `orbit-export-2026-11-23.json`: the day (UTC) it was made. */
export function exportFileName(extension: "json" | "csv", now: Date, what = "export"): string {
  return `orbit-${what}-${now.toISOString().slice(0, 10)}.${extension}`;
}
