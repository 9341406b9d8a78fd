import fc from "fast-check";
import { describe, expect, it, test } from "vitest";
import {
  CANCEL_REASONS,
  cancelReason,
  ignoredTrigger,
  isValidJobName,
  mayChangeReminderJobs,
  parseReminderJobName,
  pastReminderPolicyOf,
  pastReminderPolicySchema,
  planReconciliation,
  planReminderJobs,
  reminderJobName,
  reminderTiming,
  SKIP_REASONS,
  staleTriggerReason,
  toRfc3339,
  type ReminderJobRecord,
  type ReminderPlan,
} from "./reminders.ts";
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
    list_id: "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    parent_id: null,
    subtasks: { done: 0, total: 0 },
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

const anyReminder = fc.oneof(
  fc.integer({ min: 0, max: 525_600 }).map((m) => ({ offset_minutes: m, remind_at: null })),
  fc
    .date({
      min: new Date("1970-01-01T00:00:00Z"),
      max: new Date("9999-12-31T23:59:59.999Z"),
      noInvalidDate: true,
    })
    .map((d) => ({ offset_minutes: null, remind_at: d.toISOString() })),
);

describe("given a reminder job name written by reminderJobName", () => {
  it("when it is parsed, then it gives back the task id and the reminder it was written from", () => {
    fc.assert(
      fc.property(fc.uuid(), anyReminder, (taskId, reminder) => {
        expect(parseReminderJobName(reminderJobName(taskId, reminder))).toEqual({ taskId, reminder });
      }),
    );
  });

  it("when an absolute reminder's instant has a fraction of a second, then the milliseconds survive", () => {
    const name = reminderJobName(TASK_ID, { offset_minutes: null, remind_at: "2026-11-24T18:30:00.250Z" });
    expect(parseReminderJobName(name)).toEqual({
      taskId: TASK_ID,
      reminder: { offset_minutes: null, remind_at: "2026-11-24T18:30:00.250Z" },
    });
  });
});

describe("given a name reminderJobName does not write", () => {
  it("when it is parsed, then it is not a reminder job name", () => {
    for (const name of [
      "reminder-abc-o15",
      `reminder-${TASK_ID}`,
      `reminder-${TASK_ID}-x15`,
      `reminder-${TASK_ID}-o`,
      `reminder-${TASK_ID}-o015`,
      `reminder-${TASK_ID}-o-15`,
      `reminder-${TASK_ID.toUpperCase()}-o15`,
      `reminder-${TASK_ID}-o15-extra`,
      `digest-${TASK_ID}-o15`,
      `reminder-${TASK_ID}-a${"9".repeat(20)}`,
    ])
      expect(parseReminderJobName(name), name).toBeNull();
  });

  it("when any name parses, then writing it again gives the same name", () => {
    fc.assert(
      fc.property(fc.string(), (suffix) => {
        const name = `reminder-${TASK_ID}-${suffix}`;
        const parsed = parseReminderJobName(name);
        if (parsed) expect(reminderJobName(parsed.taskId, parsed.reminder)).toBe(name);
      }),
    );
  });
});

describe("given a task event", () => {
  const event = (event_type: "created" | "updated" | "completed" | "deleted", changes = {}) => ({
    event_type,
    changes,
  });

  it("when it creates, completes or deletes the task, then it may change the reminder jobs", () => {
    for (const type of ["created", "completed", "deleted"] as const)
      expect(mayChangeReminderJobs(event(type))).toBe(true);
  });

  it("when it updates the due date, the reminders or the status, then it may change them", () => {
    for (const field of ["due_at", "reminders", "status"])
      expect(mayChangeReminderJobs(event("updated", { [field]: { before: 1, after: 2 } }))).toBe(true);
  });

  it("when it updates only other fields, then it cannot change them", () => {
    const changes = { title: { before: "a", after: "b" }, tags: { before: [], after: ["x"] } };
    expect(mayChangeReminderJobs(event("updated", changes))).toBe(false);
  });
});

// ───── planReconciliation ─────

const DUE = new Date("2026-11-25T09:00:00.000Z");
const at = (iso: string) => new Date(iso);
const job = (name: string, remindAt: Date, fireImmediately = false) => ({
  jobName: name,
  reminderId: `id-${name}`,
  remindAt,
  dueAt: DUE,
  fireImmediately,
});
const skipped = (name: string, remindAt: Date) => ({
  jobName: name,
  reminderId: `id-${name}`,
  remindAt,
  dueAt: DUE,
  reason: SKIP_REASONS.alreadyDue,
});
const row = (
  name: string,
  status: ReminderJobRecord["status"],
  remindAt: Date,
  dueAt: Date = DUE,
): ReminderJobRecord => ({ jobName: name, status, remindAt, dueAt });
const plan = (jobs: ReminderPlan["jobs"], skips: ReminderPlan["skipped"] = []): ReminderPlan => ({
  jobs,
  skipped: skips,
});
const nothing = { schedule: [], fire: [], skip: [], delete: [], cancel: [] };

