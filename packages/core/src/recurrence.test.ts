import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { DateTime, IANAZone } from "luxon";
import { describe, expect, it, test } from "vitest";
import {
  carriedReminders,
  describeRecurrence,
  describeWireRecurrence,
  movesSeriesOn,
  nextOccurrence,
  previewOccurrences,
  type RecurrenceRule,
} from "./recurrence.ts";

type Spec = Partial<Omit<RecurrenceRule, "startsAt" | "endsAt">> & { startsAt: string; endsAt?: string };

function series(spec: Spec): RecurrenceRule {
  return {
    pattern: "daily",
    interval: 1,
    weekdays: [],
    monthDay: null,
    lastDayOfMonth: false,
    anchor: "schedule",
    timeZone: "UTC",
    maxCount: null,
    ...spec,
    startsAt: new Date(spec.startsAt),
    endsAt: spec.endsAt === undefined ? null : new Date(spec.endsAt),
  };
}

function next(
  rule: RecurrenceRule,
  at: { previousDue: string; now?: string; completedAt?: string | null; soFar?: number },
): string | null {
  return (
    nextOccurrence(rule, {
      previousDue: new Date(at.previousDue),
      completedAt: at.completedAt ? new Date(at.completedAt) : null,
      now: new Date(at.now ?? at.previousDue),
      occurrencesSoFar: at.soFar ?? 1,
    })?.toISOString() ?? null
  );
}

function preview(rule: RecurrenceRule, count: number, from?: string): string[] {
  return previewOccurrences(rule, count, from === undefined ? undefined : new Date(from)).map((d) =>
    d.toISOString(),
  );
}

function local(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone }).toFormat("yyyy-MM-dd HH:mm ZZ");
}

// ───── Patterns and intervals ─────

test("daily every 3 days steps three local days at the same time", () => {
  const rule = series({ interval: 3, startsAt: "2027-01-10T08:00:00Z", timeZone: "Europe/Berlin" });
  expect(next(rule, { previousDue: "2027-01-10T08:00:00Z", now: "2027-01-10T09:00:00Z" })).toBe(
    "2027-01-13T08:00:00.000Z",
  );
  expect(preview(rule, 4)).toEqual([
    "2027-01-10T08:00:00.000Z",
    "2027-01-13T08:00:00.000Z",
    "2027-01-16T08:00:00.000Z",
    "2027-01-19T08:00:00.000Z",
  ]);
});

test("weekly every 2 weeks without weekdays repeats on startsAt's weekday", () => {
  // 2027-01-04 is a Monday.
  const rule = series({
    pattern: "weekly",
    interval: 2,
    startsAt: "2027-01-04T08:00:00Z",
    timeZone: "Europe/Berlin",
  });
  expect(preview(rule, 3)).toEqual([
    "2027-01-04T08:00:00.000Z",
    "2027-01-18T08:00:00.000Z",
    "2027-02-01T08:00:00.000Z",
  ]);
});

test("every 2 weeks on Mon, Wed uses both days of every other week", () => {
  const rule = series({
    pattern: "weekly",
    interval: 2,
    weekdays: [3, 1],
    startsAt: "2027-01-04T08:00:00Z",
    timeZone: "Europe/Berlin",
  });
  expect(preview(rule, 5)).toEqual([
    "2027-01-04T08:00:00.000Z",
    "2027-01-06T08:00:00.000Z",
    "2027-01-18T08:00:00.000Z",
    "2027-01-20T08:00:00.000Z",
    "2027-02-01T08:00:00.000Z",
  ]);
});

test("weekly on Mon/Wed/Fri goes to the next chosen day and wraps into the next week", () => {
  const rule = series({ pattern: "weekly", weekdays: [1, 3, 5], startsAt: "2027-01-04T09:00:00Z" });
  expect(next(rule, { previousDue: "2027-01-04T09:00:00Z" })).toBe("2027-01-06T09:00:00.000Z");
  expect(next(rule, { previousDue: "2027-01-06T09:00:00Z" })).toBe("2027-01-08T09:00:00.000Z");
  expect(next(rule, { previousDue: "2027-01-08T09:00:00Z" })).toBe("2027-01-11T09:00:00.000Z");
});

test("a weekly series starting on an unchosen weekday keeps startsAt as its first occurrence", () => {
  // Tuesday 2027-01-05, on Mon/Wed/Fri.
  const rule = series({ pattern: "weekly", weekdays: [1, 3, 5], startsAt: "2027-01-05T09:00:00Z" });
  expect(preview(rule, 3)).toEqual([
    "2027-01-05T09:00:00.000Z",
    "2027-01-06T09:00:00.000Z",
    "2027-01-08T09:00:00.000Z",
  ]);
});

test("monthly every 2 months keeps 09:00 Berlin time into summer time", () => {
  const rule = series({
    pattern: "monthly",
    interval: 2,
    startsAt: "2027-01-15T08:00:00Z",
    timeZone: "Europe/Berlin",
  });
  expect(preview(rule, 4)).toEqual([
    "2027-01-15T08:00:00.000Z",
    "2027-03-15T08:00:00.000Z",
    "2027-05-15T07:00:00.000Z",
    "2027-07-15T07:00:00.000Z",
  ]);
});

// ───── Month ends ─────

test("monthly on the 31st clamps to Feb 29 in a leap year and returns to the 31st", () => {
  const rule = series({ pattern: "monthly", monthDay: 31, startsAt: "2028-01-31T09:00:00Z" });
  expect(next(rule, { previousDue: "2028-01-31T09:00:00Z" })).toBe("2028-02-29T09:00:00.000Z");
  expect(next(rule, { previousDue: "2028-02-29T09:00:00Z" })).toBe("2028-03-31T09:00:00.000Z");
  expect(next(rule, { previousDue: "2028-03-31T09:00:00Z" })).toBe("2028-04-30T09:00:00.000Z");
});

