import { describe, expect, it } from "vitest";
import fixture from "./fixtures/todoist-export.csv?raw";
import {
  decodeUpload,
  readTodoistCsv,
  readTodoistDate,
  TODOIST_IMPORT_LIMITS,
  type ImportRow,
} from "./todoist-import.ts";

// Monday 2026-11-23 10:30 in Berlin (09:30 UTC), as in quick-add.test.ts.
const NOW = new Date("2026-11-23T09:30:00Z");
const ZONE = "Europe/Berlin";
const clock = { timeZone: ZONE, now: NOW };
const HEADER = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE";

function rowsOf(text: string): ImportRow[] {
  const result = readTodoistCsv(text, clock);
  if (!result.ok) throw new Error(result.message);
  return result.rows;
}
const one = (line: string) => rowsOf(`${HEADER}\r\n${line}\r\n`)[0]!;
const task = (line: string) => {
  const row = one(line);
  if (row.kind !== "task") throw new Error(`not a task: ${JSON.stringify(row)}`);
  return row;
};

describe("given Todoist's CSV export of a project (fixtures/todoist-export.csv)", () => {
  const rows = rowsOf(fixture);
  const at = (line: number) => rows.find((row) => row.line === line);

  it("when it is read, then every row but the meta and empty rows is accounted for, by its file line", () => {
    expect(rows.map((row) => [row.line, row.kind])).toEqual([
      [3, "task"],
      [4, "comment"],
      [5, "task"],
      [6, "task"],
      [7, "task"],
      [9, "skipped"],
      [10, "task"],
      [13, "task"],
      [14, "task"],
      [15, "task"],
      [16, "task"],
      [17, "task"],
      [18, "skipped"],
      [19, "skipped"],
      [21, "skipped"],
      [22, "task"],
      [23, "task"],
      [24, "comment"],
      [25, "skipped"],
    ]);
  });

  it("then labels become tags, p1 is high, the date is read in its TIMEZONE, and a note joins the description", () => {
    expect(at(3)).toEqual({
      line: 3,
      kind: "task",
      input: {
        title: "Renew passport",
        description:
          'Bring the old passport, two photos and the form "Antrag auf Pass"\n\nComment from Todoist: Appointment code is 4711',
        priority: "high",
        due_at: "2026-12-12T16:00:00.000Z",
        tags: ["errands", "admin"],
      },
      notes: [],
    });
    expect(at(4)).toEqual({ line: 4, kind: "comment", taskLine: 3, taskTitle: "Renew passport" });
  });

  it("then p2 is medium, p3 low and p4 none", () => {
    const priority = (line: number) => (at(line) as Extract<ImportRow, { kind: "task" }>).input.priority;
    expect([priority(3), priority(6), priority(5), priority(7)]).toEqual(["high", "medium", "low", "none"]);
  });

  it("then 'every …' dates repeat: weekly, monthly on a day, and every! counted from completion", () => {
    expect(at(5)).toMatchObject({
      input: {
        due_at: "2026-11-30T08:00:00.000Z",
        recurrence: { pattern: "weekly", interval: 1, weekdays: [1], month_week: null, anchor: "schedule" },
      },
    });
    expect(at(6)).toMatchObject({
      input: {
        due_at: "2026-12-01T08:00:00.000Z",
        recurrence: { pattern: "monthly", month_day: 1, last_day_of_month: false, anchor: "schedule" },
      },
    });
    expect(at(7)).toMatchObject({
      input: {
        due_at: "2026-11-24T08:00:00.000Z",
        recurrence: { pattern: "daily", interval: 2, anchor: "completion" },
      },
    });
  });

  it("then a section is reported as not imported, and what has no field in Orbit is named per task", () => {
    expect(at(9)).toMatchObject({
      kind: "skipped",
      text: "Work",
      reason: expect.stringContaining("no sections"),
    });
    const report = at(10) as Extract<ImportRow, { kind: "task" }>;
    expect(report.input).toMatchObject({
      title: "Quarterly report",
      description: "Outline:\r\n1. Numbers\r\n2. Risks\n\nTodoist deadline: 2027-01-05",
      due_at: "2026-12-31T08:00:00.000Z",
      tags: ["work"],
    });
    expect(report.notes).toEqual([
      "A duration of 90 minutes: Orbit has no durations, so this is not imported.",
      "Deadline “2027-01-05”: Orbit has no deadlines besides the due date; it is in the description.",
    ]);
  });

  it("then sub-tasks become subtasks of the top-level task above them", () => {
    expect(at(13)).toMatchObject({
      input: { title: "Gather numbers from finance", due_at: "2026-11-24T09:00:00.000Z", priority: "medium" },
      notes: ["Assigned to Ben (41273345) in Todoist: Orbit has no assignees, so this is not imported."],
      parentLine: 10,
    });
    expect(at(14)).toMatchObject({
      input: { title: "Review slides, then send", due_at: null, tags: [] },
      notes: [],
      parentLine: 10,
    });
  });

  it("then a deeper sub-task is flattened to a subtask of the top-level task, and the report says so", () => {
    const read = readTodoistCsv(
      [
        HEADER,
        "task,Trip,,4,1,,,,,",
        "task,Pack,,4,2,,,,,",
        "task,Socks,,4,3,,,,,",
        "task,Loose,,4,1,,,,,",
      ].join("\n"),
      clock,
    );
    if (!read.ok) throw new Error(read.message);
    const [trip, pack, socks, loose] = read.rows as Extract<ImportRow, { kind: "task" }>[];
    expect(trip!.parentLine).toBeUndefined();
    expect(pack).toMatchObject({ parentLine: 2, notes: [] });
    expect(socks).toMatchObject({
      parentLine: 2,
      notes: [
        "A sub-task 2 levels deep in Todoist (under line 3): Orbit's subtasks go one level deep, so it is a subtask of line 2.",
      ],
    });
    expect(loose!.parentLine).toBeUndefined();
  });

  it("then a date in another zone keeps that zone, for the task and its repeats", () => {
    // Friday 2026-11-27 16:00 in New York (EST, UTC-5).
    expect(at(15)).toMatchObject({
      input: {
        due_at: "2026-11-27T21:00:00.000Z",
        time_zone: "America/New_York",
        recurrence: { pattern: "weekly", weekdays: [5] },
      },
    });
  });

  it("then a label Orbit cannot take as a tag stays in the title, and a formula is just text", () => {
    expect(at(16)).toMatchObject({
      input: { title: "Plan the offsite @Q1!", tags: ["work"] },
      notes: [expect.stringContaining("@Q1! is no Orbit tag")],
    });
    expect(at(17)).toMatchObject({ input: { title: '=HYPERLINK("https://example.com","Expenses")' } });
  });

  it("then a task of labels only is not imported, and neither is the comment on it", () => {
    expect(at(18)).toMatchObject({
      kind: "skipped",
      text: "@work",
      reason: "The task's CONTENT holds only labels.",
    });
    expect(at(19)).toMatchObject({
      kind: "skipped",
      reason: "A comment on line 18's task, which is not imported.",
    });
  });

  it("then a date Orbit cannot read is reported and kept in the description, naming a foreign DATE_LANG", () => {
    expect(at(22)).toMatchObject({
      input: { title: "Call the bank", due_at: null, description: "Todoist date: morgen" },
      notes: [
        "DATE “morgen” is not a date Orbit can read (Orbit reads English dates; this one is “de”): imported without a due date, the date is in the description.",
      ],
    });
    expect(at(23)).toMatchObject({
      input: { title: "Learn Portuguese", priority: "none", tags: ["learning"] },
      notes: [
        "PRIORITY “5” is none of 1–4: imported without a priority.",
        expect.stringContaining("DATE “every 3rd workday” is not a date Orbit can read: "),
      ],
    });
  });

  it("then a row type Todoist does not write is reported", () => {
    expect(at(25)).toMatchObject({
      kind: "skipped",
      reason: "TYPE “project” is none of task, section or note.",
    });
  });
});

