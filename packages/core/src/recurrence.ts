// The recurrence engine: when the next occurrence of a repeating task is due. Pure: no I/O, the
// clock comes in as an argument.
//
// Why Luxon's zone data plus our own calendar arithmetic, and not rrule (measured with rrule 2.8.1):
// - rrule computes TZID rules through the host's local zone: one rule gave different instants under
//   TZ=UTC and TZ=Europe/Berlin, so a server's TZ would move due dates
//   (https://github.com/jkbrzt/rrule#timezone-support, https://github.com/jkbrzt/rrule/issues/295).
// - RFC 5545 skips months without the day (BYMONTHDAY=31 gave Jan 31, Mar 31, May 31); our "31st"
//   clamps to the month's last day (https://www.rfc-editor.org/rfc/rfc5545#section-3.3.10).
// - Its ESM entry has no named exports under Node (`import { RRule } from "rrule"` fails).
// Calendar steps (days, ISO weeks, months) are plain arithmetic on local calendar dates. Luxon's
// IANAZone turns instants into local dates and gives offsets. We do not let Luxon resolve a local
// time to an instant: for an ambiguous time it took the later offset in New York and Berlin but the
// earlier one in Sydney (measured), so `localToInstant` resolves it explicitly.
//
// Local time of day: every slot is at the local time of `startsAt` in the series' zone, so 09:00
// stays 09:00 across DST and the UTC offset changes. Following RFC 5545 §3.3.5
// (https://www.rfc-editor.org/rfc/rfc5545#section-3.3.5):
// - a local time that does not exist (spring forward) uses the offset from before the gap, i.e. it
//   moves forward by the gap's length: 02:30 on 2027-03-14 in New York is 03:30 EDT;
// - a local time that occurs twice (fall back) is the first of the two instants: 01:30 on
//   2027-11-07 in New York is 01:30 EDT.
//
// The series: `startsAt` is always the first occurrence. Then come the rule's slots after it:
// - daily: every `interval` days from startsAt's local date;
// - weekly: ISO weeks (Monday first) counted from startsAt's week, every `interval`-th week, on the
//   chosen weekdays (none = startsAt's weekday);
// - monthly: every `interval`-th month from startsAt's month, on `monthDay` (none = startsAt's day),
//   clamped to short months without drifting (Jan 31, Feb 28, Mar 31), or on the last day, or on
//   the nth (1st … 4th) or last of a weekday (`monthWeek` with the one weekday in `weekdays`);
// - yearly: every `interval`-th year on startsAt's month and day, clamped as monthly is (Feb 29 is
//   Feb 28 in common years and the 29th again in leap years): a monthly grid of 12 × interval;
// - hourly: every `interval` hours after startsAt, as elapsed time (a chore every 8 hours is 8
//   hours apart across a DST change, so its local time of day moves by the change).
//
// Anchors:
// - "schedule": the first slot strictly after the previous due instant. If that is not after
//   `now`, the first slot after `now`: missed slots are skipped, never created as overdue copies,
//   and skipped slots do not count towards maxCount.
// - "completion": the series restarts at the completion instant C (`now` when the occurrence was
//   skipped or deleted rather than completed). With c = C's local date:
//   - daily: c + interval days;
//   - weekly without weekdays: c + interval weeks (the weekday follows the completion);
//   - weekly with weekdays: the first chosen weekday whose slot comes after C moved
//     (interval - 1) weeks later by the local calendar. Interval 1 gives the next chosen weekday
//     after C; interval 2 skips a week;
//   - monthly: the month of c + interval, on the series' day rule;
//   - yearly: the series' month and day, the first after C moved (interval - 1) years;
//   - hourly: C + interval hours.
//   The result is strictly after C and strictly after the previous due instant. After completing
//   early, the next occurrence never lands on or before the one just done: the restarted series
//   moves on by its own steps until it is later. The result can already be in the past when C is.
// Ends: no occurrence is due after `endsAt`; `maxCount` counts occurrences including the first.
//
// Bounds: every loop has a hard iteration bound. A search looks at no more than MAX_CANDIDATES
// slots (and walks no more than MAX_CANDIDATES weeks or months) and then gives up (null), so a call
// always finishes quickly, whatever the rule. A date that is not finite (an Invalid Date) is refused
// with a RangeError before any search: NaN compares false with everything, so a search from it
// would never find a slot (it hung the weekly and monthly searches). No occurrence is due past
// INSTANT_RANGE.max (year 9999): the series ends there, as no RFC 3339 instant is later.
import { IANAZone } from "luxon";
import type { TaskEvent } from "./events.ts";
import { INSTANT_RANGE, type ReminderInput, type TaskDto } from "./tasks.ts";