describe("given a task with no recorded jobs", () => {
  it("when its plan has future, passed and skipped reminders, then each is scheduled, fired or skipped", () => {
    const future = job("a", at("2026-11-25T08:00:00.000Z"));
    const passed = job("b", at("2026-11-24T08:00:00.000Z"), true);
    const tooLate = skipped("c", at("2026-11-20T08:00:00.000Z"));
    expect(planReconciliation(plan([future, passed], [tooLate]), [])).toEqual({
      schedule: [future],
      fire: [passed],
      skip: [tooLate],
      delete: [],
      cancel: [],
    });
  });

  it("when its plan is empty, then there is nothing to do", () => {
    expect(planReconciliation(plan([]), [])).toEqual(nothing);
  });
});

describe("given a task whose recorded jobs match its plan", () => {
  const remindAt = at("2026-11-25T08:00:00.000Z");

  it("when it is reconciled again, then nothing changes (scheduled, fired or skipped alike)", () => {
    for (const status of ["scheduled", "fired", "skipped"] as const)
      expect(planReconciliation(plan([job("a", remindAt)]), [row("a", status, remindAt)]), status).toEqual(
        nothing,
      );
    const tooLate = skipped("c", remindAt);
    expect(planReconciliation(plan([], [tooLate]), [row("c", "skipped", remindAt)])).toEqual(nothing);
  });
});

describe("given a scheduled job", () => {
  const remindAt = at("2026-11-25T08:00:00.000Z");
  const scheduled = [row("a", "scheduled", remindAt)];

  it("when the due date moves, then the job is scheduled again under its name (an overwrite, no delete)", () => {
    const moved = { ...job("a", at("2026-11-26T08:00:00.000Z")), dueAt: at("2026-11-26T09:00:00.000Z") };
    expect(planReconciliation(plan([moved]), scheduled)).toEqual({ ...nothing, schedule: [moved] });
  });

  it("when its reminder time has passed before the task is due, then it fires now and Dapr's job is deleted", () => {
    const now = job("a", at("2026-11-24T08:00:00.000Z"), true);
    expect(planReconciliation(plan([now]), scheduled)).toEqual({ ...nothing, fire: [now], delete: ["a"] });
  });

  it("when it is now too late to send, then it is skipped and Dapr's job is deleted", () => {
    const tooLate = skipped("a", at("2026-11-20T08:00:00.000Z"));
    expect(planReconciliation(plan([], [tooLate]), scheduled)).toEqual({
      ...nothing,
      skip: [tooLate],
      delete: ["a"],
    });
  });

  it("when the plan no longer has it, then it is cancelled and deleted", () => {
    expect(planReconciliation(plan([]), scheduled)).toEqual({ ...nothing, cancel: ["a"], delete: ["a"] });
  });
});

describe("given jobs that are no longer scheduled (fired, skipped or cancelled)", () => {
  const remindAt = at("2026-11-25T08:00:00.000Z");
  const done = [row("f", "fired", remindAt), row("s", "skipped", remindAt), row("c", "cancelled", remindAt)];

  it("when the plan no longer has them, then none is cancelled or deleted", () => {
    expect(planReconciliation(plan([]), done)).toEqual(nothing);
  });

  it("when the plan wants a cancelled one back for the same times, then it is scheduled again", () => {
    const back = job("c", remindAt);
    expect(planReconciliation(plan([back]), done)).toEqual({ ...nothing, schedule: [back] });
  });

  it("when a fired one is planned to fire now for a new due date, then it fires again without a delete", () => {
    const again = {
      ...job("f", at("2026-11-24T08:00:00.000Z"), true),
      dueAt: at("2026-11-26T09:00:00.000Z"),
    };
    expect(planReconciliation(plan([again]), done)).toEqual({ ...nothing, fire: [again] });
  });
});

