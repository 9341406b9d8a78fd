// The edit form's reminders: preset offsets as checkboxes, the task's other reminders (custom
// offsets and set times) listed with remove buttons, and fields to add one of each. Every control
// is a plain form field, so it all works without JavaScript: a remove button submits the form
// without that reminder, and the add fields are read when the form is saved.
//
// As the user edits, each reminder whose time has already passed for the due date in the form is
// marked "already passed — will be sent now" or "— will be skipped", as the account's setting
// (Settings → Reminders) and the planner's own rule (#core/reminders.ts reminderTiming) say.
import { useEffect, useState } from "react";
import { reminderTiming, type PastReminderPolicy, type ReminderTiming } from "#core/reminders.ts";
import type { TaskDto } from "#core/tasks.ts";
import { formatInstant, offsetLabel } from "../lib/format.ts";
import { customOffset, localInstant, OFFSET_UNITS, reminderKey } from "#core/task-form.ts";
import { secondaryButtonClass, SmallInput, SmallSelect } from "./ui.tsx";

const PRESETS = [0, 5, 15, 30, 60, 120, 1440];
/** The custom offset's units, as the select offers them. */
const UNIT_OPTIONS = Object.keys(OFFSET_UNITS).map((unit) => [unit, `${unit} before`] as const);

/** What the hint beside a reminder says; null for one whose time is still ahead. */
export function pastReminderHint(timing: ReminderTiming): string | null {
  switch (timing) {
    case "send_now":
      return "already passed — will be sent now";
    case "skip_past":
      return "already passed — will be skipped";
    case "skip_due":
      return "already passed — will be skipped (the task is already due)";
    default:
      return null;
  }
}