export interface RecurrenceRule {
  pattern: "hourly" | "daily" | "weekly" | "monthly" | "yearly";
  /** >= 1 */
  interval: number;
  /**
   * ISO weekdays 1 (Mon) … 7 (Sun): weekly ([] = the weekday of startsAt), or monthly with
   * monthWeek (exactly one: "the 3rd Tuesday").
   */
  weekdays: number[];
  /** 1 … 31, monthly only (null and !lastDayOfMonth = the day of month of startsAt). */
  monthDay: number | null;
  lastDayOfMonth: boolean;
  /** Monthly on the nth weekday: 1 … 4, or -1 for the last (the weekday is weekdays[0]); absent = null. */
  monthWeek?: number | null;
  anchor: "schedule" | "completion";
  /** The first occurrence's due instant; fixes the local time of day of every slot. */
  startsAt: Date;
  /** IANA zone the slots are computed in. */
  timeZone: string;
  /** No occurrence is due after this instant. */
  endsAt: Date | null;
  /** Total occurrences, including the first. */
  maxCount: number | null;
}

export interface NextOccurrenceArgs {
  /** Due instant of the occurrence just completed (or skipped). */
  previousDue: Date;
  /** When it was completed (anchor "completion"); null when skipped or deleted. */
  completedAt: Date | null;
  now: Date;
  /** Occurrences created so far, including the one just completed. */
  occurrencesSoFar: number;
}

export type RecurrenceDescription = Pick<
  RecurrenceRule,
  "pattern" | "interval" | "weekdays" | "monthDay" | "lastDayOfMonth" | "monthWeek"
> & {
  /** For yearly: the series' first date, whose month and day it repeats on. */
  startsAt?: Date;
  timeZone?: string;
};

/** The nth weekdays of a month a rule can name: 1st … 4th and the last (-1). */
export const MONTH_WEEKS = [1, 2, 3, 4, -1] as const;

/** Any search gives up (null) after this many candidate slots. */
export const MAX_CANDIDATES = 10_000;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** The due instant of the occurrence after `previousDue`, or null when the series has ended. */
export function nextOccurrence(rule: RecurrenceRule, args: NextOccurrenceArgs): Date | null {
  const series = compile(rule);
  const previous = finiteTime(args.previousDue, "previousDue");
  const now = finiteTime(args.now, "now");
  const completed = args.completedAt === null ? null : finiteTime(args.completedAt, "completedAt");
  if (!Number.isInteger(args.occurrencesSoFar))
    throw new RangeError(`occurrencesSoFar must be a whole number, got ${args.occurrencesSoFar}`);
  if (rule.maxCount !== null && args.occurrencesSoFar >= rule.maxCount) return null;
  const next =
    rule.anchor === "schedule"
      ? scheduledAfter(series, Math.max(previous, now))
      : restartedAfter(series, completed ?? now, previous);
  if (next === null || !(next <= INSTANT_RANGE.max)) return null;
  if (rule.endsAt !== null && next > rule.endsAt.getTime()) return null;
  return new Date(next);
}

/** Epoch milliseconds of `date`; a RangeError naming `what` when it is not a valid date. */
function finiteTime(date: Date, what: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`recurrence ${what} is not a valid date`);
  return ms;
}

/**
 * The first `count` due instants of the series, from its start or else from the first scheduled
 * slot at or after `from`. A completion-anchored series is shown as if each occurrence were
 * completed exactly when due. endsAt and maxCount apply (maxCount counting from the start).
 */
