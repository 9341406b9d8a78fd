// The iCalendar feed's rendering, read back by independent parsers: ical.js (Mozilla's, the one
// Thunderbird uses) for the calendar as a whole, its time zones and recurrences, and rrule
// (jkbrzt/rrule) for the one RRULE form ical.js does not implement (BYSETPOS without BYDAY).
// Both are dev dependencies used only as oracles.
import fc from "fast-check";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import rrulePackage from "rrule";
import { describe, expect, test } from "vitest";
import { icalDates, icalTriggers } from "./ical-oracle.ts";
import {
  duration,
  escapeText,
  foldLine,
  renderCalendar,
  rruleOf,
  vtimezone,
  type CalendarFlavour,
  type CalendarTask,
} from "./icalendar.ts";
import { RULE_ZONES, scheduleRuleArb } from "./recurrence-arbitrary.ts";
import { nextOccurrence, type RecurrenceRule } from "./recurrence.ts";

const { rrulestr } = rrulePackage;
const DAY = 86_400_000;

const rule = (overrides: Partial<RecurrenceRule>): RecurrenceRule => ({
  pattern: "daily",
  interval: 1,
  weekdays: [],
  monthDay: null,
  lastDayOfMonth: false,
  monthWeek: null,
  anchor: "schedule",
  startsAt: new Date("2027-01-04T08:00:00Z"), // a Monday, 09:00 in Berlin
  timeZone: "Europe/Berlin",
  endsAt: null,
  maxCount: null,
  ...overrides,
});

let n = 0;
const task = (overrides: Partial<CalendarTask> = {}): CalendarTask => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
  title: "Water the plants",
  description: "",
  status: "pending",
  priority: "none",
  dueAt: new Date("2027-01-04T08:00:00Z"),
  tags: [],
  list: null,
  reminders: [],
  completedAt: null,
  createdAt: new Date("2026-12-01T10:00:00Z"),
  updatedAt: new Date("2026-12-02T11:30:00Z"),
  version: 1,
  url: null,
  series: null,
  ...overrides,
});

/** A task that is the first occurrence of a series with `r`. */
const occurrence = (r: RecurrenceRule, overrides: Partial<CalendarTask> = {}): CalendarTask =>
  task({
    dueAt: r.startsAt,
    series: {
      id: "5e51e500-0000-4000-8000-000000000001",
      rule: r,
      active: true,
      occurrencesCreated: 1,
      occurrenceIndex: 1,
      version: 1,
      updatedAt: new Date("2026-12-02T11:30:00Z"),
    },
    ...overrides,
  });

const NOW = new Date("2026-12-05T12:00:00Z");
const render = (tasks: CalendarTask[], flavour: CalendarFlavour = "events", now = NOW) =>
  renderCalendar({ flavour, tasks, now, name: "Orbit tasks" });

function parse(text: string) {
  const root = new ICAL.Component(ICAL.parse(text));
  return {
    root,
    events: root.getAllSubcomponents("vevent"),
    todos: root.getAllSubcomponents("vtodo"),
  };
}

/** How many instants a local wall time (written as UTC) is in `zone`: 0 in a gap, 2 when it repeats. */
function instantsOf(zone: string, wallMs: number): number {
  const offset = (at: number) => DateTime.fromMillis(at, { zone }).offset;
  const candidates = new Set([offset(wallMs - DAY), offset(wallMs + DAY)]);
  return [...candidates].filter((o) => offset(wallMs - o * 60_000) === o).length;
}

/**
 * The series' dates from ical.js against the engine's. Every local wall time must be the engine's,
 * and so must every instant, except where the wall time does not exist once: RFC 5545 §3.3.5
 * reads a time in a spring-forward gap forward by the gap and a repeated time as the first, as
 * the engine does; ical.js reads the gap backward and takes the second (measured, 2.2.1).
 */