describe("given several changes at once", () => {
  it("when reconciled, then Dapr deletes come in plan order, firing and skipping before cancelling", () => {
    const rows = [
      row("gone", "scheduled", at("2026-11-25T07:00:00.000Z")),
      row("late", "scheduled", at("2026-11-25T06:00:00.000Z")),
      row("now", "scheduled", at("2026-11-25T05:00:00.000Z")),
    ];
    const fireNow = job("now", at("2026-11-24T05:00:00.000Z"), true);
    const tooLate = skipped("late", at("2026-11-20T06:00:00.000Z"));
    const result = planReconciliation(plan([fireNow], [tooLate]), rows);
    expect(result.delete).toEqual(["now", "late", "gone"]);
    expect(result.cancel).toEqual(["gone"]);
  });
});

describe("given a task whose scheduled jobs it no longer plans", () => {
  it("when the task is gone, completed, without a due date or without the reminder, then the reason says so", () => {
    expect(cancelReason(null)).toBe(CANCEL_REASONS.taskGone);
    expect(cancelReason(task({ status: "completed" }))).toBe(CANCEL_REASONS.taskCompleted);
    expect(cancelReason(task({ due_at: null }))).toBe(CANCEL_REASONS.noDueDate);
    expect(cancelReason(task())).toBe(CANCEL_REASONS.reminderRemoved);
  });
});

// ───── Triggers ─────

describe("given a trigger of a reminder job", () => {
  const remindAt = at("2026-11-25T08:00:00.000Z");

  it("when the job is recorded as scheduled for the trigger's time, then it is acted on", () => {
    expect(ignoredTrigger({ status: "scheduled", remindAt }, remindAt)).toBeNull();
    expect(ignoredTrigger({ status: "scheduled", remindAt }, undefined)).toBeNull();
  });

  it("when there is no such job, or it already fired, was skipped or cancelled, then it is ignored", () => {
    expect(ignoredTrigger(null, remindAt)).toBe("no such reminder job");
    expect(ignoredTrigger({ status: "fired", remindAt }, remindAt)).toBe(
      "already fired (a repeated trigger)",
    );
    expect(ignoredTrigger({ status: "skipped", remindAt }, remindAt)).toBe("the job is skipped");
    expect(ignoredTrigger({ status: "cancelled", remindAt }, remindAt)).toBe("the job is cancelled");
  });

  it("when it carries the time of an earlier schedule of the job, then it is ignored", () => {
    expect(ignoredTrigger({ status: "scheduled", remindAt }, at("2026-11-25T07:00:00.000Z"))).toBe(
      "a trigger of an earlier schedule of this job",
    );
  });
});

describe("given a due trigger planned for a due date", () => {
  it("when the task is still pending and due then, then the reminder applies", () => {
    expect(staleTriggerReason({ status: "pending", dueAt: new Date(DUE) }, DUE)).toBeNull();
  });

  it("when the task is gone, completed or due at another time (or never), then it is skipped with the reason", () => {
    expect(staleTriggerReason(null, DUE)).toBe(SKIP_REASONS.taskGone);
    expect(staleTriggerReason({ status: "completed", dueAt: DUE }, DUE)).toBe(SKIP_REASONS.taskCompleted);
    expect(staleTriggerReason({ status: "pending", dueAt: at("2026-11-26T09:00:00.000Z") }, DUE)).toBe(
      SKIP_REASONS.dueDateChanged,
    );
    expect(staleTriggerReason({ status: "pending", dueAt: null }, DUE)).toBe(SKIP_REASONS.dueDateChanged);
  });
});

// ───── reminders already past when the task is saved (issue 15, item 8) ─────