export function previewOccurrences(rule: RecurrenceRule, count: number, from?: Date): Date[] {
  const series = compile(rule);
  if (Number.isNaN(count)) throw new RangeError("preview count is not a number");
  const wanted = Math.min(Math.max(0, Math.floor(count)), MAX_CANDIDATES);
  const out: Date[] = [];
  const fromMs = from === undefined ? Number.NEGATIVE_INFINITY : finiteTime(from, "preview start");
  // maxCount counts from the start, so a limited series is walked from its start.
  let due: number | null =
    rule.maxCount !== null || series.startMs >= fromMs ? series.startMs : scheduledAfter(series, fromMs - 1);
  let created = 1;
  for (let step = 0; due !== null && out.length < wanted && step < MAX_CANDIDATES; step++) {
    if (rule.endsAt !== null && due > rule.endsAt.getTime()) break;
    if (rule.maxCount !== null && created > rule.maxCount) break;
    if (due >= fromMs) out.push(new Date(due));
    const at: Date = new Date(due);
    due =
      nextOccurrence(rule, {
        previousDue: at,
        completedAt: at,
        now: at,
        occurrencesSoFar: created,
      })?.getTime() ?? null;
    created++;
  }
  return out;
}

/** Human text, e.g. "Every 2 weeks on Mon, Wed", "Monthly on the last day", "Daily". */
/** describeRecurrence of a rule in its snake_case wire form (API, events, the web's forms). */
export function describeWireRecurrence(
  rule: {
    pattern: RecurrenceRule["pattern"];
    interval: number;
    weekdays: number[];
    month_day: number | null;
    last_day_of_month: boolean;
    month_week?: number | null;
  },
  /** The series' first due date and zone: a yearly rule is described by their month and day. */
  start?: { startsAt: Date; timeZone: string },
): string {
  return describeRecurrence({
    pattern: rule.pattern,
    interval: rule.interval,
    weekdays: rule.weekdays,
    monthDay: rule.month_day,
    lastDayOfMonth: rule.last_day_of_month,
    monthWeek: rule.month_week ?? null,
    ...start,
  });
}

export function describeRecurrence(rule: RecurrenceDescription): string {
  const every = (unit: string, single: string) =>
    rule.interval === 1 ? single : `Every ${rule.interval} ${unit}s`;
  switch (rule.pattern) {
    case "hourly":
      return every("hour", "Hourly");
    case "daily":
      return every("day", "Daily");
    case "weekly": {
      const days = normaliseWeekdays(rule.weekdays);
      if (rule.interval === 1 && days.join() === "1,2,3,4,5") return "Every weekday";
      const on = days.length > 0 ? ` on ${days.map((day) => WEEKDAY_NAMES[day - 1]).join(", ")}` : "";
      return every("week", "Weekly") + on;
    }
    case "monthly": {
      const weekday = rule.weekdays[0];
      const week = rule.monthWeek ?? null;
      const on =
        week !== null && weekday !== undefined
          ? ` on the ${week === -1 ? "last" : ordinal(week)} ${WEEKDAY_NAMES[weekday - 1]}`
          : rule.lastDayOfMonth
            ? " on the last day"
            : rule.monthDay !== null
              ? ` on the ${ordinal(rule.monthDay)}`
              : "";
      return every("month", "Monthly") + on;
    }
    case "yearly": {
      let on = "";
      if (rule.startsAt && rule.timeZone && IANAZone.isValidZone(rule.timeZone)) {
        const { month, day } = civil(toLocal(IANAZone.create(rule.timeZone), rule.startsAt.getTime()).day);
        on = ` on ${MONTH_NAMES[month - 1]} ${day}`;
      }
      return every("year", "Yearly") + on;
    }
  }
}

const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
] as const;

// ───── The series, compiled ─────

type DayRule =
  | { kind: "last" }
  | { kind: "day"; day: number }
  /** The nth (1 … 4) or last (-1) `weekday` of the month. */
  | { kind: "nth"; week: number; weekday: number };

/** Where slots may fall, as local calendar dates (day numbers, days since 1970-01-01). */
type Grid =
  | { pattern: "daily"; interval: number; origin: number }
  | { pattern: "weekly"; interval: number; origin: number; weekdays: number[] }
  | { pattern: "monthly"; interval: number; origin: number; dayRule: DayRule };

