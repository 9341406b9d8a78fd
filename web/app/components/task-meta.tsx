// A task's meta line: priority, tags, due time (red when overdue) and its recurrence. The list
// shows it small under each title; the task page shows it larger under the heading, saying "Due".
import { describeWireRecurrence } from "#core/recurrence.ts";
import type { TaskDto } from "#core/tasks.ts";
import { formatDue, isOverdue } from "../lib/format.ts";
import { PriorityBadge, TagChip } from "./ui.tsx";

const VARIANTS = {
  row: { className: "mt-1 flex flex-wrap items-center gap-1.5 text-xs", due: "" },
  page: { className: "mt-2 flex flex-wrap items-center gap-1.5 text-sm", due: "Due " },
} as const;

export function TaskMeta({
  task,
  timeZone,
  now,
  variant,
}: {
  task: Pick<TaskDto, "priority" | "tags" | "due_at" | "status" | "recurrence" | "time_zone">;
  timeZone: string;
  /** The loader's clock (ISO), so the server's and the browser's render agree. */
  now: string;
  variant: keyof typeof VARIANTS;
}) {
  const overdue = isOverdue(task, new Date(now));
  const { className, due } = VARIANTS[variant];
  return (
    <div className={className}>
      <PriorityBadge priority={task.priority} />
      {task.tags.map((tag) => (
        <TagChip key={tag} tag={tag} />
      ))}
      {task.due_at ? (
        <time
          dateTime={task.due_at}
          data-due
          className={overdue ? "font-semibold text-red-700" : "text-slate-700"}
        >
          {overdue ? "Overdue · " : due}
          {formatDue(task.due_at, timeZone, new Date(now))}
        </time>
      ) : null}
      {task.recurrence?.active ? (
        <span className="text-slate-700" title="Repeats">
          ↻{" "}
          {describeWireRecurrence(
            task.recurrence,
            task.due_at ? { startsAt: new Date(task.due_at), timeZone: task.time_zone } : undefined,
          )}
          {task.recurrence.anchor === "completion" ? " · from completion" : ""}
        </span>
      ) : null}
    </div>
  );
}
