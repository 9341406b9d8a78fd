// The edit form's reminders: preset offsets as checkboxes, the task's other reminders (custom
// offsets and set times) listed with remove buttons, and fields to add one of each. Every control
// is a plain form field, so it all works without JavaScript: a remove button submits the form
// without that reminder, and the add fields are read when the form is saved.
import type { TaskDto } from "#core/tasks.ts";
import { formatInstant, offsetLabel } from "../lib/format.ts";
import { OFFSET_UNITS, reminderKey } from "#core/task-form.ts";
import { inputClass, secondaryButtonClass } from "./ui.tsx";

const PRESETS = [0, 5, 15, 30, 60, 120, 1440];
const labelClass = "block text-xs font-medium text-slate-700";

export function ReminderEditor({
  reminders,
  hasDue,
  defaultReminders,
  timeZone,
  error,
}: {
  reminders: TaskDto["reminders"];
  hasDue: boolean;
  /** The user's default offsets, offered for a task that has no due date yet. */
  defaultReminders: number[];
  timeZone: string;
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
          label:
            r.offset_minutes !== null
              ? offsetLabel(r.offset_minutes)
              : `At ${formatInstant(r.remind_at ?? "", timeZone)}`,
        }))
    : [];

  return (
    <fieldset className="space-y-3">
      <legend className="text-sm font-medium text-slate-800">Remind me</legend>
      <div className="flex flex-wrap gap-3">
        {choices.map((minutes) => (
          <label key={minutes} className="inline-flex items-center gap-1 text-sm">
            <input type="checkbox" name="reminders" value={minutes} defaultChecked={offsets.has(minutes)} />
            {offsetLabel(minutes)}
          </label>
        ))}
      </div>
      {others.length > 0 ? (
        <ul className="space-y-1" data-testid="other-reminders">
          {others.map((reminder) => (
            <li key={reminder.key} className="flex items-center gap-2 text-sm">
              <input type="hidden" name="reminder_keep" value={reminder.key} />
              <span>{reminder.label}</span>
              <button
                type="submit"
                name="remove_reminder"
                value={reminder.key}
                aria-label={`Remove reminder ${reminder.label}`}
                className="rounded px-1.5 text-slate-600 hover:text-red-700"
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <div className="flex flex-wrap items-end gap-3">
        <div>
          <label htmlFor="reminder_custom_amount" className={labelClass}>
            Also remind me
          </label>
          <input
            id="reminder_custom_amount"
            name="reminder_custom_amount"
            type="number"
            min={0}
            className={`${inputClass} mt-1 w-24`}
          />
        </div>
        <div>
          <label htmlFor="reminder_custom_unit" className={labelClass}>
            Unit
          </label>
          <select
            id="reminder_custom_unit"
            name="reminder_custom_unit"
            defaultValue="minutes"
            className={`${inputClass} mt-1`}
          >
            {Object.keys(OFFSET_UNITS).map((unit) => (
              <option key={unit} value={unit}>
                {unit} before
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="reminder_at_date" className={labelClass}>
            Or on
          </label>
          <input id="reminder_at_date" name="reminder_at_date" type="date" className={`${inputClass} mt-1`} />
        </div>
        <div>
          <label htmlFor="reminder_at_time" className={labelClass}>
            {`At (${timeZone})`}
          </label>
          <input id="reminder_at_time" name="reminder_at_time" type="time" className={`${inputClass} mt-1`} />
        </div>
        <button type="submit" className={secondaryButtonClass}>
          Add reminder
        </button>
      </div>
      {error ? (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
