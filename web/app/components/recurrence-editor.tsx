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
import { SmallInput, SmallSelect } from "./ui.tsx";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/** The nth weekday's choices: ISO weekday number (1 = Monday) and its name. */
const WEEKDAY_OPTIONS = DAYS.map((day, index) => [String(index + 1), day] as const);

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
        <SmallSelect
          name="recurrence_pattern"
          label="Pattern"
          value={pattern}
          onChange={setPattern}
          options={[
            ["", "Does not repeat"],
            ["hourly", "Hourly"],
            ["daily", "Daily"],
            ["weekly", "Weekly"],
            ["monthly", "Monthly"],
            ["yearly", "Yearly"],
          ]}
        />
        {pattern || !hydrated ? (
          <>
            <SmallInput
              name="recurrence_interval"
              label="Every"
              type="number"
              min={1}
              max={LIMITS.recurrenceIntervalMax}
              value={interval}
              onChange={setInterval}
              width="w-20"
            />
            <SmallSelect
              name="recurrence_anchor"
              label="Next one counts from"
              value={anchor}
              onChange={(v) => setAnchor(v as typeof anchor)}
              options={[
                ["schedule", "the schedule"],
                ["completion", "completion"],
              ]}
            />
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
          <SmallSelect
            name="recurrence_month_mode"
            label="Monthly on"
            value={monthMode}
            onChange={setMonthMode}
            options={[
              ["", "the due date's day"],
              ["day", "day…"],
              ["last", "the last day of the month"],
              ["nth", "a weekday… (e.g. the 3rd Tuesday)"],
            ]}
          />
          {monthMode === "nth" || !hydrated ? (
            <>
              <SmallSelect
                name="recurrence_month_week"
                label="Which"
                value={monthWeek}
                onChange={setMonthWeek}
                options={[
                  ["1", "first"],
                  ["2", "second"],
                  ["3", "third"],
                  ["4", "fourth"],
                  ["-1", "last"],
                ]}
              />
              <SmallSelect
                name="recurrence_month_weekday"
                label="Weekday"
                value={monthWeekday}
                onChange={setMonthWeekday}
                options={WEEKDAY_OPTIONS}
              />
            </>
          ) : null}
          {monthMode === "day" || !hydrated ? (
            <SmallInput
              name="recurrence_month_day"
              label="Day of the month"
              type="number"
              min={1}
              max={31}
              value={monthDay}
              onChange={setMonthDay}
              width="w-20"
              describedBy="recurrence_month_day-note"
            />
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
          <SmallSelect
            name="recurrence_ends"
            label="Ends"
            value={ends}
            onChange={setEnds}
            options={[
              ["never", "never"],
              ["on", "on a date"],
              ["after", "after a number of times"],
            ]}
          />
          {ends === "on" || !hydrated ? (
            <SmallInput
              name="recurrence_ends_on"
              label={`Last date (${timeZone})`}
              type="date"
              value={endsOn}
              onChange={setEndsOn}
            />
          ) : null}
          {ends === "after" || !hydrated ? (
            <SmallInput
              name="recurrence_max_count"
              label="Occurrences in all"
              type="number"
              min={1}
              max={LIMITS.recurrenceCountMax}
              value={maxCount}
              onChange={setMaxCount}
              width="w-24"
            />
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