test("monthly from Jan 31 without a month day clamps to Feb 28 in 2027 and returns to Mar 31", () => {
  const rule = series({ pattern: "monthly", startsAt: "2027-01-31T09:00:00Z" });
  expect(preview(rule, 3)).toEqual([
    "2027-01-31T09:00:00.000Z",
    "2027-02-28T09:00:00.000Z",
    "2027-03-31T09:00:00.000Z",
  ]);
});

test("a series started on Feb 29 stays on the 29th, and yearly lands on Feb 28 until the next leap year", () => {
  const monthly = series({ pattern: "monthly", startsAt: "2028-02-29T09:00:00Z" });
  expect(preview(monthly, 3)).toEqual([
    "2028-02-29T09:00:00.000Z",
    "2028-03-29T09:00:00.000Z",
    "2028-04-29T09:00:00.000Z",
  ]);
  const yearly = series({ pattern: "monthly", interval: 12, startsAt: "2028-02-29T09:00:00Z" });
  expect(preview(yearly, 5)).toEqual([
    "2028-02-29T09:00:00.000Z",
    "2029-02-28T09:00:00.000Z",
    "2030-02-28T09:00:00.000Z",
    "2031-02-28T09:00:00.000Z",
    "2032-02-29T09:00:00.000Z",
  ]);
});

test("monthly from Mar 31 goes to Apr 30 and back to May 31", () => {
  const rule = series({ pattern: "monthly", startsAt: "2027-03-31T09:00:00Z" });
  expect(next(rule, { previousDue: "2027-03-31T09:00:00Z" })).toBe("2027-04-30T09:00:00.000Z");
  expect(next(rule, { previousDue: "2027-04-30T09:00:00Z" })).toBe("2027-05-31T09:00:00.000Z");
});

test("monthly on the last day follows each month's length, leap February included", () => {
  const rule = series({ pattern: "monthly", lastDayOfMonth: true, startsAt: "2027-01-15T09:00:00Z" });
  expect(preview(rule, 4)).toEqual([
    "2027-01-15T09:00:00.000Z",
    "2027-01-31T09:00:00.000Z",
    "2027-02-28T09:00:00.000Z",
    "2027-03-31T09:00:00.000Z",
  ]);
  const leap = series({ pattern: "monthly", lastDayOfMonth: true, startsAt: "2028-01-31T09:00:00Z" });
  expect(next(leap, { previousDue: "2028-01-31T09:00:00Z" })).toBe("2028-02-29T09:00:00.000Z");
});

test("monthly on a day before startsAt's day begins in the next cycle month", () => {
  const rule = series({ pattern: "monthly", interval: 2, monthDay: 5, startsAt: "2027-01-20T09:00:00Z" });
  expect(preview(rule, 3)).toEqual([
    "2027-01-20T09:00:00.000Z",
    "2027-03-05T09:00:00.000Z",
    "2027-05-05T09:00:00.000Z",
  ]);
});

// ───── Daylight saving time ─────

test("09:00 New York stays 09:00 across spring forward on 2027-03-14 while the offset changes", () => {
  const zone = "America/New_York";
  const rule = series({ startsAt: "2027-03-13T14:00:00Z", timeZone: zone });
  const after = next(rule, { previousDue: "2027-03-13T14:00:00Z" });
  expect(after).toBe("2027-03-14T13:00:00.000Z");
  expect(local("2027-03-13T14:00:00Z", zone)).toBe("2027-03-13 09:00 -05:00");
  expect(local(after!, zone)).toBe("2027-03-14 09:00 -04:00");
});

test("09:00 Berlin stays 09:00 across spring forward on 2027-03-28 while the offset changes", () => {
  const zone = "Europe/Berlin";
  const rule = series({ startsAt: "2027-03-27T08:00:00Z", timeZone: zone });
  const after = next(rule, { previousDue: "2027-03-27T08:00:00Z" });
  expect(after).toBe("2027-03-28T07:00:00.000Z");
  expect(local(after!, zone)).toBe("2027-03-28 09:00 +02:00");
});

test("a 02:30 daily series moves to 03:30 on the spring-forward day and returns to 02:30", () => {
  const zone = "America/New_York";
  const rule = series({ startsAt: "2027-03-13T07:30:00Z", timeZone: zone });
  const days = preview(rule, 3);
  expect(days).toEqual(["2027-03-13T07:30:00.000Z", "2027-03-14T07:30:00.000Z", "2027-03-15T06:30:00.000Z"]);
  expect(days.map((iso) => local(iso, zone))).toEqual([
    "2027-03-13 02:30 -05:00",
    "2027-03-14 03:30 -04:00",
    "2027-03-15 02:30 -04:00",
  ]);
});

test("on fall back a repeated 01:30 New York takes the earlier instant (EDT)", () => {
  const zone = "America/New_York";
  const rule = series({ startsAt: "2027-11-06T05:30:00Z", timeZone: zone });
  const days = preview(rule, 3);
  expect(days).toEqual(["2027-11-06T05:30:00.000Z", "2027-11-07T05:30:00.000Z", "2027-11-08T06:30:00.000Z"]);
  expect(days.map((iso) => local(iso, zone))).toEqual([
    "2027-11-06 01:30 -04:00",
    "2027-11-07 01:30 -04:00",
    "2027-11-08 01:30 -05:00",
  ]);
});