describe("given a file that is no Todoist export", () => {
  it("when it lacks the TYPE or CONTENT column, then the whole file is refused, naming them", () => {
    expect(readTodoistCsv("Title,Due\r\nBuy milk,tomorrow\r\n", clock)).toEqual({
      ok: false,
      message:
        "This is not a Todoist CSV export: its first line must name the columns TYPE and CONTENT (it lacks TYPE and CONTENT).",
    });
  });

  it("when it is empty, not CSV, or too long, then the whole file is refused with the reason", () => {
    expect(readTodoistCsv(" \r\n", clock)).toEqual({ ok: false, message: "The file is empty." });
    expect(readTodoistCsv(`${HEADER}\r\ntask,"Unclosed\r\n`, clock)).toEqual({
      ok: false,
      message: 'The file is not valid CSV: line 2: a quoted field is never closed (a " is missing).',
    });
    const rows = Array.from({ length: TODOIST_IMPORT_LIMITS.rows + 1 }, (_, i) => `task,Task ${i},,4,1`);
    const tooLong = readTodoistCsv([HEADER, ...rows].join("\r\n"), clock);
    expect(tooLong).toEqual({ ok: false, message: expect.stringContaining("more than 1,000 rows") });
    const justRight = readTodoistCsv([HEADER, ...rows.slice(1)].join("\r\n"), clock);
    expect(justRight.ok && justRight.rows.length).toBe(TODOIST_IMPORT_LIMITS.rows);
  });

  it("when its bytes are not UTF-8, then decoding says so; UTF-8 decodes", () => {
    expect(decodeUpload(new Uint8Array([0x54, 0xe4, 0x73]))).toMatchObject({ ok: false });
    expect(decodeUpload(new TextEncoder().encode("Täst"))).toEqual({ ok: true, text: "Täst" });
  });
});

