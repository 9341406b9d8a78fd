// The web app's task edit form fields ↔ the task API's JSON (#core/tasks.ts). Pure, so the browser's
// live preview and the server's action read the form the same way.
import { DateTime } from "luxon";
import { LIMITS, RECURRENCE_MONTH_WEEKS, RECURRENCE_PATTERNS } from "./tasks.ts";

/**
 * The instant of a local date (yyyy-MM-dd) and time (HH:mm) in `zone`, or null when either is not
 * valid. A time skipped by a DST gap moves forward by the gap (Luxon's rule, as RFC 5545 §3.3.5).
 */
export function localInstant(date: string, time: string, zone: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^\d{2}:\d{2}$/.test(time)) return null;
  const local = DateTime.fromISO(`${date}T${time}`, { zone });
  return local.isValid ? local.toJSDate() : null;
}

/** The last millisecond of a local date in `zone`: "ends on" a date includes that whole day. */
export function endOfLocalDay(date: string, zone: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
  const local = DateTime.fromISO(date, { zone });
  return local.isValid ? local.endOf("day").toJSDate() : null;
}

/** An instant as the form's date and time inputs show it in `zone`. */
export function localParts(iso: string | null, zone: string): { date: string; time: string } {
  if (!iso) return { date: "", time: "" };
  const local = DateTime.fromISO(iso, { zone });
  return { date: local.toFormat("yyyy-MM-dd"), time: local.toFormat("HH:mm") };
}

/** An instant as RFC 3339 with the zone's offset, e.g. 2031-01-31T09:00:00.000+01:00. */
export function withOffset(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant, { zone }).toISO()!;
}

export const OFFSET_UNITS = { minutes: 1, hours: 60, days: 1440 } as const;
export type OffsetUnit = keyof typeof OFFSET_UNITS;

/** A custom reminder offset in minutes, or an error message naming what is wrong. */
export function customOffset(amount: string, unit: string): number | string {
  if (!(unit in OFFSET_UNITS)) return "Pick minutes, hours or days.";
  const value = Number(amount);
  if (amount.trim() === "" || !Number.isInteger(value) || value < 0)
    return "Enter a whole number of minutes, hours or days.";
  const minutes = value * OFFSET_UNITS[unit as OffsetUnit];
  if (minutes > LIMITS.reminderOffsetMaxMinutes) return "A reminder can be at most a year before.";
  return minutes;
}

/** A reminder as the form lists, keeps and removes it: `offset:<minutes>` or `at:<UTC ISO>`. */
export function reminderKey(offsetMinutes: number | null, remindAt: string | null): string {
  return offsetMinutes !== null ? `offset:${offsetMinutes}` : `at:${new Date(remindAt ?? NaN).toISOString()}`;
}

export interface ReminderFields {
  /** Checked preset offsets (minutes). */
  presets: string[];
  /** Keys (reminderKey) of the listed custom offsets and set times the form keeps. */
  kept: string[];
  /** The key whose remove button submitted the form, if any. */
  remove: string | null;
  customAmount: string;
  customUnit: string;
  atDate: string;
  atTime: string;
}

/** A reminder as the API takes it. */
export type ReminderWire = { offset_minutes: number } | { remind_at: string };

export type RemindersRead = { ok: true; reminders: ReminderWire[] } | { ok: false; error: string };

/** The reminders the form asks for, without duplicates; a set time is sent with `zone`'s offset. */
export function remindersFromFields(fields: ReminderFields, zone: string): RemindersRead {
  const keys: string[] = [];
  for (const preset of fields.presets) {
    const minutes = Number(preset);
    if (Number.isInteger(minutes) && minutes >= 0) keys.push(`offset:${minutes}`);
  }
  for (const key of fields.kept) if (/^(offset:\d+|at:.+)$/.test(key)) keys.push(key);
  if (fields.customAmount.trim() !== "") {
    const minutes = customOffset(fields.customAmount, fields.customUnit);
    if (typeof minutes === "string") return { ok: false, error: minutes };
    keys.push(`offset:${minutes}`);
  }
  if (fields.atDate !== "" || fields.atTime !== "") {
    const at = localInstant(fields.atDate, fields.atTime, zone);
    if (!at) return { ok: false, error: "Pick both a date and a time for the reminder." };
    keys.push(`at:${at.toISOString()}`);
  }
  const reminders: ReminderWire[] = [];
  for (const key of new Set(keys)) {
    if (key === fields.remove) continue;
    if (key.startsWith("offset:")) reminders.push({ offset_minutes: Number(key.slice(7)) });
    else {
      const at = new Date(key.slice(3));
      if (Number.isNaN(at.getTime())) return { ok: false, error: "A listed reminder time is not valid." };
      reminders.push({ remind_at: withOffset(at, zone) });
    }
  }
  return { ok: true, reminders };
}