test("on fall back a repeated 02:30 Berlin takes the earlier instant (CEST)", () => {
  const rule = series({ startsAt: "2027-10-30T00:30:00Z", timeZone: "Europe/Berlin" });
  expect(preview(rule, 3)).toEqual([
    "2027-10-30T00:30:00.000Z",
    "2027-10-31T00:30:00.000Z",
    "2027-11-01T01:30:00.000Z",
  ]);
});

test("09:00 New York stays 09:00 across fall back", () => {
  const rule = series({ startsAt: "2027-11-06T13:00:00Z", timeZone: "America/New_York" });
  expect(next(rule, { previousDue: "2027-11-06T13:00:00Z" })).toBe("2027-11-07T14:00:00.000Z");
});

// ───── Anchor "schedule" ─────

test("schedule anchor skips missed slots: two weeks overdue gives the one next future slot", () => {
  const rule = series({ pattern: "weekly", startsAt: "2027-01-04T09:00:00Z" });
  const after = next(rule, { previousDue: "2027-01-04T09:00:00Z", now: "2027-01-20T12:00:00Z" });
  expect(after).toBe("2027-01-25T09:00:00.000Z");
  expect(next(rule, { previousDue: after!, now: "2027-01-20T12:00:00Z" })).toBe("2027-02-01T09:00:00.000Z");
});

test("schedule anchor: a slot exactly at now counts as past", () => {
  const rule = series({ pattern: "weekly", startsAt: "2027-01-04T09:00:00Z" });
  expect(next(rule, { previousDue: "2027-01-04T09:00:00Z", now: "2027-01-18T09:00:00Z" })).toBe(
    "2027-01-25T09:00:00.000Z",
  );
});

test("schedule anchor: completing early still gives the next slot after the one completed", () => {
  const rule = series({ pattern: "weekly", startsAt: "2027-01-04T09:00:00Z" });
  expect(next(rule, { previousDue: "2027-01-11T09:00:00Z", now: "2027-01-05T09:00:00Z" })).toBe(
    "2027-01-18T09:00:00.000Z",
  );
});

test("schedule anchor decades after the start answers with the right slot", () => {
  const rule = series({ interval: 3, startsAt: "2000-01-01T09:00:00Z" });
  // 2095-06-01 is day 34,850 after 2000-01-01 (not a multiple of 3); day 34,851 is June 2.
  expect(next(rule, { previousDue: "2000-01-01T09:00:00Z", now: "2095-06-01T08:00:00Z" })).toBe(
    "2095-06-02T09:00:00.000Z",
  );
});

// ───── Anchor "completion" ─────

test("completion anchor daily: completion's local date plus interval, at the series' time", () => {
  const rule = series({
    interval: 2,
    anchor: "completion",
    startsAt: "2027-01-08T08:00:00Z",
    timeZone: "Europe/Berlin",
  });
  // Completed 20:00 Berlin on Jan 12, two days late.
  expect(next(rule, { previousDue: "2027-01-10T08:00:00Z", completedAt: "2027-01-12T19:00:00Z" })).toBe(
    "2027-01-14T08:00:00.000Z",
  );
});

test("completion anchor: completing a day early never repeats the due instant just completed", () => {
  const rule = series({ anchor: "completion", startsAt: "2027-01-08T08:00:00Z", timeZone: "Europe/Berlin" });
  expect(next(rule, { previousDue: "2027-01-10T08:00:00Z", completedAt: "2027-01-09T17:00:00Z" })).toBe(
    "2027-01-11T08:00:00.000Z",
  );
});

test("completion anchor weekly without weekdays: the weekday follows the completion", () => {
  const spec: Spec = { pattern: "weekly", anchor: "completion", startsAt: "2027-01-04T09:00:00Z" };
  const weekly = series(spec);
  // Due Monday Jan 4, completed Thursday Jan 7.
  expect(next(weekly, { previousDue: "2027-01-04T09:00:00Z", completedAt: "2027-01-07T15:00:00Z" })).toBe(
    "2027-01-14T09:00:00.000Z",
  );
  const fortnightly = series({ ...spec, interval: 2 });
  expect(
    next(fortnightly, { previousDue: "2027-01-04T09:00:00Z", completedAt: "2027-01-07T15:00:00Z" }),
  ).toBe("2027-01-21T09:00:00.000Z");
});

test("completion anchor weekly on Mon/Fri every 2 weeks: first chosen day after completion + 1 week", () => {
  const rule = series({
    pattern: "weekly",
    interval: 2,
    weekdays: [1, 5],
    anchor: "completion",
    startsAt: "2027-01-04T09:00:00Z",
  });
  // Completed Wed Jan 6 → a week later is Wed Jan 13 → next Mon/Fri is Fri Jan 15.
  expect(next(rule, { previousDue: "2027-01-04T09:00:00Z", completedAt: "2027-01-06T15:00:00Z" })).toBe(
    "2027-01-15T09:00:00.000Z",
  );
  // Completed Sat Jan 9 → Sat Jan 16 → Mon Jan 18.
  expect(next(rule, { previousDue: "2027-01-08T09:00:00Z", completedAt: "2027-01-09T10:00:00Z" })).toBe(
    "2027-01-18T09:00:00.000Z",
  );
});