function expectSameDates(component: ICAL.Component, r: RecurrenceRule, expected: string[], count: number) {
  const iterator = new ICAL.Event(component).iterator();
  const ours = expected.map((iso) => DateTime.fromISO(iso, { zone: r.timeZone }));
  const theirs: ICAL.Time[] = [];
  for (let next = iterator.next(); next && theirs.length < count; next = iterator.next()) theirs.push(next);
  expect(theirs.length, JSON.stringify(r)).toBe(expected.length);
  theirs.forEach((time, i) => {
    const instant = time.toJSDate().toISOString();
    if (r.pattern === "hourly") return expect(instant, JSON.stringify({ r, i })).toBe(expected[i]);
    const wall = time.toString().slice(0, 16);
    const instants = instantsOf(r.timeZone, Date.parse(`${wall}:00Z`));
    // A wall time a spring-forward gap swallows is moved forward by the gap: the engine's is later.
    if (instants === 0)
      expect(ours[i]!.toFormat("yyyy-MM-dd"), JSON.stringify({ r, i })).toBe(wall.slice(0, 10));
    else expect(ours[i]!.toFormat("yyyy-MM-dd'T'HH:mm"), JSON.stringify({ r, i })).toBe(wall);
    if (instants === 1) expect(instant, JSON.stringify({ r, i, wall })).toBe(expected[i]);
  });
}

/** The engine's dates after the first occurrence (due `first`), as the feed's series should show. */
function engineAfter(r: RecurrenceRule, first: Date, count: number, now = NOW): string[] {
  const out: string[] = [];
  let due: Date | null = first;
  let created = 1;
  let at = now;
  while (out.length < count) {
    due = nextOccurrence(r, { previousDue: due, completedAt: null, now: at, occurrencesSoFar: created++ });
    if (!due) break;
    out.push(due.toISOString());
    at = due;
  }
  return out;
}

describe("content lines", () => {
  test("TEXT escapes backslash, semicolon, comma and every kind of line break; drops control characters", () => {
    expect(escapeText("a\\b;c,d\ne\r\nf\rg")).toBe("a\\\\b\\;c\\,d\\ne\\nf\\ng");
    expect(escapeText("tab\tstays, bell\u0007 and DEL\u007f go")).toBe("tab\tstays\\, bell and DEL go");
    expect(escapeText('colon: "quotes" stay')).toBe('colon: "quotes" stay');
  });

  test("lines fold at 75 octets of UTF-8, never inside a character, and unfold to the original", () => {
    const ascii = `SUMMARY:${"x".repeat(200)}`;
    const folded = foldLine(ascii);
    const lines = folded.split("\r\n");
    expect(lines[0]).toHaveLength(75);
    for (const line of lines.slice(1)) expect(line.startsWith(" ")).toBe(true);
    expect(lines.every((line) => Buffer.byteLength(line) <= 75)).toBe(true);
    expect(folded.replace(/\r\n /g, "")).toBe(ascii);
    expect(foldLine("SUMMARY:short")).toBe("SUMMARY:short");

    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
        const line = `DESCRIPTION:${escapeText(text)}`;
        const out = foldLine(line);
        for (const part of out.split("\r\n")) {
          expect(Buffer.byteLength(part)).toBeLessThanOrEqual(75);
          // No replacement character: no UTF-8 sequence was cut.
          expect(Buffer.from(part).toString()).toBe(part);
        }
        expect(out.replace(/\r\n /g, "")).toBe(line);
      }),
      { numRuns: 300 },
    );
  });

  test("a title with every special character and a long multi-byte text comes back exactly from ical.js", () => {
    const title = "Pay rent, deposit; and C:\\fees\nsecond line — für Zoë 🏠".repeat(3);
    const description = "Großmütterchens Geburtstagsüberraschung 🎂🎉 ".repeat(10);
    const text = render([
      task({ title, description, tags: ["home", "größe", "a.b/c"], list: "Side, project" }),
    ]);
    expect(text.split("\r\n").every((line) => Buffer.byteLength(line) <= 75)).toBe(true);
    const [event] = parse(text).events;
    expect(event!.getFirstPropertyValue("summary")).toBe(title);
    expect(event!.getFirstPropertyValue("description")).toBe(description.trim());
    // The list first (its comma escaped), then the tags.
    expect(event!.getFirstProperty("categories")!.getValues()).toEqual([
      "Side, project",
      "home",
      "größe",
      "a.b/c",
    ]);
  });

  test("durations", () => {
    expect(duration(0)).toBe("PT0S");
    expect(duration(-15 * 60)).toBe("-PT15M");
    expect(duration(-90 * 60)).toBe("-PT1H30M");
    expect(duration(-1440 * 60)).toBe("-P1D");
    expect(duration(-(1440 + 61) * 60 - 5)).toBe("-P1DT1H1M5S");
    expect(duration(3600)).toBe("PT1H");
  });
});

