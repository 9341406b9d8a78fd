import fc from "fast-check";
import { expect, test } from "vitest";
import { isValidJobName, planReminderJobs, reminderJobName, SKIP_REASONS, toRfc3339 } from "./reminders.ts";
import type { TaskDto } from "./tasks.ts";

const TASK_ID = "0b7f3c2e-5d4a-4f7e-9a51-3c2d1e0f9a8b";
const NOW = new Date("2026-11-24T12:00:00.000Z");

function task(overrides: Partial<TaskDto> = {}): TaskDto {
  return {
    id: TASK_ID,
    user_id: "6f1c0d9e-2b3a-4c5d-8e7f-0a1b2c3d4e5f",
    title: "File the tax return",
    description: "",
    status: "pending",
    priority: "high",
    due_at: "2026-11-25T09:00:00.000Z",
    time_zone: "Europe/Berlin",
    tags: [],
    reminders: [],
    recurrence: null,
    series_id: null,
    occurrence_index: null,
    completed_at: null,
    created_at: "2026-11-20T08:00:00.000Z",
    updated_at: "2026-11-20T08:00:00.000Z",
    version: 1,
    ...overrides,
  };
}

const offset = (id: string, minutes: number) => ({ id, offset_minutes: minutes, remind_at: null });
const absolute = (id: string, at: string) => ({ id, offset_minutes: null, remind_at: at });

test("an offset reminder is planned that many minutes before the due time, under a deterministic name", () => {
  const plan = planReminderJobs(task({ reminders: [offset("r1", 15), offset("r2", 720)] }), NOW);
  expect(plan.skipped).toEqual([]);
  expect(plan.jobs).toEqual([
    {
      jobName: `reminder-${TASK_ID}-o15`,
      reminderId: "r1",
      remindAt: new Date("2026-11-25T08:45:00.000Z"),
      dueAt: new Date("2026-11-25T09:00:00.000Z"),
      fireImmediately: false,
    },
    {
      jobName: `reminder-${TASK_ID}-o720`,
      reminderId: "r2",
      remindAt: new Date("2026-11-24T21:00:00.000Z"),
      dueAt: new Date("2026-11-25T09:00:00.000Z"),
      fireImmediately: false,
    },
  ]);
});

test("the day-before reminder of a task due tomorrow morning has passed at noon: it fires at once", () => {
  const [job] = planReminderJobs(task({ reminders: [offset("r2", 1440)] }), NOW).jobs;
  expect(job!.remindAt.toISOString()).toBe("2026-11-24T09:00:00.000Z");
  expect(job!.fireImmediately).toBe(true);
});

test("an absolute reminder keeps its instant and is named by its epoch milliseconds", () => {
  const plan = planReminderJobs(task({ reminders: [absolute("r3", "2026-11-24T18:30:00.250Z")] }), NOW);
  expect(plan.jobs).toEqual([
    {
      jobName: `reminder-${TASK_ID}-a${Date.parse("2026-11-24T18:30:00.250Z")}`,
      reminderId: "r3",
      remindAt: new Date("2026-11-24T18:30:00.250Z"),
      dueAt: new Date("2026-11-25T09:00:00.000Z"),
      fireImmediately: false,
    },
  ]);
});

test("moving the due date moves an offset reminder's time but keeps its job name", () => {
  const before = planReminderJobs(task({ reminders: [offset("r1", 60)] }), NOW).jobs[0]!;
  const after = planReminderJobs(
    task({ due_at: "2026-11-26T10:00:00.000Z", reminders: [offset("r1", 60)] }),
    NOW,
  ).jobs[0]!;
  expect(after.jobName).toBe(before.jobName);
  expect(after.remindAt.toISOString()).toBe("2026-11-26T09:00:00.000Z");
  expect(after.dueAt.toISOString()).toBe("2026-11-26T10:00:00.000Z");
});

