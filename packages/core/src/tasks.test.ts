import { describe, expect, it, test } from "vitest";
import type { z } from "zod";
import { RuleViolation } from "./errors.ts";
import {
  createTaskSchema,
  recurrenceWithoutDueDate,
  remindersWithoutDueDate,
  updateTaskSchema,
} from "./tasks.ts";

/** The fields (dotted paths) and messages of a refused input. */
function refusal(schema: z.ZodType, input: unknown): { field: string; message: string }[] {
  const result = schema.safeParse(input);
  expect(result.success, JSON.stringify(input)).toBe(false);
  return result.error!.issues.map((issue) => ({ field: issue.path.join("."), message: issue.message }));
}

const NUL = "a\u0000b";
const HIGH = "a\ud800b";
const LOW = "a\udc00b";

test("title, description and tags with a NUL or an unpaired surrogate are refused, naming the field", () => {
  for (const [bad, message] of [
    [NUL, "must not contain a NUL character (U+0000)"],
    [HIGH, "must be well-formed Unicode (it has an unpaired surrogate)"],
    [LOW, "must be well-formed Unicode (it has an unpaired surrogate)"],
    [`${"😀".slice(0, 1)}`, "must be well-formed Unicode (it has an unpaired surrogate)"],
  ] as const) {
    expect(refusal(createTaskSchema, { title: bad })).toContainEqual({ field: "title", message });
    expect(refusal(createTaskSchema, { title: "ok", description: bad })).toContainEqual({
      field: "description",
      message,
    });
    expect(refusal(updateTaskSchema, { title: bad })).toContainEqual({ field: "title", message });
    expect(refusal(updateTaskSchema, { description: bad })).toContainEqual({ field: "description", message });
    expect(refusal(createTaskSchema, { title: "ok", tags: ["fine", bad] })).toContainEqual({
      field: "tags.1",
      message,
    });
  }
  // Well-formed text outside the BMP, and other control characters, are kept.
  const parsed = createTaskSchema.parse({ title: "Plan 😀 trip 𝄞", description: "line\ttab\nnext\u0001" });
  expect(parsed.title).toBe("Plan 😀 trip 𝄞");
  expect(parsed.description).toBe("line\ttab\nnext\u0001");
});

const OUT_OF_RANGE = [
  "0000-01-01T00:00:00Z", // year 0: PostgreSQL has none
  "0001-01-01T00:00:00Z",
  "1969-12-31T23:59:59.999Z", // before the epoch
  "9999-12-31T23:00:00-05:00", // 10000-01-01T04:00Z
  "+275760-09-13T00:00:00Z", // JavaScript's last day, an expanded year
  "-000001-01-01T00:00:00Z",
];

test("instants outside 1970..9999 are refused in due_at, remind_at and ends_at, naming the field; its ends are taken", () => {
  for (const instant of OUT_OF_RANGE) {
    const fields = (input: unknown) => refusal(createTaskSchema, input).map((issue) => issue.field);
    expect(fields({ title: "t", due_at: instant }), instant).toContain("due_at");
    expect(
      fields({ title: "t", due_at: "2030-01-01T09:00:00Z", reminders: [{ remind_at: instant }] }),
      instant,
    ).toContainEqual(expect.stringMatching(/^reminders\.0\b/));
    expect(
      fields({
        title: "t",
        due_at: "2030-01-01T09:00:00Z",
        recurrence: { pattern: "daily", ends_at: instant },
      }),
      instant,
    ).toContain("recurrence.ends_at");
    expect(
      refusal(updateTaskSchema, { due_at: instant }).map((issue) => issue.field),
      instant,
    ).toContain("due_at");
  }
  // A date-time RFC 3339 can write but out of range is told the range, in the field it is in.
  const range = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z";
  expect(refusal(createTaskSchema, { title: "t", due_at: "0000-01-01T00:00:00Z" })).toEqual([
    { field: "due_at", message: range },
  ]);
  expect(
    refusal(createTaskSchema, {
      title: "t",
      due_at: "2030-01-01T09:00:00Z",
      reminders: [{ remind_at: "0000-01-01T00:00:00Z" }],
    }),
  ).toEqual([{ field: "reminders.0.remind_at", message: range }]);
  // The first and the last instant of the range.
  expect(createTaskSchema.parse({ title: "t", due_at: "1970-01-01T00:00:00Z" }).due_at).toEqual(new Date(0));
  expect(createTaskSchema.parse({ title: "t", due_at: "9999-12-31T23:59:59.999Z" }).due_at).toEqual(
    new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
  );
  expect(createTaskSchema.parse({ title: "t", due_at: "1970-01-01T01:00:00+01:00" }).due_at).toEqual(
    new Date(0),
  );
});

describe("given a task without a due date", () => {
  it("when it is to recur, then the rule is broken on recurrence, in the schema and in the rule alike", () => {
    const violation = recurrenceWithoutDueDate({ pattern: "daily" }, null);
    expect(violation).toBeInstanceOf(RuleViolation);
    expect(violation).toMatchObject({ field: "recurrence", detail: "a recurring task needs a due_at" });
    expect(refusal(createTaskSchema, { title: "t", recurrence: { pattern: "daily" } })).toEqual([
      { field: violation!.field, message: violation!.detail },
    ]);
  });

  it("when it has reminders, then the rule is broken on reminders", () => {
    expect(remindersWithoutDueDate([{ offset_minutes: 5 }], null)).toMatchObject({
      field: "reminders",
      detail: "reminders need the task to have a due_at",
    });
  });

  it("when it neither recurs nor has reminders, then both rules hold", () => {
    expect(recurrenceWithoutDueDate(null, null)).toBeNull();
    expect(remindersWithoutDueDate([], null)).toBeNull();
  });
});

describe("given a task with a due date", () => {
  it("when it recurs and has reminders, then both rules hold, whether the date is a Date or a string", () => {
    for (const due of [new Date("2030-01-01T09:00:00Z"), "2030-01-01T09:00:00Z"]) {
      expect(recurrenceWithoutDueDate({ pattern: "weekly" }, due)).toBeNull();
      expect(remindersWithoutDueDate([{ offset_minutes: 5 }], due)).toBeNull();
    }
  });
});