describe("each rule as an RRULE", () => {
  const cases: [string, Partial<RecurrenceRule>, string][] = [
    ["every 8 hours", { pattern: "hourly", interval: 8 }, "FREQ=HOURLY;INTERVAL=8"],
    ["daily", { pattern: "daily" }, "FREQ=DAILY"],
    ["every 3 days", { pattern: "daily", interval: 3 }, "FREQ=DAILY;INTERVAL=3"],
    ["weekly on the start's weekday", { pattern: "weekly" }, "FREQ=WEEKLY;BYDAY=MO;WKST=MO"],
    [
      "every 2 weeks on Sun, Wed",
      { pattern: "weekly", interval: 2, weekdays: [7, 3] },
      "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,SU;WKST=MO",
    ],
    [
      "every weekday",
      { pattern: "weekly", weekdays: [1, 2, 3, 4, 5] },
      "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;WKST=MO",
    ],
    ["monthly on the start's day", { pattern: "monthly" }, "FREQ=MONTHLY;BYMONTHDAY=4"],
    ["monthly on the 15th", { pattern: "monthly", monthDay: 15 }, "FREQ=MONTHLY;BYMONTHDAY=15"],
    ["monthly on the 28th", { pattern: "monthly", monthDay: 28 }, "FREQ=MONTHLY;BYMONTHDAY=28"],
    [
      "monthly on the 29th",
      { pattern: "monthly", monthDay: 29 },
      "FREQ=MONTHLY;BYMONTHDAY=28,29;BYSETPOS=-1",
    ],
    [
      "monthly on the 30th",
      { pattern: "monthly", monthDay: 30 },
      "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
    ],
    ["monthly on the 31st", { pattern: "monthly", monthDay: 31 }, "FREQ=MONTHLY;BYMONTHDAY=-1"],
    ["monthly on the last day", { pattern: "monthly", lastDayOfMonth: true }, "FREQ=MONTHLY;BYMONTHDAY=-1"],
    ["every 3rd Tuesday", { pattern: "monthly", monthWeek: 3, weekdays: [2] }, "FREQ=MONTHLY;BYDAY=3TU"],
    [
      "every 2 months on the last Friday",
      { pattern: "monthly", interval: 2, monthWeek: -1, weekdays: [5] },
      "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR",
    ],
    ["yearly", { pattern: "yearly" }, "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=4"],
    [
      "yearly on Feb 29",
      { pattern: "yearly", startsAt: new Date("2028-02-29T08:00:00Z") },
      "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
    ],
  ];
  for (const [name, overrides, expected] of cases)
    test(name, () => expect(rruleOf(rule(overrides))).toBe(expected));

  test("COUNT is what is left of max_count; UNTIL is ends_at in UTC; with both, whichever ends first", () => {
    const seriesLine = (r: RecurrenceRule, created = 1) => {
      const text = render([
        occurrence(r, {
          series: { ...occurrence(r).series!, occurrencesCreated: created, occurrenceIndex: created },
        }),
      ]);
      // The series' RRULE comes last (VTIMEZONE observances have theirs before it).
      return text.split("\r\n").findLast((line) => line.startsWith("RRULE:"));
    };
    expect(seriesLine(rule({ maxCount: 10 }))).toBe("RRULE:FREQ=DAILY;COUNT=9");
    expect(seriesLine(rule({ maxCount: 10 }), 4)).toBe("RRULE:FREQ=DAILY;COUNT=6");
    expect(seriesLine(rule({ maxCount: 4 }), 4)).toBeUndefined();
    const endsAt = new Date("2027-01-20T22:59:59.999Z");
    expect(seriesLine(rule({ endsAt }))).toBe("RRULE:FREQ=DAILY;UNTIL=20270120T225959Z");
    // 16 days to go until ends_at: a count of 5 ends first, a count of 40 does not.
    expect(seriesLine(rule({ endsAt, maxCount: 6 }))).toBe("RRULE:FREQ=DAILY;COUNT=5");
    expect(seriesLine(rule({ endsAt, maxCount: 40 }))).toBe("RRULE:FREQ=DAILY;UNTIL=20270120T225959Z");
  });
});