interface Series {
  rule: RecurrenceRule;
  zone: IANAZone;
  startMs: number;
  startDay: number;
  /** Local time of day of every slot, in milliseconds after local midnight. */
  timeOfDay: number;
  weekdays: number[];
  dayRule: DayRule;
  schedule: Grid;
}

function compile(rule: RecurrenceRule): Series {
  if (!IANAZone.isValidZone(rule.timeZone))
    throw new RangeError(`recurrence time zone "${rule.timeZone}" is not an IANA zone`);
  if (!Number.isInteger(rule.interval) || rule.interval < 1)
    throw new RangeError(`recurrence interval must be a whole number >= 1, got ${rule.interval}`);
  if (rule.weekdays.some((day) => !Number.isInteger(day) || day < 1 || day > 7))
    throw new RangeError("recurrence weekdays must be 1 (Mon) … 7 (Sun)");
  if (rule.monthDay !== null && (!Number.isInteger(rule.monthDay) || rule.monthDay < 1 || rule.monthDay > 31))
    throw new RangeError("recurrence month day must be 1 … 31");
  const monthWeek = rule.monthWeek ?? null;
  if (monthWeek !== null) {
    if (!(MONTH_WEEKS as readonly number[]).includes(monthWeek))
      throw new RangeError("recurrence month week must be 1 … 4 or -1 (the last)");
    if (rule.weekdays.length !== 1)
      throw new RangeError("a recurrence on the nth weekday of the month names exactly one weekday");
  }
  const startMs = finiteTime(rule.startsAt, "startsAt");
  if (rule.endsAt !== null) finiteTime(rule.endsAt, "endsAt");
  if (rule.maxCount !== null && !Number.isInteger(rule.maxCount))
    throw new RangeError(`recurrence maxCount must be a whole number, got ${rule.maxCount}`);

  const zone = IANAZone.create(rule.timeZone);
  const { day: startDay, timeOfDay } = toLocal(zone, startMs);
  const chosen = normaliseWeekdays(rule.weekdays);
  const weekdays = chosen.length > 0 ? chosen : [isoWeekday(startDay)];
  const dayRule: DayRule =
    rule.pattern === "monthly" && monthWeek !== null
      ? { kind: "nth", week: monthWeek, weekday: weekdays[0]! }
      : rule.pattern === "monthly" && rule.lastDayOfMonth
        ? { kind: "last" }
        : { kind: "day", day: (rule.pattern === "monthly" ? rule.monthDay : null) ?? civil(startDay).day };
  const base = { interval: rule.interval, origin: startDay };
  // Hourly slots are not calendar dates (see scheduledAfter); their grid is unused.
  const schedule: Grid =
    rule.pattern === "daily" || rule.pattern === "hourly"
      ? { pattern: "daily", ...base }
      : rule.pattern === "weekly"
        ? { pattern: "weekly", ...base, weekdays }
        : rule.pattern === "yearly"
          ? { pattern: "monthly", interval: 12 * rule.interval, origin: startDay, dayRule }
          : { pattern: "monthly", ...base, dayRule };
  return { rule, zone, startMs, startDay, timeOfDay, weekdays, dayRule, schedule };
}

/** The first instant of the series strictly after `after`. */
function scheduledAfter(series: Series, after: number): number | null {
  if (series.startMs > after) return series.startMs;
  if (series.rule.pattern === "hourly") {
    const step = series.rule.interval * HOUR;
    return series.startMs + (Math.floor((after - series.startMs) / step) + 1) * step;
  }
  // A slot on an earlier local date than `after`'s is earlier than `after`; one day of slack
  // covers a slot pushed past midnight by a gap.
  const fromDay = Math.max(series.startDay, toLocal(series.zone, after).day - 1);
  return firstSlot(series, series.schedule, fromDay, (ms) => ms > after && ms > series.startMs);
}