describe("given single Todoist rows", () => {
  it("when the header is in another case and order, with semicolons, then the columns are still found", () => {
    const rows = rowsOf("content;type;priority\r\nBuy milk @home;task;2\r\n");
    expect(rows).toEqual([
      {
        line: 2,
        kind: "task",
        input: { title: "Buy milk", description: "", priority: "medium", due_at: null, tags: ["home"] },
        notes: [],
      },
    ]);
  });

  it("when PRIORITY is blank, then the task has no priority", () => {
    expect(task("task,Buy milk,,,1").input.priority).toBe("none");
  });

  it("when a label repeats in another case, then it is one tag; beyond 20 tags the rest are named", () => {
    expect(task("task,A @Home @home,,4,1").input.tags).toEqual(["Home"]);
    const labels = Array.from({ length: 22 }, (_, i) => `@t${i}`).join(" ");
    const row = task(`task,Many ${labels},,4,1`);
    expect(row.input.tags).toHaveLength(20);
    expect(row.notes).toEqual(["A task has at most 20 tags: @t20, @t21 not imported."]);
    expect(row.input.title).toBe("Many");
  });

  it("when an email address is in the name, then it is no label", () => {
    expect(task("task,Mail ana@example.com,,4,1").input).toMatchObject({
      title: "Mail ana@example.com",
      tags: [],
    });
  });

  it("when the name is longer than a title may be, then it is shortened and kept whole in the description", () => {
    const row = task(`task,${"x".repeat(600)},,4,1`);
    expect(row.input.title).toHaveLength(500);
    expect(row.input.description).toBe(`Full title: ${"x".repeat(600)}`);
    expect(row.notes).toEqual([expect.stringContaining("longer than 500 characters")]);
  });

  it("when the create command would refuse the task, then the row is reported, not imported", () => {
    expect(one("task,Bad \u0000 name,,4,1")).toEqual({
      line: 2,
      kind: "skipped",
      text: "Bad \u0000 name",
      reason: "The task's title must not contain a NUL character (U+0000).",
    });
  });

  it("when INDENT is not a level, then the task is top-level and the report says so", () => {
    expect(task("task,A,,4,x").notes).toEqual(["INDENT “x” is no level 1–4: imported as a top-level task."]);
  });

  it("when TIMEZONE is no zone, then the date is read in the user's zone, and the report says so", () => {
    const row = task("task,A,,4,1,,,2026-12-01 10:00,en,Mars/Olympus");
    expect(row.input).toMatchObject({ due_at: "2026-12-01T09:00:00.000Z" });
    expect(row.input.time_zone).toBeUndefined();
    expect(row.notes).toEqual([expect.stringContaining("TIMEZONE “Mars/Olympus” is no time zone")]);
  });

  it("when a note comes first in the file, then it is a comment with no task above it", () => {
    expect(one("note,Lonely,,,")).toMatchObject({
      kind: "skipped",
      reason: "A comment with no task above it.",
    });
  });

  it("when a task has no CONTENT, then it is reported", () => {
    expect(one("task,,,4,1")).toMatchObject({
      kind: "skipped",
      reason: "The task has no CONTENT (its name).",
    });
  });
});

