// Our recurrence engine against an independent RFC 5545 implementation: rrule (jkbrzt/rrule 2.8.1,
// a dev dependency used only here as the oracle). Thousands of random rules in zones with and
// without DST, starting on month ends, leap days and DST days, must give the same series.
//
// How the comparison avoids rrule's known weak spots (see recurrence.ts's header): rrule resolves
// TZID rules through the host's zone, so calendar rules are given to it as floating wall-clock
// times (a wall time written as UTC) and our instants are compared as wall times in the series'
// zone; hourly rules are elapsed time, so they are given and compared as instants. Our "31st" clamps
// to short months where RFC 5545 skips them: the RRULE for it says so explicitly
// (BYMONTHDAY=28,29,30,31;BYSETPOS=-1 is "the 31st, or the month's last day before it").
import fc from "fast-check";
import { DateTime } from "luxon";
import rrulePackage from "rrule";
import { expect, test } from "vitest";
import { scheduleRuleArb } from "./recurrence-arbitrary.ts";
import { nextOccurrence, previewOccurrences, type RecurrenceRule } from "./recurrence.ts";

const { RRule } = rrulePackage;
type Options = ConstructorParameters<typeof RRule>[0];

const COUNT = 8;
const RRULE_DAYS = [RRule.MO, RRule.TU, RRule.WE, RRule.TH, RRule.FR, RRule.SA, RRule.SU];

/** "The d-th, clamped to the month's length", as RFC 5545 can say it. */
const clampedDay = (day: number): Partial<Options> =>
  day <= 28
    ? { bymonthday: [day] }
    : { bymonthday: Array.from({ length: day - 27 }, (_, i) => 28 + i), bysetpos: [-1] };

/** The rule as rrule options (dtstart aside). */
function toRRule(rule: RecurrenceRule, start: DateTime): Partial<Options> {
  const base = { interval: rule.interval, wkst: RRule.MO };
  switch (rule.pattern) {
    case "hourly":
      return { ...base, freq: RRule.HOURLY };
    case "daily":
      return { ...base, freq: RRule.DAILY };
    case "weekly": {
      const days = rule.weekdays.length > 0 ? rule.weekdays : [start.weekday];
      return { ...base, freq: RRule.WEEKLY, byweekday: days.map((d) => RRULE_DAYS[d - 1]!) };
    }
    case "monthly":
      if (rule.monthWeek !== undefined && rule.monthWeek !== null)
        return {
          ...base,
          freq: RRule.MONTHLY,
          byweekday: [RRULE_DAYS[rule.weekdays[0]! - 1]!.nth(rule.monthWeek)],
        };
      if (rule.lastDayOfMonth) return { ...base, freq: RRule.MONTHLY, bymonthday: [-1] };
      return { ...base, freq: RRule.MONTHLY, ...clampedDay(rule.monthDay ?? start.day) };
    case "yearly":
      return { ...base, freq: RRule.YEARLY, bymonth: [start.month], ...clampedDay(start.day) };
  }
}

const WALL = "yyyy-MM-dd'T'HH:mm";
/** A floating date (wall time written as UTC) as wall-clock text. */
const floating = (date: Date) => DateTime.fromJSDate(date, { zone: "UTC" }).toFormat(WALL);

/** Whether a wall time exists in `zone` (not in a spring-forward gap). */
const exists = (zone: string, wall: string) => DateTime.fromISO(wall, { zone }).toFormat(WALL) === wall;

const ruleArb = scheduleRuleArb();

test("property: every rule's series is the one rrule computes (RFC 5545), in zones with DST, at month ends and leap days", () => {
  fc.assert(
    fc.property(ruleArb, (rule) => {
      const ours = previewOccurrences(rule, COUNT);
      // The first occurrence is the task's own due date, whether or not the rule would pick it (as
      // RFC 5545's DTSTART is, when it is counted); the rest are the rule's slots after it.
      expect(ours[0]!.getTime()).toBe(rule.startsAt.getTime());
      const start = DateTime.fromJSDate(rule.startsAt, { zone: rule.timeZone });
      const options = toRRule(rule, start);
      if (rule.pattern === "hourly") {
        const oracle = new RRule({ ...options, dtstart: rule.startsAt, count: COUNT });
        expect(ours.map((d) => d.toISOString())).toEqual(oracle.all().map((d) => d.toISOString()));
        return;
      }
      const wallStart = DateTime.utc(start.year, start.month, start.day, start.hour, start.minute).toJSDate();
      const oracle = new RRule({ ...options, dtstart: wallStart, count: COUNT + 1 })
        .all()
        .filter((d) => d.getTime() > wallStart.getTime())
        .slice(0, COUNT - 1)
        .map(floating);
      const ourWalls = ours
        .slice(1)
        .map((d) => DateTime.fromJSDate(d, { zone: rule.timeZone }).toFormat(WALL));
      expect(ourWalls.length).toBe(oracle.length);
      oracle.forEach((wall, i) => {
        // A wall time a spring-forward gap swallowed is moved forward by the gap (RFC 5545 §3.3.5):
        // same day, later time; anything else must be the oracle's wall time exactly.
        if (exists(rule.timeZone, wall)) expect(ourWalls[i], JSON.stringify({ rule, i })).toBe(wall);
        else expect(ourWalls[i]!.slice(0, 10), JSON.stringify({ rule, i })).toBe(wall.slice(0, 10));
      });
    }),
    { numRuns: 2000 },
  );
});

