// What the deterministic assistant says: pure sentences from tasks and intents. Task titles are
// quoted as data, never read as anything else.
import { DateTime } from "luxon";
import type { TaskDto } from "#core/tasks.ts";
import type { UnsupportedReason } from "./intent.ts";

export const HELP_TEXT = [
  "I can manage your tasks. Try:",
  "• “add buy milk tomorrow at 5pm #home” (and “… remind me an hour before”)",
  "• “every monday remind me to water plants”",
  "• “what's due today?”, “what's overdue”, “show my high-priority work tasks”, “what do I have this week”",
  "• “complete the groceries task”, “move the dentist to Friday”, “rename the milk task to oat milk”",
  "• “set the report to high priority”, “search for tax”, “delete the milk task”",
  "• “complete everything tagged #errands” (I ask before deleting or completing several)",
].join("\n");

export function quote(title: string): string {
  const line = title.replace(/\s+/g, " ").trim();
  return `“${line.length > 120 ? `${line.slice(0, 119)}…` : line}”`;
}

/** "Thu, Mar 5, 18:00" in the user's zone (with the year when it is not this year's). */
export function formatDue(iso: string, timeZone: string, now: Date): string {
  const at = DateTime.fromISO(iso, { zone: timeZone });
  const sameYear = at.year === DateTime.fromJSDate(now, { zone: timeZone }).year;
  return at.toFormat(sameYear ? "ccc, LLL d, HH:mm" : "ccc, LLL d yyyy, HH:mm");
}

const REPEAT_WORDS: Record<string, string> = {
  hourly: "hour",
  daily: "day",
  weekly: "week",
  monthly: "month",
  yearly: "year",
};
const DAY_NAMES = ["", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

function describeRepeat(task: TaskDto): string | null {
  const r = task.recurrence;
  if (!r?.active) return null;
  const unit = REPEAT_WORDS[r.pattern]!;
  const every = r.interval === 1 ? `every ${unit}` : `every ${r.interval} ${unit}s`;
  if (r.pattern === "weekly" && r.weekdays.length > 0)
    return `${r.interval === 1 ? "every" : `every ${r.interval} weeks on`} ${r.weekdays.map((d) => DAY_NAMES[d]).join(", ")}`;
  return every;
}

function minutesText(minutes: number): string {
  if (minutes % 1440 === 0) return minutes === 1440 ? "1 day" : `${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? "1 hour" : `${minutes / 60} hours`;
  return `${minutes} min`;
}

/** One line about a task: title, due, repeat, priority, tags, reminders. */
export function describeTask(task: TaskDto, timeZone: string, now: Date): string {
  const parts = [quote(task.title)];
  if (task.due_at) parts.push(`due ${formatDue(task.due_at, timeZone, now)}`);
  const repeat = describeRepeat(task);
  if (repeat) parts.push(`repeats ${repeat}`);
  if (task.priority !== "none") parts.push(`${task.priority} priority`);
  if (task.tags.length > 0) parts.push(task.tags.map((t) => `#${t}`).join(" "));
  const offsets = task.reminders.flatMap((r) => (r.offset_minutes === null ? [] : [r.offset_minutes]));
  if (offsets.length > 0)
    parts.push(`reminder${offsets.length > 1 ? "s" : ""} ${offsets.map(minutesText).join(", ")} before`);
  if (task.status === "completed") parts.push("done");
  return parts.join(" · ");
}

/** A numbered list of tasks. */
export function numbered(tasks: TaskDto[], timeZone: string, now: Date): string {
  return tasks.map((task, i) => `${i + 1}. ${describeTask(task, timeZone, now)}`).join("\n");
}

export function unsupportedText(reason: UnsupportedReason, detail?: string): string {
  switch (reason) {
    case "empty":
      return "Tell me what to do with your tasks, e.g. “add call mom tomorrow 6pm”.";
    case "language":
      return "Sorry, I can only understand requests in English for now: adding, finding, completing, moving, renaming and deleting tasks. For example: “add call mom tomorrow 6pm”.";
    case "bulk_delete":
      return "I don't delete several tasks at once. Name one task (“delete the milk task”) and I'll ask you to confirm; completing several works by tag (“complete everything tagged #errands”).";
    case "bulk_scope":
      return "Which tasks? Name a tag, a priority or a date, e.g. “complete everything tagged #errands” or “complete all overdue tasks”.";
    case "no_date":
      return `${detail ?? "I couldn't read that date."} Try “Friday”, “tomorrow 3pm”, “next monday 9am” or “in 2 days”.`;
    case "reminder_needs_due":
      return detail ?? "A reminder needs a due time.";
    case "unknown":
      return `I'm not sure what you'd like me to do, and I won't guess. ${HELP_TEXT}`;
  }
}