/** The clock, ticking every second once in the browser (the server's `initial` until then). */
export function useNow(initial: string): Date {
  const [now, setNow] = useState(() => new Date(initial));
  useEffect(() => {
    setNow(new Date());
    const timer = setInterval(() => setNow(new Date()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** The hint badge of one reminder (nothing for one still ahead). */
export function PastReminderHint({ timing, id }: { timing: ReminderTiming; id?: string }) {
  const hint = pastReminderHint(timing);
  if (!hint) return null;
  return (
    <span
      id={id}
      data-past-hint={timing}
      className="rounded bg-amber-50 px-1.5 py-0.5 text-xs text-amber-900 ring-1 ring-inset ring-amber-600/30"
    >
      {hint}
    </span>
  );
}

/** A reminder the ledger already accounts for at these times: saving again changes nothing for it. */
export interface SettledReminder {
  key: string;
  remindAt: string;
  dueAt: string;
}

export function ReminderEditor({
  reminders,
  hasDue,
  defaultReminders,
  timeZone,
  dueAt,
  policy,
  now: serverNow,
  settled,
  error,
}: {
  reminders: TaskDto["reminders"];
  hasDue: boolean;
  /** The user's default offsets, offered for a task that has no due date yet. */
  defaultReminders: number[];
  timeZone: string;
  /** The due time the form's fields say now (null: none, or not a valid one yet). */
  dueAt: Date | null;
  /** The account's choice for reminders already past when the task is saved. */
  policy: PastReminderPolicy;
  /** The server's clock when the page was rendered (the hints use the browser's from then on). */
  now: string;
  settled: SettledReminder[];
  error?: string | undefined;
}) {
  const offsets = new Set(
    hasDue ? reminders.map((r) => r.offset_minutes).filter((m): m is number => m !== null) : defaultReminders,
  );
  const choices = [...new Set([...PRESETS, ...(hasDue ? [] : defaultReminders)])].sort((a, b) => a - b);
  const others = hasDue
    ? reminders
        .filter((r) => r.offset_minutes === null || !choices.includes(r.offset_minutes))
        .map((r) => ({
          key: reminderKey(r.offset_minutes, r.remind_at),
          reminder: r,
          label:
            r.offset_minutes !== null
              ? offsetLabel(r.offset_minutes)
              : `At ${formatInstant(r.remind_at ?? "", timeZone)}`,
        }))
    : [];

  // What the form holds as the user edits it: the checked presets and the fields of a new reminder.
  const [checked, setChecked] = useState(offsets);
  const [customAmount, setCustomAmount] = useState("");
  const [customUnit, setCustomUnit] = useState("minutes");
  const [atDate, setAtDate] = useState("");
  const [atTime, setAtTime] = useState("");
  const now = useNow(serverNow);

  /** How planning would treat this reminder if the form were saved now (null: no hint to show). */
  const timingOf = (reminder: { offset_minutes: number | null; remind_at: string | null }) => {
    if (!dueAt) return null;
    const remindAt =
      reminder.offset_minutes !== null
        ? new Date(dueAt.getTime() - reminder.offset_minutes * 60_000)
        : new Date(reminder.remind_at ?? NaN);
    if (Number.isNaN(remindAt.getTime())) return null;
    const key = reminderKey(reminder.offset_minutes, reminder.remind_at);
    const unchanged = settled.some(
      (s) => s.key === key && s.remindAt === remindAt.toISOString() && s.dueAt === dueAt.toISOString(),
    );
    return unchanged ? null : reminderTiming(remindAt, dueAt, now, policy);
  };
  const newOffset = customAmount.trim() === "" ? null : customOffset(customAmount, customUnit);
  const newAt = atDate || atTime ? localInstant(atDate, atTime, timeZone) : null;
  const newTimings = [
    typeof newOffset === "number" ? timingOf({ offset_minutes: newOffset, remind_at: null }) : null,
    newAt ? timingOf({ offset_minutes: null, remind_at: newAt.toISOString() }) : null,
  ].filter((t): t is ReminderTiming => t !== null && t !== "scheduled");

  return (
    <fieldset className="space-y-3">
      <legend className="text-sm font-medium text-slate-800">Remind me</legend>
      <div className="flex flex-wrap gap-3">
        {choices.map((minutes) => {
          const timing = checked.has(minutes) ? timingOf({ offset_minutes: minutes, remind_at: null }) : null;
          const hintId = timing && timing !== "scheduled" ? `past-hint-offset-${minutes}` : undefined;
          return (
            <span key={minutes} className="inline-flex items-center gap-1" data-reminder-choice={minutes}>
              <label className="inline-flex items-center gap-1 text-sm">
                <input
                  type="checkbox"
                  name="reminders"
                  value={minutes}
                  defaultChecked={offsets.has(minutes)}
                  aria-describedby={hintId}
                  onChange={(event) => {
                    const on = event.currentTarget.checked;
                    setChecked((current) => {
                      const next = new Set(current);
                      if (on) next.add(minutes);
                      else next.delete(minutes);
                      return next;
                    });
                  }}
                />
                {offsetLabel(minutes)}
              </label>
              {timing ? <PastReminderHint timing={timing} id={hintId} /> : null}
            </span>
          );
        })}
      </div>
      {others.length > 0 ? (
        <ul className="space-y-1" data-testid="other-reminders">
          {others.map((other) => {
            const timing = timingOf(other.reminder);
            return (
              <li
                key={other.key}
                className="flex items-center gap-2 text-sm"
                data-reminder-choice={other.key}
              >
                <input type="hidden" name="reminder_keep" value={other.key} />
                <span>{other.label}</span>
                {timing ? <PastReminderHint timing={timing} /> : null}
                <button
                  type="submit"
                  name="remove_reminder"
                  value={other.key}
                  aria-label={`Remove reminder ${other.label}`}
                  className="rounded px-1.5 text-slate-600 hover:text-red-700"
                >
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
      <div className="flex flex-wrap items-end gap-3">
        <SmallInput
          name="reminder_custom_amount"
          label="Also remind me"
          type="number"
          min={0}
          value={customAmount}
          onChange={setCustomAmount}
          width="w-24"
        />
        <SmallSelect
          name="reminder_custom_unit"
          label="Unit"
          value={customUnit}
          onChange={setCustomUnit}
          options={UNIT_OPTIONS}
        />
        <SmallInput name="reminder_at_date" label="Or on" type="date" value={atDate} onChange={setAtDate} />
        <SmallInput
          name="reminder_at_time"
          label={`At (${timeZone})`}
          type="time"
          value={atTime}
          onChange={setAtTime}
        />
        <button type="submit" className={secondaryButtonClass}>
          Add reminder
        </button>
      </div>
      {newTimings.length > 0 ? (
        <p className="flex flex-wrap items-center gap-2 text-sm" data-testid="new-reminder-hint">
          New reminder:
          {newTimings.map((timing, index) => (
            <PastReminderHint key={index} timing={timing} />
          ))}
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