/** Anchor "completion": the series restarted at `completed` (see the header). */
function restartedAfter(series: Series, completed: number, previousDue: number): number | null {
  const { rule } = series;
  const bound = Math.max(completed, previousDue);
  const accept = (ms: number) => ms > bound;
  const { day: c, timeOfDay: completedTime } = toLocal(series.zone, completed);
  const interval = rule.interval;
  switch (rule.pattern) {
    case "hourly": {
      // C + interval hours, moved on by whole steps while not after the previous due instant.
      const step = interval * HOUR;
      const first = completed + step;
      return first > bound ? first : first + Math.ceil((bound - first + 1) / step) * step;
    }
    case "yearly": {
      // The series' month and day: the first such date after C moved (interval - 1) years.
      const { year, month, day } = civil(c);
      const movedYear = year + interval - 1;
      const movedDay = dayOf(movedYear, month, Math.min(day, daysInMonth(movedYear, month)));
      const moved = interval === 1 ? completed : localToInstant(series.zone, movedDay, completedTime);
      const origin = dayOf(movedYear, civil(series.startDay).month, 1);
      const grid: Grid = { pattern: "monthly", interval: 12, origin, dayRule: series.dayRule };
      return firstSlot(series, grid, origin, (ms) => ms > bound && ms > moved);
    }
    case "daily":
      return firstSlot(series, { pattern: "daily", interval, origin: c }, c + 1, accept);
    case "weekly": {
      if (rule.weekdays.length === 0) {
        const grid: Grid = { pattern: "weekly", interval, origin: c, weekdays: [isoWeekday(c)] };
        return firstSlot(series, grid, c + 1, accept);
      }
      // The first chosen weekday after C moved (interval - 1) weeks by the local calendar; the
      // restarted series then runs from that day's week. On C's (moved) day the slot counts only
      // when it comes after C: compared as instants, so a slot a spring-forward gap pushed later
      // (02:45 read as 03:45) is compared where it really is, not at its nominal wall time.
      const shifted = c + 7 * (interval - 1);
      const movedCompletion =
        interval === 1 ? completed : localToInstant(series.zone, shifted, completedTime);
      for (let day = shifted; day <= shifted + 7; day++) {
        if (!series.weekdays.includes(isoWeekday(day))) continue;
        if (day === shifted && localToInstant(series.zone, day, series.timeOfDay) <= movedCompletion)
          continue;
        return firstSlot(
          series,
          { pattern: "weekly", interval, origin: day, weekdays: series.weekdays },
          day,
          accept,
        );
      }
      return null;
    }
    case "monthly": {
      const { year, month } = civil(c);
      const origin = dayOf(year, month + interval, 1);
      return firstSlot(
        series,
        { pattern: "monthly", interval, origin, dayRule: series.dayRule },
        origin,
        accept,
      );
    }
  }
}

/** The first slot of `grid` on or after local date `fromDay` whose instant `accept`s. */
function firstSlot(
  series: Series,
  grid: Grid,
  fromDay: number,
  accept: (ms: number) => boolean,
): number | null {
  let candidates = 0;
  for (const day of gridDays(grid, fromDay)) {
    const ms = localToInstant(series.zone, day, series.timeOfDay);
    if (accept(ms)) return ms;
    if (++candidates >= MAX_CANDIDATES) return null;
  }
  return null;
}

/**
 * The grid's local dates on or after `fromDay` (and not before its origin), ascending, over at most
 * MAX_CANDIDATES cycles (days, weeks or months of the grid): a cycle may yield nothing (a month
 * past the calendar's end), so the bound is on cycles, not on what is yielded.
 */
function* gridDays(grid: Grid, fromDay: number): Generator<number> {
  const first = Math.max(fromDay, grid.origin);
  switch (grid.pattern) {
    case "daily": {
      const k0 = Math.ceil((first - grid.origin) / grid.interval);
      for (let k = k0; k < k0 + MAX_CANDIDATES; k++) yield grid.origin + k * grid.interval;
      return;
    }
    case "weekly": {
      const originWeek = grid.origin - (isoWeekday(grid.origin) - 1);
      const weeksIn = Math.floor((first - originWeek) / 7);
      const cycle0 = Math.ceil(weeksIn / grid.interval);
      for (let cycle = cycle0; cycle < cycle0 + MAX_CANDIDATES; cycle++) {
        const monday = originWeek + 7 * grid.interval * cycle;
        for (const weekday of grid.weekdays) {
          const day = monday + weekday - 1;
          if (day >= first) yield day;
        }
      }
      return;
    }
    case "monthly": {
      const origin = civil(grid.origin);
      const from = civil(first);
      const monthsIn = (from.year - origin.year) * 12 + (from.month - origin.month);
      const k0 = Math.ceil(monthsIn / grid.interval);
      for (let k = k0; k < k0 + MAX_CANDIDATES; k++) {
        const month = origin.month + k * grid.interval;
        const length = daysInMonth(origin.year, month);
        const rule = grid.dayRule;
        const dayOfMonth =
          rule.kind === "last"
            ? length
            : rule.kind === "day"
              ? Math.min(rule.day, length)
              : nthWeekdayOfMonth(origin.year, month, rule.week, rule.weekday, length);
        const day = dayOf(origin.year, month, dayOfMonth);
        if (day >= first) yield day;
      }
    }
  }
}

