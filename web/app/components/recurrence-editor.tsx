// The recurrence editor with a live preview of the next five occurrences, computed in the browser
// by the same pure function the server uses (#core/recurrence.ts previewOccurrences).
//
// Without JavaScript every control is rendered (the server ignores those the pattern does not
// use), so the form still submits a complete rule; once hydrated, only the relevant ones show.
import { DateTime } from "luxon";
import { useEffect, useMemo, useState } from "react";
import { describeWireRecurrence, previewOccurrences } from "#core/recurrence.ts";
import { LIMITS, type TaskDto } from "#core/tasks.ts";
import { formatInstant } from "../lib/format.ts";
import { localParts, recurrenceFromFields } from "#core/task-form.ts";
import { inputClass } from "./ui.tsx";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const labelClass = "block text-xs font-medium text-slate-700";

export function RecurrenceEditor({
  recurrence,
  dueAt,
  timeZone,
  error,
}: {
  recurrence: TaskDto["recurrence"];
  /** The due instant the form currently holds (null: none). */
  dueAt: Date | null;
  timeZone: string;
  error?: string | undefined;
}) {
  const rule = recurrence?.active ? recurrence : null;
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  const [pattern, setPattern] = useState<string>(rule?.pattern ?? "");
  const [interval, setInterval] = useState(String(rule?.interval ?? 1));
  const [weekdays, setWeekdays] = useState<number[]>(rule?.weekdays ?? []);
  const [anchor, setAnchor] = useState(rule?.anchor ?? "schedule");
  const [monthMode, setMonthMode] = useState(
    (rule?.month_week ?? null) !== null
      ? "nth"
      : rule?.last_day_of_month
        ? "last"
        : (rule?.month_day ?? null) !== null
          ? "day"
          : "",
  );
  const dueLocal = dueAt ? DateTime.fromJSDate(dueAt, { zone: timeZone }) : null;
  // "The nth weekday" starts as the due date's: the 3rd Tuesday for Tuesday the 15th.
  const [monthWeek, setMonthWeek] = useState(
    String(rule?.month_week ?? (dueLocal ? Math.min(4, Math.ceil(dueLocal.day / 7)) : 1)),
  );
  const [monthWeekday, setMonthWeekday] = useState(
    String(rule && rule.month_week !== null ? rule.weekdays[0] : (dueLocal?.weekday ?? 1)),
  );
  const [monthDay, setMonthDay] = useState(
    String(rule?.month_day ?? (dueAt ? DateTime.fromJSDate(dueAt, { zone: timeZone }).day : 1)),
  );
  const [ends, setEnds] = useState(
    rule?.ends_at ? "on" : (rule?.max_count ?? null) !== null ? "after" : "never",
  );
  const [endsOn, setEndsOn] = useState(localParts(rule?.ends_at ?? null, timeZone).date);
  const [maxCount, setMaxCount] = useState(String(rule?.max_count ?? 10));

  const read = useMemo(
    () =>
      recurrenceFromFields(
        {
          pattern,
          interval,
          weekdays: weekdays.map(String),
          monthMode,
          monthDay,
          monthWeek,
          monthWeekday,
          ends,
          endsOn,
          maxCount,
          anchor,
        },
        timeZone,
      ),
    [
      pattern,
      interval,
      weekdays,
      monthMode,
      monthDay,
      monthWeek,
      monthWeekday,
      ends,
      endsOn,
      maxCount,
      anchor,
      timeZone,
    ],
  );
  const wire = read.ok ? read.recurrence : null;
  const preview = useMemo(() => {
    if (!wire || !dueAt) return [];
    try {
      return previewOccurrences(
        {
          pattern: wire.pattern,
          interval: wire.interval,
          weekdays: wire.weekdays,
          monthDay: wire.month_day,
          lastDayOfMonth: wire.last_day_of_month,
          monthWeek: wire.month_week,
          anchor: wire.anchor,
          startsAt: dueAt,
          timeZone,
          endsAt: wire.ends_at ? new Date(wire.ends_at) : null,
          maxCount: wire.max_count,
        },
        5,
      );
    } catch {
      return [];
    }
  }, [wire, dueAt, timeZone]);
  const shows = (wanted: string) => !hydrated || pattern === wanted;

  return (
    <fieldset className="space-y-3 rounded-md border border-slate-200 p-3">
      <legend className="px-1 text-sm font-medium text-slate-800">Repeat</legend>
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="recurrence_pattern" className={labelClass}>
            Pattern
          </label>
          <select
            id="recurrence_pattern"
            name="recurrence_pattern"
            value={pattern}
            onChange={(e) => setPattern(e.target.value)}
            className={`${inputClass} mt-1`}
          >
            <option value="">Does not repeat</option>
            <option value="hourly">Hourly</option>
            <option value="daily">Daily</option>
            <option value="weekly">Weekly</option>
            <option value="monthly">Monthly</option>
            <option value="yearly">Yearly</option>
          </select>
        </div>
        {pattern || !hydrated ? (
          <>
            <div>
              <label htmlFor="recurrence_interval" className={labelClass}>
                Every
              </label>
              <input
                id="recurrence_interval"
                name="recurrence_interval"
                type="number"
                min={1}
                max={LIMITS.recurrenceIntervalMax}
                value={interval}
                onChange={(e) => setInterval(e.target.value)}
                className={`${inputClass} mt-1 w-20`}
              />
            </div>
            <div>
              <label htmlFor="recurrence_anchor" className={labelClass}>
                Next one counts from
              </label>
              <select
                id="recurrence_anchor"
                name="recurrence_anchor"
                value={anchor}
                onChange={(e) => setAnchor(e.target.value as typeof anchor)}
                className={`${inputClass} mt-1`}
              >
                <option value="schedule">the schedule</option>
                <option value="completion">completion</option>
              </select>
            </div>
          </>
        ) : null}
      </div>
      {shows("weekly") ? (
        <div role="group" aria-label="On weekdays" className="flex flex-wrap gap-2">
          {DAYS.map((day, index) => (
            <label key={day} className="inline-flex items-center gap-1 text-sm">
              <input
                type="checkbox"
                name="recurrence_weekdays"
                value={index + 1}
                checked={weekdays.includes(index + 1)}
                onChange={(e) =>
                  setWeekdays((current) =>
                    e.target.checked ? [...current, index + 1] : current.filter((d) => d !== index + 1),
                  )
                }
              />
              {day}
            </label>
          ))}
          <button
            type="button"
            className="text-sm text-indigo-700 underline"
            onClick={() => setWeekdays([1, 2, 3, 4, 5])}
          >
            Every weekday
          </button>
        </div>
      ) : null}
      {shows("monthly") ? (
        <div className="flex flex-wrap items-end gap-3">
          <div>
            <label htmlFor="recurrence_month_mode" className={labelClass}>
              Monthly on
            </label>
            <select
              id="recurrence_month_mode"
              name="recurrence_month_mode"
              value={monthMode}
              onChange={(e) => setMonthMode(e.target.value)}
              className={`${inputClass} mt-1`}
            >
              <option value="">the due date's day</option>
              <option value="day">day…</option>
              <option value="last">the last day of the month</option>
              <option value="nth">a weekday… (e.g. the 3rd Tuesday)</option>
            </select>
          </div>
          {monthMode === "nth" || !hydrated ? (
            <>
              <div>
                <label htmlFor="recurrence_month_week" className={labelClass}>
                  Which
                </label>
                <select
                  id="recurrence_month_week"
                  name="recurrence_month_week"
                  value={monthWeek}
                  onChange={(e) => setMonthWeek(e.target.value)}
                  className={`${inputClass} mt-1`}
                >
                  <option value="1">first</option>
                  <option value="2">second</option>
                  <option value="3">third</option>
                  <option value="4">fourth</option>
                  <option value="-1">last</option>
                </select>
              </div>
              <div>
                <label htmlFor="recurrence_month_weekday" className={labelClass}>
                  Weekday
                </label>
                <select
                  id="recurrence_month_weekday"
                  name="recurrence_month_weekday"
                  value={monthWeekday}
                  onChange={(e) => setMonthWeekday(e.target.value)}
                  className={`${inputClass} mt-1`}
                >
                  {DAYS.map((day, index) => (
                    <option key={day} value={index + 1}>
                      {day}
                    </option>
                  ))}
                </select>
              </div>
            </>
          ) : null}
          {monthMode === "day" || !hydrated ? (
            <div>
              <label htmlFor="recurrence_month_day" className={labelClass}>
                Day of the month
              </label>
              <input
                id="recurrence_month_day"
                name="recurrence_month_day"
                type="number"
                min={1}
                max={31}
                value={monthDay}
                onChange={(e) => setMonthDay(e.target.value)}
                aria-describedby="recurrence_month_day-note"
                className={`${inputClass} mt-1 w-20`}
              />
            </div>
          ) : null}
          {monthMode === "day" || !hydrated ? (
            <p id="recurrence_month_day-note" className="w-full text-xs text-slate-600">
              In months without that day (say the 31st), it falls on the month's last day.
            </p>
          ) : null}
        </div>
      ) : null}
      {pattern || !hydrated ? (
        <div className="flex flex-wrap items-end gap-3">
          <div>
            <label htmlFor="recurrence_ends" className={labelClass}>
              Ends
            </label>
            <select
              id="recurrence_ends"
              name="recurrence_ends"
              value={ends}
              onChange={(e) => setEnds(e.target.value)}
              className={`${inputClass} mt-1`}
            >
              <option value="never">never</option>
              <option value="on">on a date</option>
              <option value="after">after a number of times</option>
            </select>
          </div>
          {ends === "on" || !hydrated ? (
            <div>
              <label htmlFor="recurrence_ends_on" className={labelClass}>
                {`Last date (${timeZone})`}
              </label>
              <input
                id="recurrence_ends_on"
                name="recurrence_ends_on"
                type="date"
                value={endsOn}
                onChange={(e) => setEndsOn(e.target.value)}
                className={`${inputClass} mt-1`}
              />
            </div>
          ) : null}
          {ends === "after" || !hydrated ? (
            <div>
              <label htmlFor="recurrence_max_count" className={labelClass}>
                Occurrences in all
              </label>
              <input
                id="recurrence_max_count"
                name="recurrence_max_count"
                type="number"
                min={1}
                max={LIMITS.recurrenceCountMax}
                value={maxCount}
                onChange={(e) => setMaxCount(e.target.value)}
                className={`${inputClass} mt-1 w-24`}
              />
            </div>
          ) : null}
        </div>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      ) : null}
      {pattern && hydrated ? (
        <div aria-live="polite">
          {!dueAt ? (
            <p className="text-sm text-amber-800">A repeating task needs a due date.</p>
          ) : !read.ok ? (
            <p className="text-sm text-amber-800">{read.error}</p>
          ) : wire ? (
            <>
              <p className="text-sm font-medium text-slate-800">
                {describeWireRecurrence(wire, { startsAt: dueAt, timeZone })},{" "}
                {wire.anchor === "completion" ? "counted from each completion" : "on schedule"}:{" "}
                {preview.length < 5 ? "every occurrence" : "next five"}
              </p>
              <ol className="mt-1 list-decimal pl-5 text-sm text-slate-700" data-testid="recurrence-preview">
                {preview.map((date) => (
                  <li key={date.toISOString()}>{formatInstant(date.toISOString(), timeZone)}</li>
                ))}
              </ol>
            </>
          ) : null}
        </div>
      ) : null}
    </fieldset>
  );
}