test("a reminder whose time and the task's due time have both passed is skipped with a reason", () => {
  const plan = planReminderJobs(
    task({
      due_at: "2026-11-24T11:30:00.000Z",
      reminders: [offset("r1", 15), absolute("r2", "2026-11-24T13:00:00.000Z")],
    }),
    NOW,
  );
  expect(plan.skipped).toEqual([
    {
      jobName: `reminder-${TASK_ID}-o15`,
      reminderId: "r1",
      remindAt: new Date("2026-11-24T11:15:00.000Z"),
      dueAt: new Date("2026-11-24T11:30:00.000Z"),
      reason: SKIP_REASONS.alreadyDue,
    },
  ]);
  // An absolute reminder after an overdue task's due time is still in the future: it is scheduled.
  expect(plan.jobs.map((j) => [j.reminderId, j.fireImmediately])).toEqual([["r2", false]]);
});

test("a reminder due exactly now fires at once; the task due exactly now is already due", () => {
  const dueLater = planReminderJobs(task({ reminders: [absolute("r1", NOW.toISOString())] }), NOW);
  expect(dueLater.jobs.map((j) => j.fireImmediately)).toEqual([true]);
  const dueNow = planReminderJobs(task({ due_at: NOW.toISOString(), reminders: [offset("r1", 0)] }), NOW);
  expect(dueNow.jobs).toEqual([]);
  expect(dueNow.skipped.map((s) => s.reminderId)).toEqual(["r1"]);
});

test("a completed task and a task without a due date have no jobs", () => {
  const reminders = [offset("r1", 15), absolute("r2", "2026-11-24T18:00:00.000Z")];
  expect(planReminderJobs(task({ status: "completed", reminders }), NOW)).toEqual({ jobs: [], skipped: [] });
  expect(planReminderJobs(task({ due_at: null, reminders: [reminders[1]!] }), NOW)).toEqual({
    jobs: [],
    skipped: [],
  });
});

test("job names are valid Dapr job names for any task id and reminder", () => {
  fc.assert(
    fc.property(
      fc.uuid(),
      fc.oneof(
        fc.integer({ min: 0, max: 525_600 }).map((m) => ({ offset_minutes: m, remind_at: null })),
        fc
          .date({
            min: new Date("1970-01-01T00:00:00Z"),
            max: new Date("2200-01-01T00:00:00Z"),
            noInvalidDate: true,
          })
          .map((d) => ({ offset_minutes: null, remind_at: d.toISOString() })),
      ),
      (id, reminder) => isValidJobName(reminderJobName(id, reminder)),
    ),
  );
});

test("isValidJobName follows Dapr's rule", () => {
  expect(isValidJobName("reminder-abc-o15")).toBe(true);
  expect(isValidJobName("Reminder_ABC:1")).toBe(true);
  expect(isValidJobName("a/b")).toBe(false);
  expect(isValidJobName("a#b")).toBe(false);
  expect(isValidJobName("a?b")).toBe(false);
  expect(isValidJobName("a\nb")).toBe(false);
  expect(isValidJobName("-")).toBe(false);
  expect(isValidJobName("a.")).toBe(false);
  expect(isValidJobName("a+b")).toBe(false);
  expect(isValidJobName("x".repeat(253))).toBe(true);
  expect(isValidJobName("x".repeat(254))).toBe(false);
});

test("toRfc3339 writes the instant with the zone's offset, milliseconds included", () => {
  const instant = new Date("2026-11-24T14:00:00.000Z");
  expect(toRfc3339(instant, "Europe/Berlin")).toBe("2026-11-24T15:00:00.000+01:00");
  expect(toRfc3339(new Date("2026-07-01T14:00:00.500Z"), "America/New_York")).toBe(
    "2026-07-01T10:00:00.500-04:00",
  );
  expect(toRfc3339(instant)).toBe("2026-11-24T14:00:00.000Z");
  expect(new Date(toRfc3339(instant, "Asia/Kolkata")).getTime()).toBe(instant.getTime());
  // A zone the runtime does not know falls back to UTC rather than writing an invalid time.
  expect(toRfc3339(instant, "Mars/Olympus_Mons")).toBe("2026-11-24T14:00:00.000Z");
});