test("completion anchor weekly on Mon/Wed/Fri: the same day's slot counts when completed before it", () => {
  const rule = series({
    pattern: "weekly",
    weekdays: [1, 3, 5],
    anchor: "completion",
    startsAt: "2027-01-04T09:00:00Z",
  });
  expect(next(rule, { previousDue: "2027-01-04T09:00:00Z", completedAt: "2027-01-06T08:00:00Z" })).toBe(
    "2027-01-06T09:00:00.000Z",
  );
  expect(next(rule, { previousDue: "2027-01-04T09:00:00Z", completedAt: "2027-01-06T10:00:00Z" })).toBe(
    "2027-01-08T09:00:00.000Z",
  );
});

test("completion anchor weekly on a spring-forward day: a slot the gap pushed later counts when after C", () => {
  // New York, Wed/Sun at 02:45; 2026-03-08 (a Sunday) springs forward at 02:00, so its 02:45 is
  // 03:45 EDT (07:45Z). Completed at 03:30 EDT that morning: the Sunday slot is still ahead.
  const weekly: Spec = {
    pattern: "weekly",
    weekdays: [3, 7],
    anchor: "completion",
    timeZone: "America/New_York",
    startsAt: "2026-03-07T07:45:00Z",
  };
  const rule = series(weekly);
  expect(next(rule, { previousDue: "2026-03-07T07:45:00Z", completedAt: "2026-03-08T07:30:00Z" })).toBe(
    "2026-03-08T07:45:00.000Z",
  );
  // Completed after the shifted slot (03:50 EDT): Wednesday's 02:45 EDT.
  expect(next(rule, { previousDue: "2026-03-07T07:45:00Z", completedAt: "2026-03-08T07:50:00Z" })).toBe(
    "2026-03-11T06:45:00.000Z",
  );
  // Every 2 weeks: Sunday 2026-03-01 03:30 EST moved a week is 03:30 EDT on the gap day, before its
  // 03:45 EDT slot.
  const fortnightly = series({ ...weekly, interval: 2, startsAt: "2026-02-28T07:45:00Z" });
  expect(
    next(fortnightly, { previousDue: "2026-02-28T07:45:00Z", completedAt: "2026-03-01T08:30:00Z" }),
  ).toBe("2026-03-08T07:45:00.000Z");
});

test("completion anchor monthly: completion month plus interval on the series' day", () => {
  const rule = series({
    pattern: "monthly",
    monthDay: 15,
    anchor: "completion",
    startsAt: "2027-01-15T09:00:00Z",
  });
  expect(next(rule, { previousDue: "2027-01-15T09:00:00Z", completedAt: "2027-02-20T10:00:00Z" })).toBe(
    "2027-03-15T09:00:00.000Z",
  );
  const endOfMonth = series({ pattern: "monthly", anchor: "completion", startsAt: "2027-01-31T09:00:00Z" });
  expect(next(endOfMonth, { previousDue: "2027-01-31T09:00:00Z", completedAt: "2027-01-31T10:00:00Z" })).toBe(
    "2027-02-28T09:00:00.000Z",
  );
});

test("completion anchor with a skipped occurrence (no completedAt) restarts at now", () => {
  const rule = series({ anchor: "completion", startsAt: "2027-01-08T09:00:00Z" });
  expect(
    next(rule, { previousDue: "2027-01-10T09:00:00Z", completedAt: null, now: "2027-01-15T12:00:00Z" }),
  ).toBe("2027-01-16T09:00:00.000Z");
});

test("preview of a completion-anchored series assumes each occurrence is completed when due", () => {
  const rule = series({
    pattern: "weekly",
    interval: 2,
    weekdays: [1, 3],
    anchor: "completion",
    startsAt: "2027-01-04T09:00:00Z",
  });
  // Mon Jan 4 done → Mon Jan 11 09:00 → next Mon/Wed after it is Wed Jan 13; Wed Jan 13 done → Wed
  // Jan 20 09:00 → Mon Jan 25.
  expect(preview(rule, 3)).toEqual([
    "2027-01-04T09:00:00.000Z",
    "2027-01-13T09:00:00.000Z",
    "2027-01-25T09:00:00.000Z",
  ]);
});

// ───── Ends ─────

test("endsAt: a slot exactly at endsAt is due, the one after it ends the series", () => {
  const spec: Spec = { startsAt: "2027-01-10T09:00:00Z", endsAt: "2027-01-12T09:00:00Z" };
  const rule = series(spec);
  expect(next(rule, { previousDue: "2027-01-11T09:00:00Z" })).toBe("2027-01-12T09:00:00.000Z");
  expect(next(rule, { previousDue: "2027-01-12T09:00:00Z" })).toBeNull();
  const completion = series({ ...spec, anchor: "completion" });
  expect(
    next(completion, { previousDue: "2027-01-11T09:00:00Z", completedAt: "2027-01-12T10:00:00Z" }),
  ).toBeNull();
});

test("maxCount: the series ends once that many occurrences exist", () => {
  const rule = series({ startsAt: "2027-01-10T09:00:00Z", maxCount: 3 });
  expect(next(rule, { previousDue: "2027-01-11T09:00:00Z", soFar: 2 })).toBe("2027-01-12T09:00:00.000Z");
  expect(next(rule, { previousDue: "2027-01-12T09:00:00Z", soFar: 3 })).toBeNull();
  expect(preview(rule, 10)).toEqual([
    "2027-01-10T09:00:00.000Z",
    "2027-01-11T09:00:00.000Z",
    "2027-01-12T09:00:00.000Z",
  ]);
});

test("preview stops at endsAt", () => {
  const rule = series({
    pattern: "weekly",
    startsAt: "2027-01-04T09:00:00Z",
    endsAt: "2027-01-20T00:00:00Z",
  });
  expect(preview(rule, 10)).toEqual([
    "2027-01-04T09:00:00.000Z",
    "2027-01-11T09:00:00.000Z",
    "2027-01-18T09:00:00.000Z",
  ]);
});