describe("the calendar", () => {
  test("a pending task is a VEVENT at its due time that marks no one busy; fields map as documented", () => {
    const t = task({
      title: "Pay rent",
      description: "Transfer to the landlord",
      priority: "high",
      tags: ["home", "money"],
      version: 4,
      url: "https://orbit.example/tasks/abc",
    });
    const text = render([t]);
    expect(text.endsWith("END:VCALENDAR\r\n")).toBe(true);
    expect(text.replace(/\r\n/g, "")).not.toMatch(/\n/);
    const { root, events, todos } = parse(text);
    expect(root.getFirstPropertyValue("version")).toBe("2.0");
    expect(root.getFirstPropertyValue("x-wr-calname")).toBe("Orbit tasks");
    expect(todos).toHaveLength(0);
    const event = events[0]!;
    expect(event.getFirstPropertyValue("uid")).toBe(`${t.id}@orbit`);
    expect(event.getFirstPropertyValue("summary")).toBe("Pay rent");
    expect(event.getFirstPropertyValue("description")).toBe("Transfer to the landlord");
    expect((event.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate().toISOString()).toBe(
      "2027-01-04T08:00:00.000Z",
    );
    expect(event.hasProperty("dtend")).toBe(false);
    expect(event.getFirstPropertyValue("transp")).toBe("TRANSPARENT");
    expect(event.getFirstPropertyValue("priority")).toBe(1);
    expect(event.getFirstPropertyValue("sequence")).toBe(3);
    expect(event.getFirstPropertyValue("url")).toBe("https://orbit.example/tasks/abc");
    expect((event.getFirstPropertyValue("dtstamp") as ICAL.Time).toJSDate()).toEqual(t.updatedAt);
    expect(event.getFirstProperty("categories")!.getValues()).toEqual(["home", "money"]);
  });

  test("priorities map to 1 (high), 5 (medium), 9 (low) and none to no PRIORITY", () => {
    const { events } = parse(
      render((["high", "medium", "low", "none"] as const).map((priority) => task({ priority }))),
    );
    expect(events.map((e) => e.getFirstPropertyValue("priority"))).toEqual([1, 5, 9, null]);
  });

  test("todos: DUE and NEEDS-ACTION; a completed one is COMPLETED with its time, 100 %, and no alarm", () => {
    const done = task({
      status: "completed",
      completedAt: new Date("2027-01-04T07:12:00Z"),
      reminders: [{ offsetMinutes: 15, remindAt: null }],
    });
    const open = task({ reminders: [{ offsetMinutes: 15, remindAt: null }] });
    const { todos, events } = parse(render([open, done], "todos"));
    expect(events).toHaveLength(0);
    expect(todos[0]!.getFirstPropertyValue("status")).toBe("NEEDS-ACTION");
    expect((todos[0]!.getFirstPropertyValue("due") as ICAL.Time).toJSDate()).toEqual(open.dueAt);
    expect(todos[0]!.hasProperty("dtstart")).toBe(false);
    expect(todos[1]!.getFirstPropertyValue("status")).toBe("COMPLETED");
    expect((todos[1]!.getFirstPropertyValue("completed") as ICAL.Time).toJSDate()).toEqual(done.completedAt);
    expect(todos[1]!.getFirstPropertyValue("percent-complete")).toBe(100);
    expect(todos[1]!.getAllSubcomponents("valarm")).toHaveLength(0);
    expect(todos[0]!.getAllSubcomponents("valarm")).toHaveLength(1);
  });

  test("events: a completed task keeps its place, marked ✓ in its title, without alarms", () => {
    const done = task({
      title: "Buy milk",
      status: "completed",
      completedAt: new Date("2027-01-04T07:00:00Z"),
    });
    const [event] = parse(render([done])).events;
    expect(event!.getFirstPropertyValue("summary")).toBe("✓ Buy milk");
    expect(event!.getAllSubcomponents("valarm")).toHaveLength(0);
  });

  test("reminders are VALARMs: an offset before the due time, an absolute one at its instant", () => {
    const t = task({
      reminders: [
        { offsetMinutes: 90, remindAt: null },
        { offsetMinutes: 0, remindAt: null },
        { offsetMinutes: null, remindAt: new Date("2027-01-03T18:00:00Z") },
      ],
    });
    const triggers = (component: ICAL.Component) => {
      for (const alarm of component.getAllSubcomponents("valarm")) {
        expect(alarm.getFirstPropertyValue("action")).toBe("DISPLAY");
        expect(alarm.getFirstPropertyValue("description")).toBe(t.title);
      }
      return icalTriggers(component);
    };
    expect(triggers(parse(render([t])).events[0]!)).toEqual([
      "START -5400",
      "START 0",
      "at 2027-01-03T18:00:00.000Z",
    ]);
    // A VTODO has DUE, not DTSTART: offsets are RELATED=END (RFC 5545 §3.8.6.3).
    expect(triggers(parse(render([t], "todos")).todos[0]!)).toEqual([
      "END -5400",
      "END 0",
      "at 2027-01-03T18:00:00.000Z",
    ]);
    // On the recurring item an absolute reminder keeps its distance before each date (14 h).
    const series = occurrence(rule({ pattern: "daily" }), { reminders: t.reminders });
    expect(triggers(parse(render([series])).events[1]!)).toEqual(["START -50400", "START -5400", "START 0"]);
  });

  test("a series on schedule: the occurrence as it is, then one recurring item from the next date, in the series' zone", () => {
    const r = rule({ pattern: "weekly", weekdays: [1, 4] });
    const { events } = parse(render([occurrence(r)]));
    expect(events).toHaveLength(2);
    expect(events[0]!.hasProperty("rrule")).toBe(false);
    const series = events[1]!;
    expect(series.getFirstPropertyValue("uid")).toBe("series-5e51e500-0000-4000-8000-000000000001@orbit");
    expect(series.getFirstPropertyValue("description")).toBe("Repeats: Weekly on Mon, Thu.");
    const dtstart = series.getFirstProperty("dtstart")!;
    expect(dtstart.getParameter("tzid")).toBe("Europe/Berlin");
    expect((dtstart.getFirstValue() as ICAL.Time).toString()).toBe("2027-01-07T09:00:00");
    // 09:00 in Berlin on both sides of the spring change (08:00Z in winter, 07:00Z in summer).
    const dates = icalDates(series, 30);
    expect(dates).toEqual(engineAfter(r, r.startsAt, 30));
    expect(dates).toContain("2027-03-25T08:00:00.000Z");
    expect(dates).toContain("2027-03-29T07:00:00.000Z");
  });

  test("an occurrence moved off the rule's dates: the recurring item still starts on the rule's next date", () => {
    const r = rule({ pattern: "weekly", interval: 2 }); // every other Monday from Jan 4
    const moved = occurrence(r, { dueAt: new Date("2027-01-06T15:00:00Z") }); // a Wednesday
    const { events } = parse(render([moved]));
    expect((events[0]!.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate()).toEqual(moved.dueAt);
    expect(icalDates(events[1]!, 6)).toEqual(engineAfter(r, moved.dueAt, 6));
    expect(icalDates(events[1]!, 1)).toEqual(["2027-01-18T08:00:00.000Z"]);
  });

  test("an overdue occurrence: the recurring item starts at the first date after now (missed dates are skipped)", () => {
    const r = rule({ pattern: "daily", startsAt: new Date("2026-11-01T08:00:00Z") });
    const { events } = parse(render([occurrence(r)]));
    expect(icalDates(events[1]!, 1)).toEqual(["2026-12-06T08:00:00.000Z"]);
  });

  test("a series counted from completion has no RRULE: the occurrence alone, saying how it repeats", () => {
    const r = rule({ pattern: "weekly", interval: 2, anchor: "completion" });
    for (const flavour of ["events", "todos"] as const) {
      const text = render([occurrence(r)], flavour);
      expect(text).not.toMatch(/RRULE/);
      const { events, todos } = parse(text);
      const [only] = [...events, ...todos];
      expect(events.length + todos.length).toBe(1);
      expect(only!.getFirstPropertyValue("description")).toBe(
        "Repeats: Every 2 weeks, from completion: the next date is set when this one is done.",
      );
    }
  });

  test("no recurring item for an ended series, an older occurrence, a completed one, or in the todos flavour", () => {
    const r = rule({ pattern: "daily" });
    const base = occurrence(r).series!;
    const variants = [
      occurrence(r, { series: { ...base, active: false } }),
      occurrence(r, { series: { ...base, occurrencesCreated: 3, occurrenceIndex: 2 } }),
      occurrence(r, { status: "completed", completedAt: r.startsAt }),
    ];
    for (const t of variants) expect(render([t])).not.toMatch(/RRULE/);
    expect(render([occurrence(r)], "todos")).not.toMatch(/RRULE/);
    expect(render([occurrence(r)])).toMatch(/RRULE:FREQ=DAILY/);
  });

  test("an hourly series is elapsed time: its recurring item is in UTC, 8 hours apart across DST", () => {
    const r = rule({ pattern: "hourly", interval: 8, startsAt: new Date("2027-03-27T20:00:00Z") });
    const { events, root } = parse(render([occurrence(r)]));
    expect(events[1]!.getFirstProperty("dtstart")!.getParameter("tzid")).toBeUndefined();
    expect(root.getAllSubcomponents("vtimezone")).toHaveLength(0);
    expect(icalDates(events[1]!, 6)).toEqual(engineAfter(r, r.startsAt, 6));
  });
});

describe("property: the recurring item's dates are the engine's, as ical.js expands them", () => {
  const ruleArb = scheduleRuleArb({
    zones: [...RULE_ZONES, "Australia/Lord_Howe"],
    minYear: 2027,
    bounds: true,
  });
  const COUNT = 8;

  /** The clamped 29th and 30th need BYSETPOS without BYDAY, which ical.js does not implement. */
  const needsSetPos = (r: RecurrenceRule) => /BYSETPOS/.test(rruleOf(r));

  test("random rules in zones with DST, at month ends and leap days, bounded by count or end date", () => {
    fc.assert(
      fc.property(ruleArb, (r) => {
        fc.pre(!needsSetPos(r));
        const now = new Date(r.startsAt.getTime() - DAY);
        const { events, root } = parse(render([occurrence(r)], "events", now));
        const expected = engineAfter(r, r.startsAt, COUNT, now);
        if (expected.length === 0) {
          expect(events).toHaveLength(1);
          return;
        }
        // ical.js reads the zone only from our VTIMEZONE (it has no zone data of its own).
        if (r.pattern !== "hourly" && r.timeZone !== "UTC")
          expect(root.getFirstSubcomponent("vtimezone")!.getFirstPropertyValue("tzid")).toBe(r.timeZone);
        expectSameDates(events[1]!, r, expected, COUNT);
      }),
      { numRuns: 300 },
    );
  });

  test("the clamped 29th and 30th (BYSETPOS), through rrule", () => {
    fc.assert(
      fc.property(
        ruleArb.map((r) => ({
          ...r,
          pattern: "monthly" as const,
          monthDay: 29 + (r.startsAt.getTime() % 2),
          lastDayOfMonth: false,
          monthWeek: null,
          weekdays: [],
        })),
        (r) => {
          const now = new Date(r.startsAt.getTime() - DAY);
          const text = render([occurrence(r)], "events", now);
          const expected = engineAfter(r, r.startsAt, COUNT, now);
          const unfolded = text.replace(/\r\n /g, "").split("\r\n");
          // The series' RRULE comes last (VTIMEZONE observances have theirs before it).
          // UNTIL is a real UTC instant, which the floating reading below cannot compare: the
          // count of dates is the engine's, their days rrule's.
          const rruleLine = unfolded.findLast((line) => line.startsWith("RRULE:"))?.replace(/;UNTIL=\w+/, "");
          if (expected.length === 0) {
            expect(rruleLine).toBeUndefined();
            return;
          }
          const dtstart = unfolded.find((line) => line.startsWith("DTSTART;TZID="));
          // rrule reads TZID through the host's zone (see recurrence-rrule.test.ts), so the rule is
          // expanded as floating wall times and compared with the engine's in the series' zone.
          const wallStart = (dtstart ?? unfolded.findLast((l) => l.startsWith("DTSTART:"))!).split(":")[1]!;
          const oracle = rrulestr(`DTSTART:${wallStart.replace(/Z$/, "")}Z\n${rruleLine}`, {
            forceset: false,
          });
          const walls = oracle
            .all((_, i) => i < expected.length)
            .map((d) => DateTime.fromJSDate(d, { zone: "UTC" }).toFormat("yyyy-MM-dd"));
          expect(walls).toEqual(
            expected.map((iso) => DateTime.fromISO(iso, { zone: r.timeZone }).toFormat("yyyy-MM-dd")),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("VTIMEZONE", () => {
  const parsed = new Map<string, ICAL.Timezone>();
  const timezoneOf = (zone: string, fromYear: number) => {
    const key = `${zone}@${fromYear}`;
    if (!parsed.has(key))
      parsed.set(key, new ICAL.Timezone(ICAL.Component.fromString(vtimezone(zone, fromYear).join("\r\n"))));
    return parsed.get(key)!;
  };
  const ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Africa/Casablanca",
    "Asia/Tehran",
    "Pacific/Chatham",
  ];

  test("every local time over 80 years maps to the instant Luxon (the engine's zone data) gives", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: 2026, max: 2030 }),
        fc.integer({ min: 0, max: 80 * 365 }),
        fc.integer({ min: 0, max: 24 * 4 - 1 }),
        (zone, fromYear, dayOffset, quarter) => {
          const tz = timezoneOf(zone, fromYear);
          const local = DateTime.fromObject({ year: fromYear, month: 1, day: 1 }, { zone })
            .plus({ days: dayOffset })
            .set({ hour: Math.floor(quarter / 4), minute: (quarter % 4) * 15 });
          // Only wall times that exist once (none within 3 hours of a change): gaps and repeated
          // hours are §3.3.5's, and the recurrence tests above cover them.
          const ms = local.toMillis();
          const offsetAt = (at: number) => DateTime.fromMillis(at, { zone }).offset;
          fc.pre(
            offsetAt(ms - 3 * 3600_000) === local.offset && offsetAt(ms + 3 * 3600_000) === local.offset,
          );
          const time = new ICAL.Time(
            {
              year: local.year,
              month: local.month,
              day: local.day,
              hour: local.hour,
              minute: local.minute,
              second: 0,
              isDate: false,
            },
            tz,
          );
          expect(time.toJSDate().getTime(), `${zone} ${local.toISO()}`).toBe(local.toMillis());
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("a zone with a regular rule ends in two yearly observances; one without DST is one observance", () => {
    const berlin = vtimezone("Europe/Berlin", 2027).join("\n");
    expect(berlin).toMatch(/RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU/);
    expect(berlin).toMatch(/RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU/);
    const newYork = vtimezone("America/New_York", 2027).join("\n");
    expect(newYork).toMatch(/RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU/);
    expect(newYork).toMatch(/RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU/);
    const kolkata = vtimezone("Asia/Kolkata", 2027);
    expect(kolkata.filter((line) => line.startsWith("BEGIN:"))).toEqual([
      "BEGIN:VTIMEZONE",
      "BEGIN:STANDARD",
    ]);
    expect(kolkata).toContain("TZOFFSETTO:+0530");
  });
});