test("given a Feb 29 start, a yearly series is Feb 28 in common years and the 29th again in leap years", () => {
  const rule: RecurrenceRule = {
    pattern: "yearly",
    interval: 1,
    weekdays: [],
    monthDay: null,
    lastDayOfMonth: false,
    anchor: "schedule",
    startsAt: new Date("2028-02-29T09:00:00Z"),
    timeZone: "UTC",
    endsAt: null,
    maxCount: null,
  };
  expect(previewOccurrences(rule, 5).map((d) => d.toISOString().slice(0, 10))).toEqual([
    "2028-02-29",
    "2029-02-28",
    "2030-02-28",
    "2031-02-28",
    "2032-02-29",
  ]);
});

test("given 'the 3rd Tuesday' and 'the last Friday', the monthly series lands on those days", () => {
  const base = {
    interval: 1,
    monthDay: null,
    lastDayOfMonth: false,
    anchor: "schedule" as const,
    timeZone: "Europe/Berlin",
    endsAt: null,
    maxCount: null,
  };
  const third = previewOccurrences(
    { ...base, pattern: "monthly", weekdays: [2], monthWeek: 3, startsAt: new Date("2026-12-15T08:00:00Z") },
    3,
  );
  expect(third.map((d) => d.toISOString().slice(0, 10))).toEqual(["2026-12-15", "2027-01-19", "2027-02-16"]);
  const last = previewOccurrences(
    { ...base, pattern: "monthly", weekdays: [5], monthWeek: -1, startsAt: new Date("2026-12-25T08:00:00Z") },
    3,
  );
  expect(last.map((d) => d.toISOString().slice(0, 10))).toEqual(["2026-12-25", "2027-01-29", "2027-02-26"]);
});

test("given a chore every 8 hours anchored on completion, the next is 8 hours after it was done, never before the one just done", () => {
  const rule: RecurrenceRule = {
    pattern: "hourly",
    interval: 8,
    weekdays: [],
    monthDay: null,
    lastDayOfMonth: false,
    anchor: "completion",
    startsAt: new Date("2026-12-05T06:00:00Z"),
    timeZone: "Europe/Berlin",
    endsAt: null,
    maxCount: null,
  };
  const previousDue = new Date("2026-12-05T14:00:00Z");
  const at = (completedAt: string) =>
    nextOccurrence(rule, {
      previousDue,
      completedAt: new Date(completedAt),
      now: new Date(completedAt),
      occurrencesSoFar: 2,
    })?.toISOString();
  expect(at("2026-12-05T15:30:00Z")).toBe("2026-12-05T23:30:00.000Z");
  // Done long before it was due: 8-hour steps from then, until after the occurrence just done.
  expect(at("2026-12-05T01:00:00Z")).toBe("2026-12-05T17:00:00.000Z");
});

test("given a yearly series anchored on completion, the next is the series' date after the completion", () => {
  const rule: RecurrenceRule = {
    pattern: "yearly",
    interval: 1,
    weekdays: [],
    monthDay: null,
    lastDayOfMonth: false,
    anchor: "completion",
    startsAt: new Date("2026-03-05T09:00:00Z"),
    timeZone: "UTC",
    endsAt: null,
    maxCount: null,
  };
  const next = (completedAt: string, interval = 1) =>
    nextOccurrence(
      { ...rule, interval },
      {
        previousDue: rule.startsAt,
        completedAt: new Date(completedAt),
        now: new Date(completedAt),
        occurrencesSoFar: 1,
      },
    )?.toISOString();
  expect(next("2026-03-06T10:00:00Z")).toBe("2027-03-05T09:00:00.000Z");
  // Done late, in January: this year's March 5 is still ahead.
  expect(next("2027-01-10T10:00:00Z")).toBe("2027-03-05T09:00:00.000Z");
  expect(next("2026-03-06T10:00:00Z", 2)).toBe("2028-03-05T09:00:00.000Z");
});
