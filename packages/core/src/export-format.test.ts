import { describe, expect, it } from "vitest";
import { exportFileName, TASK_CSV_COLUMNS, taskCsvValues } from "./export-format.ts";
import type { TaskDto } from "./tasks.ts";

const task: TaskDto = {
  id: "7d3c1f0e-0000-4000-8000-000000000001",
  user_id: "7d3c1f0e-0000-4000-8000-000000000002",
  title: "Stretch",
  description: "",
  status: "pending",
  priority: "low",
  due_at: "2026-11-24T08:00:00.000Z",
  time_zone: "Europe/Berlin",
  tags: ["health", "home"],
  list_id: "7d3c1f0e-0000-4000-8000-000000000003",
  parent_id: null,
  subtasks: { done: 0, total: 0 },
  reminders: [
    { id: "r1", offset_minutes: 0, remind_at: null },
    { id: "r2", offset_minutes: null, remind_at: "2026-11-24T06:30:00.000Z" },
  ],
  recurrence: {
    series_id: "s1",
    pattern: "daily",
    interval: 2,
    weekdays: [],
    month_day: null,
    last_day_of_month: false,
    month_week: null,
    anchor: "completion",
    ends_at: null,
    max_count: null,
    active: true,
  },
  series_id: "s1",
  occurrence_index: 1,
  completed_at: null,
  created_at: "2026-11-23T09:30:00.000Z",
  updated_at: "2026-11-23T09:30:00.000Z",
  version: 1,
};

describe("given a task", () => {
  it("when it is a CSV row, then instants are in its zone or UTC, and repeat and reminders are words", () => {
    const values = taskCsvValues(task, "Health");
    expect(values).toHaveLength(TASK_CSV_COLUMNS.length);
    expect(Object.fromEntries(TASK_CSV_COLUMNS.map((column, i) => [column, values[i]]))).toEqual({
      id: task.id,
      title: "Stretch",
      description: "",
      status: "pending",
      priority: "low",
      due_at: "2026-11-24T09:00:00.000+01:00",
      time_zone: "Europe/Berlin",
      tags: "health home",
      repeats: "Every 2 days, from completion",
      reminders: "at the due time; 2026-11-24T07:30:00.000+01:00",
      completed_at: "",
      created_at: "2026-11-23T09:30:00.000Z",
      updated_at: "2026-11-23T09:30:00.000Z",
      list: "Health",
      parent_id: "",
    });
  });

  it("when its series has ended, then it no longer repeats", () => {
    const ended = { ...task, recurrence: { ...task.recurrence!, active: false } };
    expect(taskCsvValues(ended)[TASK_CSV_COLUMNS.indexOf("repeats")]).toBe("");
  });
});

it("an export's file name carries the day it was made", () => {
  expect(exportFileName("json", new Date("2026-11-23T23:30:00Z"))).toBe("orbit-export-2026-11-23.json");
  expect(exportFileName("csv", new Date("2026-11-23T23:30:00Z"), "tasks")).toBe("orbit-tasks-2026-11-23.csv");
});
