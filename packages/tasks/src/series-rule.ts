// A series row as the recurrence engine's rule. Its own module, free of the commands: the web app's
// calendar feed needs it, and importing recurrence.ts (which creates occurrences through the
// commands) pulled the outbox and its metrics (prom-client) into the web server's bundle.
import type { RecurrenceRule } from "#core/recurrence.ts";
import type { Tx } from "#db/client.ts";

export type SeriesRow = NonNullable<Awaited<ReturnType<Tx["taskRecurrence"]["findUnique"]>>>;

/** The series' rule as the recurrence engine takes it: the series row is the source of truth. */
export function recurrenceRule(series: SeriesRow): RecurrenceRule {
  return {
    pattern: series.pattern,
    interval: series.interval,
    weekdays: series.weekdays,
    monthDay: series.monthDay,
    lastDayOfMonth: series.lastDayOfMonth,
    monthWeek: series.monthWeek,
    anchor: series.anchor,
    startsAt: series.startsAt,
    timeZone: series.timeZone,
    endsAt: series.endsAt,
    maxCount: series.maxCount,
  };
}