describe("given a Todoist DATE", () => {
  const read = (text: string, zone = ZONE) => readTodoistDate(text, zone, NOW);
  const due = (text: string, zone = ZONE) => {
    const result = read(text, zone);
    return result.ok ? result.dueAt.toISOString() : `not read: ${result.reason}`;
  };

  it("when it is an ISO date, with or without a time or an offset, then it is that instant (09:00 without a time)", () => {
    expect(due("2026-12-31")).toBe("2026-12-31T08:00:00.000Z");
    expect(due("2026-12-31 17:30")).toBe("2026-12-31T16:30:00.000Z");
    expect(due("2026-12-31T17:30:00Z")).toBe("2026-12-31T17:30:00.000Z");
    expect(due("2026-12-31T17:30:00-05:00")).toBe("2026-12-31T22:30:00.000Z");
    expect(due("2026-02-30")).toBe("not read: there is no such day as 2026-02-30");
  });

  it("when it names a month, then day and month may come in either order, with a year and a time", () => {
    expect(due("Dec 12 2026 17:00")).toBe("2026-12-12T16:00:00.000Z");
    expect(due("12 December 2026 5pm")).toBe("2026-12-12T16:00:00.000Z");
    expect(due("December 12, 2026 at 5:30 pm")).toBe("2026-12-12T16:30:00.000Z");
    expect(due("Sat 12 Dec 2026")).toBe("2026-12-12T08:00:00.000Z");
  });

  it("when it names no year, then it is the next such day from today on", () => {
    expect(due("Dec 12")).toBe("2026-12-12T08:00:00.000Z");
    expect(due("23 Nov")).toBe("2026-11-23T08:00:00.000Z");
    expect(due("Nov 22")).toBe("2027-11-22T08:00:00.000Z");
    expect(due("Feb 29")).toBe("2028-02-29T08:00:00.000Z");
  });

  it("when it is quick add's kind of phrase, then quick add reads it", () => {
    expect(due("tomorrow")).toBe("2026-11-24T08:00:00.000Z");
    expect(due("next friday 6pm")).toBe("2026-12-04T17:00:00.000Z");
    expect(read("every weekday at 9:30am")).toMatchObject({
      ok: true,
      recurrence: { pattern: "weekly", weekdays: [1, 2, 3, 4, 5], anchor: "schedule" },
    });
    expect(read("every last friday")).toMatchObject({
      ok: true,
      dueAt: new Date("2026-11-27T08:00:00.000Z"),
      recurrence: { pattern: "monthly", weekdays: [5], month_week: -1 },
    });
  });

  it("when it repeats on a day of the month, then the rule is monthly on it, a 31st or last day clamped", () => {
    expect(read("every 31st")).toMatchObject({
      ok: true,
      dueAt: new Date("2026-11-30T08:00:00.000Z"),
      recurrence: { pattern: "monthly", month_day: 31, last_day_of_month: false },
    });
    expect(read("every! last day at 18:00")).toMatchObject({
      ok: true,
      dueAt: new Date("2026-11-30T17:00:00.000Z"),
      recurrence: { pattern: "monthly", month_day: null, last_day_of_month: true, anchor: "completion" },
    });
    // The 23rd at 09:00 has passed this morning: next month's.
    expect(due("every 23rd")).toBe("2026-12-23T08:00:00.000Z");
  });

  it("when quick add reads only part of it, or none, then it is not read", () => {
    expect(due("every 3 months starting Jan 1")).toBe("not read: not a date");
    expect(due("someday")).toBe("not read: not a date");
    expect(due("tomorrow #home")).toBe("not read: not a date");
    expect(due("Dec 12 5")).toBe("not read: its time is not a time of day");
  });
});
