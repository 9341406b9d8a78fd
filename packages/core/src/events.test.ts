import { expect, test } from "vitest";
import type { z } from "zod";
import { EVENT_CATALOG } from "./event-catalog.ts";
import {
  isTaskUpdate,
  reminderEventSchema,
  taskEventSchema,
  taskUpdatesPayloadSchema,
  taskUpdateSchema,
  TOPICS,
} from "./events.ts";

type Json = Record<string, unknown>;

/** A deep copy of `topic`'s catalog example with `edit` applied. */
function example(topic: string, edit: (event: Json & { task_data: Json; task: Json }) => void): Json {
  const copy = structuredClone(EVENT_CATALOG.find((entry) => entry.topic === topic)!.example) as Json & {
    task_data: Json;
    task: Json;
  };
  edit(copy);
  return copy;
}

function refusedAt(schema: z.ZodType, event: Json): string[] {
  const result = schema.safeParse(event);
  expect(result.success, JSON.stringify(event).slice(0, 400)).toBe(false);
  return result.error!.issues.map((issue) => issue.path.join("."));
}

const NOT_INSTANTS = [
  "not a date",
  "2026-12-01", // no time
  "2026-12-01T17:00:00", // no offset
  "0000-01-01T00:00:00Z",
  "1969-12-31T23:59:59Z",
  "+275760-09-13T00:00:00.000Z",
  "-000001-01-01T00:00:00.000Z",
];

test("a task event whose instants are not RFC 3339 within 1970..9999 is refused, naming the member", () => {
  for (const bad of NOT_INSTANTS) {
    const at = (edit: (event: Json & { task_data: Json }) => void) =>
      refusedAt(taskEventSchema, example(TOPICS.taskEvents, edit));
    expect(
      at((e) => (e.timestamp = bad)),
      bad,
    ).toEqual(["timestamp"]);
    for (const member of ["due_at", "completed_at", "created_at", "updated_at"])
      expect(
        at((e) => (e.task_data[member] = bad)),
        `${member} ${bad}`,
      ).toEqual([`task_data.${member}`]);
    expect(
      at((e) => ((e.task_data.reminders as Json[])[0]!.remind_at = bad)),
      bad,
    ).toEqual(["task_data.reminders.0.remind_at"]);
    expect(
      at((e) => ((e.task_data.recurrence as Json).ends_at = bad)),
      bad,
    ).toEqual(["task_data.recurrence.ends_at"]);
    expect(
      refusedAt(
        taskUpdateSchema,
        example(TOPICS.taskUpdates, (e) => (e.timestamp = bad)),
      ),
      bad,
    ).toEqual(["timestamp"]);
    expect(
      refusedAt(
        taskUpdateSchema,
        example(TOPICS.taskUpdates, (e) => (e.task.due_at = bad)),
      ),
      bad,
    ).toEqual(["task.due_at"]);
    for (const member of ["due_at", "remind_at"])
      expect(
        refusedAt(
          reminderEventSchema,
          example(TOPICS.reminders, (e) => (e[member] = bad)),
        ),
        `${member} ${bad}`,
      ).toEqual([member]);
  }
  // The catalog's examples themselves pass, at the range's ends too.
  for (const entry of EVENT_CATALOG) expect(entry.schema.safeParse(entry.example).success).toBe(true);
  for (const edge of ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2026-12-01T18:00:00+01:00"])
    expect(taskEventSchema.safeParse(example(TOPICS.taskEvents, (e) => (e.timestamp = edge))).success).toBe(
      true,
    );
});

test("a task event carrying text PostgreSQL cannot store, at any depth, is refused", () => {
  for (const bad of ["a\u0000b", "a\ud800b", "\udc00"]) {
    const at = (edit: (event: Json & { task_data: Json }) => void) =>
      refusedAt(taskEventSchema, example(TOPICS.taskEvents, edit));
    expect(at((e) => (e.task_data.title = bad))).toEqual(["task_data.title"]);
    expect(at((e) => (e.task_data.description = bad))).toEqual(["task_data.description"]);
    expect(at((e) => (e.task_data.tags = ["ok", bad]))).toEqual(["task_data.tags.1"]);
    expect(at((e) => (e.reason = bad))).toEqual(["reason"]);
    expect(at((e) => ((e.actor as Json).id = bad))).toEqual(["actor.id"]);
    expect(at((e) => (e.changes = { title: { before: "old", after: bad } }))).toEqual([
      "changes.title.after",
    ]);
    expect(at((e) => (e.changes = { tags: { before: [], after: ["x", { deep: [bad] }] } }))).toEqual([
      "changes.tags.after.1.deep.0",
    ]);
    expect(
      refusedAt(
        reminderEventSchema,
        example(TOPICS.reminders, (e) => (e.title = bad)),
      ),
    ).toEqual(["title"]);
  }
});

test("task-updates carries a task's update or a list's; isTaskUpdate tells them apart, and a list's needs its ids as UUIDs", () => {
  const entry = EVENT_CATALOG.find((e) => e.topic === TOPICS.taskUpdates)!;
  const taskUpdate = taskUpdatesPayloadSchema.parse(entry.example);
  const listUpdate = taskUpdatesPayloadSchema.parse(entry.moreExamples![0]);
  expect(isTaskUpdate(taskUpdate)).toBe(true);
  expect(isTaskUpdate(listUpdate)).toBe(false);
  // A consumer parsing with the task-only schema (as the web app did before lists were live)
  // refuses a list's update rather than misreading it: it is dead-lettered, never half-applied.
  expect(taskUpdateSchema.safeParse(entry.moreExamples![0]).success).toBe(false);
  const bad = { ...(entry.moreExamples![0] as Json), user_id: "not-a-uuid" };
  expect(taskUpdatesPayloadSchema.safeParse(bad).success).toBe(false);
});