describe("given a task due in 90 seconds with reminders 1, 15 and 120 minutes before", () => {
  const due = new Date(NOW.getTime() + 90_000).toISOString();
  const saved = task({ due_at: due, reminders: [offset("r120", 120), offset("r15", 15), offset("r1", 1)] });
  const fate = (plan: ReminderPlan) => ({
    scheduled: plan.jobs.filter((j) => !j.fireImmediately).map((j) => j.reminderId),
    sentNow: plan.jobs.filter((j) => j.fireImmediately).map((j) => j.reminderId),
    skipped: plan.skipped.map((s) => [s.reminderId, s.reason]),
  });

  it("when the account's policy is send now, then 15 and 120 are sent at once and 1 is scheduled", () => {
    expect(fate(planReminderJobs(saved, NOW, "send_now"))).toEqual({
      scheduled: ["r1"],
      sentNow: ["r120", "r15"],
      skipped: [],
    });
  });

  it("when no policy is given, then it is send now (the behaviour before there was a choice)", () => {
    expect(planReminderJobs(saved, NOW)).toEqual(planReminderJobs(saved, NOW, "send_now"));
  });

  it("when the policy is skip, then 15 and 120 are skipped with the reason saying so, and 1 is scheduled", () => {
    expect(fate(planReminderJobs(saved, NOW, "skip"))).toEqual({
      scheduled: ["r1"],
      sentNow: [],
      skipped: [
        ["r120", SKIP_REASONS.pastWhenSaved],
        ["r15", SKIP_REASONS.pastWhenSaved],
      ],
    });
    expect(SKIP_REASONS.pastWhenSaved).toMatch(/already passed when the task was saved.*skip/);
  });

  it("when the policy is skip, then a skipped reminder keeps its times, so reconciling again changes nothing", () => {
    const plan = planReminderJobs(saved, NOW, "skip");
    const first = planReconciliation(plan, []);
    expect(first.skip.map((s) => s.reminderId)).toEqual(["r120", "r15"]);
    const rows: ReminderJobRecord[] = [
      ...first.schedule.map((j) => ({ ...j, status: "scheduled" as const })),
      ...first.skip.map((s) => ({ ...s, status: "skipped" as const })),
    ];
    expect(planReconciliation(plan, rows)).toEqual({
      schedule: [],
      fire: [],
      skip: [],
      delete: [],
      cancel: [],
    });
  });
});

describe("given a reminder that was already planned and whose time has since passed", () => {
  it("when the task is saved again with the policy skip, then its scheduled job is left to fire", () => {
    const saved = task({
      due_at: new Date(NOW.getTime() + 10 * 60_000).toISOString(),
      reminders: [offset("r1", 15)],
    });
    const plan = planReminderJobs(saved, NOW, "skip");
    const [skipped] = plan.skipped;
    const rows: ReminderJobRecord[] = [
      { jobName: skipped!.jobName, status: "scheduled", remindAt: skipped!.remindAt, dueAt: skipped!.dueAt },
    ];
    expect(planReconciliation(plan, rows)).toEqual({
      schedule: [],
      fire: [],
      skip: [],
      delete: [],
      cancel: [],
    });
  });
});

describe("given a task that is already due", () => {
  it("when a reminder's time has passed, then it is skipped as already due whatever the policy", () => {
    const overdue = task({
      due_at: new Date(NOW.getTime() - 60_000).toISOString(),
      reminders: [offset("r1", 15)],
    });
    for (const policy of ["send_now", "skip"] as const)
      expect(planReminderJobs(overdue, NOW, policy).skipped.map((s) => s.reason)).toEqual([
        SKIP_REASONS.alreadyDue,
      ]);
  });
});

describe("given a reminder time, a due time and the clock", () => {
  const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

  it("when the reminder time is ahead, then it is scheduled whatever the policy", () => {
    expect(reminderTiming(at(1), at(60), NOW, "send_now")).toBe("scheduled");
    expect(reminderTiming(at(1), at(60), NOW, "skip")).toBe("scheduled");
  });

  it("when the reminder time is now or past and the task is not yet due, then the policy decides", () => {
    expect(reminderTiming(at(0), at(60), NOW, "send_now")).toBe("send_now");
    expect(reminderTiming(at(-60), at(60), NOW, "skip")).toBe("skip_past");
  });

  it("when the due time is now or past too, then it is skipped as already due", () => {
    expect(reminderTiming(at(-60), at(0), NOW, "send_now")).toBe("skip_due");
    expect(reminderTiming(at(-60), at(-1), NOW, "skip")).toBe("skip_due");
  });

  it("when any instants are drawn, then only a passed reminder of a task not yet due depends on the policy", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 }), (r, d) => {
        const sendNow = reminderTiming(at(r), at(d), NOW, "send_now");
        const skip = reminderTiming(at(r), at(d), NOW, "skip");
        if (sendNow === "send_now") expect(skip).toBe("skip_past");
        else expect(skip).toBe(sendNow);
      }),
    );
  });
});

describe("given a past-reminder policy from a form or the database", () => {
  it("when it is send_now or skip, then it is read as such", () => {
    expect(pastReminderPolicySchema.parse("skip")).toBe("skip");
    expect(pastReminderPolicyOf("send_now")).toBe("send_now");
  });

  it("when it is anything else, then the form gets a message naming the choices and storage reads the default", () => {
    const refused = pastReminderPolicySchema.safeParse("later");
    expect(refused.success).toBe(false);
    expect(refused.error!.issues[0]!.message).toBe("Pick “Send now” or “Skip”.");
    expect(pastReminderPolicyOf("later")).toBe("send_now");
    expect(pastReminderPolicyOf(null)).toBe("send_now");
  });
});
