// Random recurrence rules for the property tests that hold the engine (recurrence.ts) and what is
// derived from it (icalendar.ts) against independent RFC 5545 implementations. Imported by tests
// only (fast-check is a dev dependency).
import fc from "fast-check";
import { DateTime } from "luxon";
import { MONTH_WEEKS, type RecurrenceRule } from "./recurrence.ts";

/** Zones without DST, with northern and southern DST, a 30-minute offset and a midnight change. */
export const RULE_ZONES = [
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "Australia/Sydney",
  "Asia/Kolkata",
  "America/Santiago",
];

export interface RuleArbOptions {
  zones?: string[];
  minYear?: number;
  /** Also draw max_count (2 … 12) or ends_at (1 … 400 days after the start). */
  bounds?: boolean;
}

/** A rule on schedule starting at a random local time (month ends, leap days and DST nights weighted in). */
export function scheduleRuleArb(options: RuleArbOptions = {}): fc.Arbitrary<RecurrenceRule> {
  const start = fc.record({
    zone: fc.constantFrom(...(options.zones ?? RULE_ZONES)),
    year: fc.integer({ min: options.minYear ?? 2023, max: 2031 }),
    month: fc.integer({ min: 1, max: 12 }),
    // Month ends and the leap day are where clamping shows; DST nights where local times vanish.
    day: fc.oneof(fc.integer({ min: 1, max: 31 }), fc.constantFrom(28, 29, 30, 31)),
    hour: fc.oneof(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 1, 2, 3)),
    minute: fc.constantFrom(0, 15, 30, 45),
  });
  const bound = options.bounds
    ? fc.oneof(
        fc.constant<{ kind: "none" }>({ kind: "none" }),
        fc.record({ kind: fc.constant("count" as const), count: fc.integer({ min: 2, max: 12 }) }),
        fc.record({ kind: fc.constant("until" as const), days: fc.integer({ min: 1, max: 400 }) }),
      )
    : fc.constant<{ kind: "none" }>({ kind: "none" });
  return fc
    .record({
      start,
      pattern: fc.constantFrom<RecurrenceRule["pattern"]>("hourly", "daily", "weekly", "monthly", "yearly"),
      interval: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 30 })),
      weekdays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { maxLength: 7 }),
      monthly: fc.oneof(
        fc.constant<{ kind: "start" }>({ kind: "start" }),
        fc.constant<{ kind: "last" }>({ kind: "last" }),
        fc.record({ kind: fc.constant("day" as const), day: fc.integer({ min: 1, max: 31 }) }),
        fc.record({
          kind: fc.constant("nth" as const),
          week: fc.constantFrom(...MONTH_WEEKS),
          weekday: fc.integer({ min: 1, max: 7 }),
        }),
      ),
      bound,
    })
    .filter(
      ({ start }) => DateTime.fromObject({ year: start.year, month: start.month, day: start.day }).isValid,
    )
    .map(({ start, pattern, interval, weekdays, monthly, bound }): RecurrenceRule => {
      const local = DateTime.fromObject(
        { year: start.year, month: start.month, day: start.day, hour: start.hour, minute: start.minute },
        { zone: start.zone },
      );
      const isMonthly = pattern === "monthly";
      return {
        pattern,
        interval,
        weekdays:
          pattern === "weekly" ? weekdays : isMonthly && monthly.kind === "nth" ? [monthly.weekday] : [],
        monthDay: isMonthly && monthly.kind === "day" ? monthly.day : null,
        lastDayOfMonth: isMonthly && monthly.kind === "last",
        monthWeek: isMonthly && monthly.kind === "nth" ? monthly.week : null,
        anchor: "schedule",
        startsAt: local.toJSDate(),
        timeZone: start.zone,
        endsAt: bound.kind === "until" ? local.plus({ days: bound.days }).toJSDate() : null,
        maxCount: bound.kind === "count" ? bound.count : null,
      };
    });
}