// ───── Preview ─────

test("previewOccurrences gives 5 instants of a Mon/Wed/Fri series across Berlin's spring forward", () => {
  // Friday 2027-03-26 09:00 CET; from Sunday Mar 28 Berlin is on CEST.
  const rule = series({
    pattern: "weekly",
    weekdays: [1, 3, 5],
    startsAt: "2027-03-26T08:00:00Z",
    timeZone: "Europe/Berlin",
  });
  expect(preview(rule, 5)).toEqual([
    "2027-03-26T08:00:00.000Z",
    "2027-03-29T07:00:00.000Z",
    "2027-03-31T07:00:00.000Z",
    "2027-04-02T07:00:00.000Z",
    "2027-04-05T07:00:00.000Z",
  ]);
});

test("previewOccurrences from a date starts at the first slot at or after it", () => {
  const rule = series({ startsAt: "2027-01-10T09:00:00Z" });
  expect(preview(rule, 3, "2027-02-01T00:00:00Z")).toEqual([
    "2027-02-01T09:00:00.000Z",
    "2027-02-02T09:00:00.000Z",
    "2027-02-03T09:00:00.000Z",
  ]);
  expect(preview(rule, 1, "2027-02-01T09:00:00Z")).toEqual(["2027-02-01T09:00:00.000Z"]);
  const limited = series({ startsAt: "2027-01-10T09:00:00Z", maxCount: 25 });
  expect(preview(limited, 5, "2027-02-01T00:00:00Z")).toEqual([
    "2027-02-01T09:00:00.000Z",
    "2027-02-02T09:00:00.000Z",
    "2027-02-03T09:00:00.000Z",
  ]);
  expect(preview(rule, 0)).toEqual([]);
});

// ───── Text and validation ─────

test("describeRecurrence names pattern, interval, weekdays and month day", () => {
  const base = { interval: 1, weekdays: [], monthDay: null, lastDayOfMonth: false };
  expect(describeRecurrence({ ...base, pattern: "daily" })).toBe("Daily");
  expect(describeRecurrence({ ...base, pattern: "daily", interval: 3 })).toBe("Every 3 days");
  expect(describeRecurrence({ ...base, pattern: "weekly" })).toBe("Weekly");
  expect(describeRecurrence({ ...base, pattern: "weekly", weekdays: [5, 1, 3] })).toBe(
    "Weekly on Mon, Wed, Fri",
  );
  expect(describeRecurrence({ ...base, pattern: "weekly", interval: 2, weekdays: [3, 1] })).toBe(
    "Every 2 weeks on Mon, Wed",
  );
  expect(describeRecurrence({ ...base, pattern: "weekly", weekdays: [7] })).toBe("Weekly on Sun");
  expect(describeRecurrence({ ...base, pattern: "monthly" })).toBe("Monthly");
  expect(describeRecurrence({ ...base, pattern: "monthly", lastDayOfMonth: true })).toBe(
    "Monthly on the last day",
  );
  expect(describeRecurrence({ ...base, pattern: "monthly", interval: 2, monthDay: 31 })).toBe(
    "Every 2 months on the 31st",
  );
  expect(
    [1, 2, 3, 4, 11, 12, 13, 21, 22, 23].map((monthDay) =>
      describeRecurrence({ ...base, pattern: "monthly", monthDay }),
    ),
  ).toEqual([
    "Monthly on the 1st",
    "Monthly on the 2nd",
    "Monthly on the 3rd",
    "Monthly on the 4th",
    "Monthly on the 11th",
    "Monthly on the 12th",
    "Monthly on the 13th",
    "Monthly on the 21st",
    "Monthly on the 22nd",
    "Monthly on the 23rd",
  ]);
});

test("an unknown time zone or a zero interval is refused with a RangeError naming it", () => {
  const at = { previousDue: "2027-01-10T09:00:00Z" };
  expect(() => next(series({ startsAt: "2027-01-10T09:00:00Z", timeZone: "Mars/Olympus" }), at)).toThrow(
    /time zone "Mars\/Olympus"/,
  );
  expect(() => next(series({ startsAt: "2027-01-10T09:00:00Z", interval: 0 }), at)).toThrow(RangeError);
});

test("an Invalid Date as previousDue, completedAt, now, endsAt or a preview's start is a RangeError", () => {
  const invalid = new Date("not a date");
  const at = (over: Partial<Parameters<typeof nextOccurrence>[1]>) => ({
    previousDue: new Date("2027-01-10T09:00:00Z"),
    completedAt: null,
    now: new Date("2027-01-10T09:00:00Z"),
    occurrencesSoFar: 1,
    ...over,
  });
  for (const pattern of ["daily", "weekly", "monthly"] as const) {
    for (const anchor of ["schedule", "completion"] as const) {
      const rule = series({ pattern, anchor, startsAt: "2027-01-10T09:00:00Z" });
      expect(() => nextOccurrence(rule, at({ previousDue: invalid })), `${pattern} ${anchor}`).toThrow(
        /previousDue is not a valid date/,
      );
      expect(() => nextOccurrence(rule, at({ now: invalid })), `${pattern} ${anchor}`).toThrow(RangeError);
      expect(() => nextOccurrence(rule, at({ completedAt: invalid })), `${pattern} ${anchor}`).toThrow(
        /completedAt is not a valid date/,
      );
      expect(() => nextOccurrence({ ...rule, endsAt: invalid }, at({})), `${pattern} ${anchor}`).toThrow(
        /endsAt is not a valid date/,
      );
      expect(() => previewOccurrences(rule, 3, invalid), `${pattern} ${anchor}`).toThrow(RangeError);
    }
  }
});