// ───── Zone and calendar arithmetic ─────

/** An instant's local date (day number) and time of day (ms after local midnight) in `zone`. */
function toLocal(zone: IANAZone, ms: number): { day: number; timeOfDay: number } {
  const local = ms + zone.offset(ms) * MINUTE;
  const day = Math.floor(local / DAY);
  return { day, timeOfDay: local - day * DAY };
}

/**
 * The instant of a local date and time in `zone`, per RFC 5545 §3.3.5: of two instants (fall
 * back) the earlier; a time in a gap (spring forward) read with the offset from before the gap.
 */
function localToInstant(zone: IANAZone, day: number, timeOfDay: number): number {
  const wall = day * DAY + timeOfDay;
  // Offsets a day either side of the wall time bracket any transition near it (offsets are within
  // ±14 h, and zones do not change twice within two days).
  const before = zone.offset(wall - DAY);
  const after = zone.offset(wall + DAY);
  let best: number | null = null;
  for (const offset of before === after ? [before] : [before, after]) {
    const ms = wall - offset * MINUTE;
    if (zone.offset(ms) === offset && (best === null || ms < best)) best = ms;
  }
  return best ?? wall - before * MINUTE;
}

/** Day of month of the nth (1 … 4) or last (-1) `weekday` of a month `length` days long. */
function nthWeekdayOfMonth(
  year: number,
  month: number,
  week: number,
  weekday: number,
  length: number,
): number {
  if (week === -1) {
    const lastWeekday = isoWeekday(dayOf(year, month, length));
    return length - ((lastWeekday - weekday + 7) % 7);
  }
  const firstWeekday = isoWeekday(dayOf(year, month, 1));
  return 1 + ((weekday - firstWeekday + 7) % 7) + 7 * (week - 1);
}

function civil(day: number): { year: number; month: number; day: number } {
  const date = new Date(day * DAY);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** Day number of a calendar date; `month` may run past 12 (Date.UTC carries it into the year). */
function dayOf(year: number, month: number, dayOfMonth: number): number {
  return Math.round(Date.UTC(year, month - 1, dayOfMonth) / DAY);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** ISO weekday of a day number: 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday). */
function isoWeekday(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

function normaliseWeekdays(weekdays: number[]): number[] {
  return [...new Set(weekdays)].sort((a, b) => a - b);
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${["th", "st", "nd", "rd"][n % 10] ?? "th"}`;
}

// ───── A series moving on ─────

/** Completing an occurrence of a series moves it on, and so does skipping one (deleting only it). */
export function movesSeriesOn(
  event: Pick<TaskEvent, "event_type" | "reason"> & { task_data: Pick<TaskDto, "series_id"> },
): boolean {
  if (!event.task_data.series_id) return false;
  return (
    event.event_type === "completed" ||
    (event.event_type === "deleted" && event.reason === "occurrence_skipped")
  );
}

/**
 * The next occurrence's reminders: offsets carry over as they are; an absolute reminder moves by
 * as much as the due date did.
 */
export function carriedReminders(
  reminders: TaskDto["reminders"],
  previousDue: Date,
  nextDue: Date,
): ReminderInput[] {
  const shift = nextDue.getTime() - previousDue.getTime();
  return reminders.map((r) =>
    r.offset_minutes !== null
      ? { offset_minutes: r.offset_minutes }
      : { remind_at: new Date(new Date(r.remind_at!).getTime() + shift) },
  );
}