export type MonthMode = "" | "day" | "last" | "nth";
export type EndsMode = "never" | "on" | "after";

/** The recurrence fields as the form holds them (strings, as the browser posts them). */
export interface RecurrenceFields {
  pattern: string;
  interval: string;
  weekdays: string[];
  monthMode: string;
  monthDay: string;
  /** With monthMode "nth": 1 … 4 or -1 (last), and the weekday 1 … 7. */
  monthWeek?: string;
  monthWeekday?: string;
  ends: string;
  endsOn: string;
  maxCount: string;
}

/** The recurrence as the API takes it (snake_case; ends_at with the zone's offset). */
export interface RecurrenceWire {
  pattern: (typeof RECURRENCE_PATTERNS)[number];
  interval: number;
  weekdays: number[];
  month_day: number | null;
  last_day_of_month: boolean;
  month_week: (typeof RECURRENCE_MONTH_WEEKS)[number] | null;
  anchor: "schedule" | "completion";
  ends_at: string | null;
  max_count: number | null;
}

export type RecurrenceRead = { ok: true; recurrence: RecurrenceWire | null } | { ok: false; error: string };

/** Reads the recurrence fields; `anchor` is passed through. Errors name the field the user fixes. */
export function recurrenceFromFields(
  fields: RecurrenceFields & { anchor: "schedule" | "completion" },
  zone: string,
): RecurrenceRead {
  const pattern = fields.pattern;
  if (pattern === "") return { ok: true, recurrence: null };
  if (!(RECURRENCE_PATTERNS as readonly string[]).includes(pattern))
    return { ok: false, error: "Pick hourly, daily, weekly, monthly or yearly." };
  const rulePattern = pattern as RecurrenceWire["pattern"];
  const interval = Number(fields.interval);
  if (!Number.isInteger(interval) || interval < 1 || interval > LIMITS.recurrenceIntervalMax)
    return { ok: false, error: `Repeat every 1 to ${LIMITS.recurrenceIntervalMax}.` };
  let weekdays =
    pattern === "weekly"
      ? [...new Set(fields.weekdays.map(Number).filter((d) => Number.isInteger(d) && d >= 1 && d <= 7))].sort(
          (a, b) => a - b,
        )
      : [];
  let monthDay: number | null = null;
  let lastDay = false;
  let monthWeek: RecurrenceWire["month_week"] = null;
  if (pattern === "monthly" && fields.monthMode === "nth") {
    const week = Number(fields.monthWeek);
    const weekday = Number(fields.monthWeekday);
    if (!(RECURRENCE_MONTH_WEEKS as readonly number[]).includes(week))
      return { ok: false, error: "Pick the first, second, third, fourth or last weekday." };
    if (!Number.isInteger(weekday) || weekday < 1 || weekday > 7)
      return { ok: false, error: "Pick the weekday." };
    monthWeek = week as RecurrenceWire["month_week"];
    weekdays = [weekday];
  } else if (pattern === "monthly" && fields.monthMode === "last") lastDay = true;
  else if (pattern === "monthly" && fields.monthMode === "day") {
    monthDay = Number(fields.monthDay);
    if (fields.monthDay.trim() === "" || !Number.isInteger(monthDay) || monthDay < 1 || monthDay > 31)
      return { ok: false, error: "The day of the month is 1 to 31." };
  }
  let endsAt: string | null = null;
  let maxCount: number | null = null;
  if (fields.ends === "on") {
    const end = endOfLocalDay(fields.endsOn, zone);
    if (!end) return { ok: false, error: "Pick the date the repeating ends on." };
    endsAt = withOffset(end, zone);
  } else if (fields.ends === "after") {
    maxCount = Number(fields.maxCount);
    if (
      fields.maxCount.trim() === "" ||
      !Number.isInteger(maxCount) ||
      maxCount < 1 ||
      maxCount > LIMITS.recurrenceCountMax
    )
      return { ok: false, error: `End after 1 to ${LIMITS.recurrenceCountMax} occurrences.` };
  }
  return {
    ok: true,
    recurrence: {
      pattern: rulePattern,
      interval,
      weekdays,
      month_day: monthDay,
      last_day_of_month: lastDay,
      month_week: monthWeek,
      anchor: fields.anchor,
      ends_at: endsAt,
      max_count: maxCount,
    },
  };
}