test("a series at the end of the calendar ends (null), never an Invalid Date, and past year 9999 none is due", () => {
  // The last instant a Date holds (+275760-09-13): every later slot is beyond the calendar.
  const end = new Date(8.64e15).toISOString();
  for (const pattern of ["daily", "weekly", "monthly"] as const) {
    const rule = series({ pattern, startsAt: end });
    expect(next(rule, { previousDue: end }), pattern).toBeNull();
    expect(
      next({ ...rule, anchor: "completion" }, { previousDue: end, completedAt: end }),
      pattern,
    ).toBeNull();
  }
  // RFC 3339 ends with year 9999: a daily series due on its last day has no next occurrence.
  const last = series({ startsAt: "9999-12-30T09:00:00Z" });
  expect(next(last, { previousDue: "9999-12-30T09:00:00Z" })).toBe("9999-12-31T09:00:00.000Z");
  expect(next(last, { previousDue: "9999-12-31T09:00:00Z" })).toBeNull();
});

/**
 * Runs `nextOccurrence(rule, args)` in a worker thread and gives it `deadlineMs`: a search that does
 * not end would otherwise block this test process for good instead of failing the test.
 */
async function nextOccurrenceWithin(
  deadlineMs: number,
  rule: RecurrenceRule,
  args: Parameters<typeof nextOccurrence>[1],
): Promise<string> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    import("tsx/esm/api")
      .then(({ tsImport }) => tsImport(workerData.module, workerData.parent))
      .then(({ nextOccurrence }) => {
        const revive = (v) => (v === null ? null : new Date(v));
        const { rule, args } = workerData;
        let answer;
        try {
          const next = nextOccurrence(
            { ...rule, startsAt: revive(rule.startsAt), endsAt: revive(rule.endsAt) },
            { ...args, previousDue: revive(args.previousDue), completedAt: revive(args.completedAt), now: revive(args.now) },
          );
          answer = next === null ? "null" : Number.isNaN(next.getTime()) ? "Invalid Date" : next.toISOString();
        } catch (error) {
          answer = error.name + ": " + error.message;
        }
        parentPort.postMessage(answer);
      });
  `;
  const time = (d: Date | null) => (d === null ? null : d.getTime());
  const worker = new Worker(code, {
    eval: true,
    workerData: {
      module: fileURLToPath(new URL("./recurrence.ts", import.meta.url)),
      parent: import.meta.url,
      rule: { ...rule, startsAt: time(rule.startsAt), endsAt: time(rule.endsAt) },
      args: {
        ...args,
        previousDue: time(args.previousDue),
        completedAt: time(args.completedAt),
        now: time(args.now),
      },
    },
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => resolve(`still searching after ${deadlineMs} ms`), deadlineMs);
      worker.once("message", (answer: string) => {
        clearTimeout(timer);
        resolve(answer);
      });
      worker.once("error", reject);
    });
  } finally {
    await worker.terminate();
  }
}

test("pathological rules and dates terminate: every search of the engine is bounded", async () => {
  const end = new Date(8.64e15);
  const invalid = new Date("not a date");
  const cases: [string, RecurrenceRule, Parameters<typeof nextOccurrence>[1], string | RegExp][] = [
    [
      "monthly at the end of the calendar",
      series({ pattern: "monthly", startsAt: end.toISOString() }),
      { previousDue: end, completedAt: null, now: end, occurrencesSoFar: 1 },
      "null",
    ],
    [
      "monthly on the last day at the end of the calendar, completion anchor",
      series({ pattern: "monthly", lastDayOfMonth: true, anchor: "completion", startsAt: end.toISOString() }),
      { previousDue: end, completedAt: end, now: end, occurrencesSoFar: 1 },
      "null",
    ],
    [
      "weekly from an Invalid Date",
      series({ pattern: "weekly", weekdays: [1, 4], startsAt: "2026-01-05T09:00:00Z" }),
      { previousDue: invalid, completedAt: null, now: new Date("2026-03-01T00:00:00Z"), occurrencesSoFar: 1 },
      /^RangeError: .*previousDue/,
    ],
    [
      "monthly from an Invalid Date",
      series({ pattern: "monthly", monthDay: 31, startsAt: "2026-01-31T09:00:00Z" }),
      { previousDue: invalid, completedAt: null, now: new Date("2026-03-01T00:00:00Z"), occurrencesSoFar: 1 },
      /^RangeError: .*previousDue/,
    ],
  ];
  const answers = await Promise.all(cases.map(([, rule, args]) => nextOccurrenceWithin(20_000, rule, args)));
  cases.forEach(([what, , , expected], index) => expect(answers[index], what).toMatch(expected));
}, 60_000);

// ───── Properties ─────

// Zones with 1 h, 30 min and midnight transitions, southern-hemisphere DST, and none at all.
const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "Australia/Sydney",
  "Australia/Lord_Howe",
  "America/Santiago",
  "America/Havana",
  "Pacific/Chatham",
  "Asia/Kolkata",
] as const;

/** A local date-time in `zone`, from fields; times in a gap come out shifted forward by Luxon. */
const localInstant = (zone: string) =>
  fc
    .record({
      year: fc.integer({ min: 2024, max: 2030 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 23 })),
      minute: fc.constantFrom(0, 15, 30, 45),
    })
    .map((fields) => DateTime.fromObject(fields, { zone }).toJSDate());

const ruleArb = fc
  .record({
    zone: fc.constantFrom(...ZONES),
    pattern: fc.constantFrom("daily", "weekly", "monthly"),
    interval: fc.integer({ min: 1, max: 4 }),
    weekdays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { maxLength: 7 }),
    day: fc.oneof(
      fc.constant<number | "last" | null>(null),
      fc.constant<"last">("last"),
      fc.integer({ min: 1, max: 31 }),
    ),
  })
  .chain(({ zone, pattern, interval, weekdays, day }) =>
    localInstant(zone).map((startsAt): RecurrenceRule => ({
      pattern,
      interval,
      weekdays: pattern === "weekly" ? weekdays : [],
      monthDay: pattern === "monthly" && typeof day === "number" ? day : null,
      lastDayOfMonth: pattern === "monthly" && day === "last",
      anchor: "schedule",
      startsAt,
      timeZone: zone,
      endsAt: null,
      maxCount: null,
    })),
  );

const WALL = "yyyy-MM-dd HH:mm:ss.SSS";

/** `ms` is at startsAt's local time of day, or is the documented shift of a time in a gap. */
function expectSeriesTimeOfDay(rule: RecurrenceRule, ms: number) {
  const zone = rule.timeZone;
  const at = DateTime.fromMillis(ms, { zone });
  const start = DateTime.fromJSDate(rule.startsAt, { zone });
  const wanted = {
    hour: start.hour,
    minute: start.minute,
    second: start.second,
    millisecond: start.millisecond,
  };
  if (at.toFormat("HH:mm:ss.SSS") !== start.toFormat("HH:mm:ss.SSS")) {
    // A spring-forward gap day: that local time does not exist, and it moved forward by the gap.
    const asked = DateTime.fromObject({ year: at.year, month: at.month, day: at.day, ...wanted }, { zone });
    expect(asked.toFormat("HH:mm")).not.toBe(start.toFormat("HH:mm"));
    expect(asked.toMillis()).toBe(ms);
  }
  // Of two instants with the same wall time (fall back), the earlier.
  for (const minutes of [30, 60, 120])
    expect(DateTime.fromMillis(ms - minutes * 60_000, { zone }).toFormat(WALL)).not.toBe(at.toFormat(WALL));
}

/** Whether a local date is one of the rule's schedule days (startsAt itself aside). */
function onScheduleGrid(rule: RecurrenceRule, date: DateTime): boolean {
  const start = DateTime.fromJSDate(rule.startsAt, { zone: rule.timeZone });
  const utcDate = (d: DateTime) => DateTime.utc(d.year, d.month, d.day);
  const days = Math.round(utcDate(date).diff(utcDate(start), "days").days);
  if (days < 0) return false;
  switch (rule.pattern) {
    case "daily":
      return days % rule.interval === 0;
    case "weekly": {
      const weekdays = rule.weekdays.length > 0 ? rule.weekdays : [start.weekday];
      const weeks = Math.round(
        utcDate(date).startOf("week").diff(utcDate(start).startOf("week"), "weeks").weeks,
      );
      return weeks % rule.interval === 0 && weekdays.includes(date.weekday);
    }
    case "monthly": {
      const months = (date.year - start.year) * 12 + (date.month - start.month);
      const length = date.daysInMonth!;
      const day = rule.lastDayOfMonth ? length : Math.min(rule.monthDay ?? start.day, length);
      return months % rule.interval === 0 && date.day === day;
    }
    case "hourly":
    case "yearly":
      throw new Error(`ruleArb does not generate ${rule.pattern} rules: the RRULE oracle test covers them`);
  }
}

test("property: schedule anchor gives the next grid slot after previousDue and now, at the series' local time", () => {
  fc.assert(
    fc.property(
      ruleArb,
      fc.integer({ min: 0, max: 3 * 365 * 86_400_000 }),
      fc.integer({ min: -3 * 86_400_000, max: 90 * 86_400_000 }),
      (rule, sinceStart, nowOffset) => {
        const previousDue = new Date(rule.startsAt.getTime() + sinceStart);
        const now = new Date(previousDue.getTime() + nowOffset);
        const next = nextOccurrence(rule, { previousDue, completedAt: null, now, occurrencesSoFar: 1 });
        expect(next).not.toBeNull();
        const ms = next!.getTime();
        const bound = Math.max(previousDue.getTime(), now.getTime());
        expect(ms).toBeGreaterThan(bound);
        expectSeriesTimeOfDay(rule, ms);
        const zone = rule.timeZone;
        const date = DateTime.fromMillis(ms, { zone }).startOf("day");
        expect(onScheduleGrid(rule, date)).toBe(true);
        // No schedule day lies strictly between the bound's local date and the answer's.
        for (
          let day = DateTime.fromMillis(bound, { zone }).startOf("day").plus({ days: 1 });
          day < date;
          day = day.plus({ days: 1 })
        )
          expect(onScheduleGrid(rule, day)).toBe(false);
      },
    ),
    { numRuns: 300, seed: 20270314 },
  );
});

test("property: completion anchor answers after completion and previousDue, at the series' local time", () => {
  fc.assert(
    fc.property(
      ruleArb,
      fc.integer({ min: 0, max: 3 * 365 * 86_400_000 }),
      fc.integer({ min: -10 * 86_400_000, max: 40 * 86_400_000 }),
      (scheduled, sinceStart, completedOffset) => {
        const rule: RecurrenceRule = { ...scheduled, anchor: "completion" };
        const previousDue = new Date(rule.startsAt.getTime() + sinceStart);
        const completedAt = new Date(previousDue.getTime() + completedOffset);
        const next = nextOccurrence(rule, {
          previousDue,
          completedAt,
          now: completedAt,
          occurrencesSoFar: 1,
        });
        expect(next).not.toBeNull();
        const ms = next!.getTime();
        expect(ms).toBeGreaterThan(completedAt.getTime());
        expect(ms).toBeGreaterThan(previousDue.getTime());
        expectSeriesTimeOfDay(rule, ms);
        const zone = rule.timeZone;
        const at = DateTime.fromMillis(ms, { zone });
        const done = DateTime.fromJSDate(completedAt, { zone });
        const start = DateTime.fromJSDate(rule.startsAt, { zone });
        if (rule.pattern === "weekly")
          expect(rule.weekdays.length > 0 ? rule.weekdays : [done.weekday]).toContain(at.weekday);
        if (rule.pattern === "monthly") {
          const length = at.daysInMonth!;
          expect(at.day).toBe(rule.lastDayOfMonth ? length : Math.min(rule.monthDay ?? start.day, length));
        }
      },
    ),
    { numRuns: 300, seed: 20271107 },
  );
});

/** Local dates (ISO) around which `zone`'s UTC offset changed in 2026–2028. */
function transitionDays(zone: string): string[] {
  const offsets = IANAZone.create(zone);
  const days: string[] = [];
  for (let noon = Date.UTC(2026, 0, 1, 12); noon < Date.UTC(2029, 0, 1, 12); noon += 86_400_000)
    if (offsets.offset(noon) !== offsets.offset(noon + 86_400_000))
      days.push(new Date(noon).toISOString().slice(0, 10));
  return days;
}

const TRANSITIONS = ZONES.flatMap((zone) => transitionDays(zone).map((day) => ({ zone, day })));

test("property: a daily series through every 2026–2028 transition keeps its local time, gaps shifted forward", () => {
  expect(TRANSITIONS.length).toBeGreaterThan(40);
  fc.assert(
    fc.property(
      fc.constantFrom(...TRANSITIONS),
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 23 })),
      fc.constantFrom(0, 15, 30, 45),
      ({ zone, day }, hour, minute) => {
        const start = DateTime.fromISO(day, { zone }).minus({ days: 3 }).set({ hour, minute });
        const rule: RecurrenceRule = {
          pattern: "daily",
          interval: 1,
          weekdays: [],
          monthDay: null,
          lastDayOfMonth: false,
          anchor: "schedule",
          startsAt: start.toJSDate(),
          timeZone: zone,
          endsAt: null,
          maxCount: null,
        };
        const slots = previewOccurrences(rule, 7).map((date) => date.getTime());
        expect(slots).toHaveLength(7);
        slots.forEach((ms, index) => {
          if (index > 0) {
            expect(ms).toBeGreaterThan(slots[index - 1]!);
            expectSeriesTimeOfDay(rule, ms);
          }
        });
      },
    ),
    { numRuns: 400, seed: 20260329 },
  );
});

test("describeWireRecurrence describes the snake_case wire form exactly as describeRecurrence", () => {
  expect(
    describeWireRecurrence({
      pattern: "weekly",
      interval: 2,
      weekdays: [1, 3],
      month_day: null,
      last_day_of_month: false,
    }),
  ).toBe(
    describeRecurrence({
      pattern: "weekly",
      interval: 2,
      weekdays: [1, 3],
      monthDay: null,
      lastDayOfMonth: false,
    }),
  );
  expect(
    describeWireRecurrence({
      pattern: "monthly",
      interval: 1,
      weekdays: [],
      month_day: null,
      last_day_of_month: true,
    }),
  ).toBe("Monthly on the last day");
});

// ───── A series moving on ─────

describe("given an occurrence of a series", () => {
  const occurrence = (
    event_type: "created" | "updated" | "completed" | "deleted",
    reason: string | null = null,
  ) => ({
    event_type,
    reason,
    task_data: { series_id: "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d" },
  });

  it("when it is completed, then the series moves on", () => {
    expect(movesSeriesOn(occurrence("completed"))).toBe(true);
  });

  it("when only it is deleted (skipped), then the series moves on; when the series is deleted, then not", () => {
    expect(movesSeriesOn(occurrence("deleted", "occurrence_skipped"))).toBe(true);
    expect(movesSeriesOn(occurrence("deleted", "series_deleted"))).toBe(false);
  });

  it("when it is created or updated, then the series stays where it is", () => {
    expect(movesSeriesOn(occurrence("created"))).toBe(false);
    expect(movesSeriesOn(occurrence("updated"))).toBe(false);
  });
});

describe("given a task outside any series", () => {
  it("when it is completed, then no series moves on", () => {
    expect(movesSeriesOn({ event_type: "completed", reason: null, task_data: { series_id: null } })).toBe(
      false,
    );
  });
});

describe("given an occurrence's reminders and the next occurrence's due date", () => {
  const previousDue = new Date("2026-12-01T17:00:00.000Z");
  const nextDue = new Date("2026-12-08T17:00:00.000Z");

  it("when they are carried over, then offsets stay and absolute times move by as much as the due date", () => {
    const reminders = [
      { id: "r1", offset_minutes: 60, remind_at: null },
      { id: "r2", offset_minutes: null, remind_at: "2026-11-30T08:00:00.250Z" },
    ];
    expect(carriedReminders(reminders, previousDue, nextDue)).toEqual([
      { offset_minutes: 60 },
      { remind_at: new Date("2026-12-07T08:00:00.250Z") },
    ]);
  });

  it("when there are none, then the next occurrence has none", () => {
    expect(carriedReminders([], previousDue, nextDue)).toEqual([]);
  });
});
