// The task list's date filters as people pick them (a preset, or a range of calendar days in their
// own zone) → the list query's due parameters (task-query.ts). The web list and saved views use it.
import { DateTime } from "luxon";

export interface DueFilter {
  /** overdue, today, week (the next 7 days), none (no due date), or "" for any time. */
  preset: string;
  /** YYYY-MM-DD (what a date picker sends), or "". Both ends are included. */
  from: string;
  to: string;
}

export type DueParams = { due_from?: string; due_to?: string; overdue?: "true"; no_due?: "true" };
export type DueWindow = { ok: true; params: DueParams } | { ok: false; errors: string[] };

/**
 * The list query's due parameters for a preset and/or a day range: a range runs from the start of
 * `from`'s day to the start of the day after `to`; with a preset too, the days both allow.
 */
export function dueWindow(filter: DueFilter, timeZone: string, now: Date): DueWindow {
  const params: DueParams = {};
  const today = DateTime.fromJSDate(now, { zone: timeZone }).startOf("day");
  switch (filter.preset) {
    case "overdue":
      params.overdue = "true";
      break;
    case "today":
      params.due_from = today.toUTC().toISO()!;
      params.due_to = today.plus({ days: 1 }).toUTC().toISO()!;
      break;
    case "week":
      params.due_from = today.toUTC().toISO()!;
      params.due_to = today.plus({ days: 7 }).toUTC().toISO()!;
      break;
    case "none":
      params.no_due = "true";
      break;
  }
  const errors: string[] = [];
  const day = (value: string, name: string) => {
    if (!value) return null;
    const parsed = /^\d{4}-\d{2}-\d{2}$/.test(value) ? DateTime.fromISO(value, { zone: timeZone }) : null;
    if (!parsed?.isValid) {
      errors.push(`${name} must be a date (YYYY-MM-DD)`);
      return null;
    }
    return parsed.startOf("day");
  };
  const start = day(filter.from, "from");
  const end = day(filter.to, "to");
  if (start && end && end < start) errors.push("to must be on or after from");
  if (errors.length) return { ok: false, errors };
  // ISO instants in UTC compare as text.
  const from = start?.toUTC().toISO();
  const to = end?.plus({ days: 1 }).toUTC().toISO();
  if (from && (!params.due_from || from > params.due_from)) params.due_from = from;
  if (to && (!params.due_to || to < params.due_to)) params.due_to = to;
  if (params.due_from && params.due_to && params.due_from >= params.due_to)
    return { ok: false, errors: ["No day is both in the date range and in the Due choice."] };
  return { ok: true, params };
}
