// The recurrence editor with a live preview of the next five occurrences, computed in the browser
// by the same pure function the server uses (#core/recurrence.ts previewOccurrences).
import { useMemo, useState } from "react";
import { describeRecurrence, previewOccurrences } from "#core/recurrence.ts";
import type { TaskDto } from "#core/tasks.ts";
import { formatInstant } from "../lib/format.ts";
import { inputClass } from "./ui.tsx";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

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
  const [pattern, setPattern] = useState<string>(recurrence?.active ? recurrence.pattern : "");
  const [interval, setInterval] = useState(recurrence?.interval ?? 1);
  const [weekdays, setWeekdays] = useState<number[]>(recurrence?.weekdays ?? []);
  const [anchor, setAnchor] = useState(recurrence?.anchor ?? "schedule");

  const preview = useMemo(() => {
    if (!pattern || !dueAt || !Number.isInteger(interval) || interval < 1) return [];
    try {
      return previewOccurrences(
        {
          pattern: pattern as "daily" | "weekly" | "monthly",
          interval,
          weekdays: pattern === "weekly" ? weekdays : [],
          monthDay: null,
          lastDayOfMonth: false,
          anchor,
          startsAt: dueAt,
          timeZone,
          endsAt: null,
          maxCount: null,
        },
        5,
      );
    } catch {
      return [];
    }
  }, [pattern, interval, weekdays, anchor, dueAt, timeZone]);

  return (
    <fieldset className="space-y-3 rounded-md border border-slate-200 p-3">
      <legend className="px-1 text-sm font-medium text-slate-800">Repeat</legend>
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="recurrence_pattern" className="block text-xs font-medium text-slate-700">
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
            <option value="daily">Daily</option>
            <option value="weekly">Weekly</option>
            <option value="monthly">Monthly</option>
          </select>
        </div>
        {pattern ? (
          <>
            <div>
              <label htmlFor="recurrence_interval" className="block text-xs font-medium text-slate-700">
                Every
              </label>
              <input
                id="recurrence_interval"
                name="recurrence_interval"
                type="number"
                min={1}
                max={365}
                value={interval}
                onChange={(e) => setInterval(Number(e.target.value))}
                className={`${inputClass} mt-1 w-20`}
              />
            </div>
            <div>
              <label htmlFor="recurrence_anchor" className="block text-xs font-medium text-slate-700">
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
      {pattern === "weekly" ? (
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
        </div>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      ) : null}
      {pattern ? (
        <div aria-live="polite">
          {!dueAt ? (
            <p className="text-sm text-amber-800">A repeating task needs a due date.</p>
          ) : (
            <>
              <p className="text-sm font-medium text-slate-800">
                {describeRecurrence({
                  pattern: pattern as "weekly",
                  interval,
                  weekdays,
                  monthDay: null,
                  lastDayOfMonth: false,
                })}
                : next five
              </p>
              <ol className="mt-1 list-decimal pl-5 text-sm text-slate-700" data-testid="recurrence-preview">
                {preview.map((date) => (
                  <li key={date.toISOString()}>{formatInstant(date.toISOString(), timeZone)}</li>
                ))}
              </ol>
            </>
          )}
        </div>
      ) : null}
    </fieldset>
  );
}
