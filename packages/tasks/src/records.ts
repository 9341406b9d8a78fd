// Task rows ↔ the wire representation (TaskDto). One mapping, used by commands, queries and events.
import { taskDtoSchema, type TaskDto } from "#core/tasks.ts";
import type { Db, Tx } from "#db/client.ts";
import { nameSchema } from "#platform/openapi.ts";

// Every API description refers to the task as components.schemas.Task.
nameSchema(taskDtoSchema, "Task");

export const taskInclude = {
  tags: {
    select: { tag: true, createdAt: true },
    orderBy: [{ createdAt: "asc" as const }, { tag: "asc" as const }],
  },
  reminders: {
    select: { id: true, offsetMinutes: true, remindAt: true },
    orderBy: [{ offsetMinutes: "desc" as const }, { remindAt: "asc" as const }],
  },
};

type TaskRow = NonNullable<Awaited<ReturnType<Db["task"]["findFirst"]>>> & {
  tags: { tag: string }[];
  reminders: { id: string; offsetMinutes: number | null; remindAt: Date | null }[];
};
type SeriesRow = NonNullable<Awaited<ReturnType<Db["taskRecurrence"]["findFirst"]>>>;

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function toTaskDto(task: TaskRow, series: SeriesRow | null): TaskDto {
  return {
    id: task.id,
    user_id: task.userId,
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    due_at: iso(task.dueAt),
    time_zone: task.timeZone,
    tags: task.tags.map((t) => t.tag),
    reminders: task.reminders.map((r) => ({
      id: r.id,
      offset_minutes: r.offsetMinutes,
      remind_at: iso(r.remindAt),
    })),
    recurrence: series
      ? {
          series_id: series.id,
          pattern: series.pattern,
          interval: series.interval,
          weekdays: series.weekdays,
          month_day: series.monthDay,
          last_day_of_month: series.lastDayOfMonth,
          anchor: series.anchor,
          ends_at: iso(series.endsAt),
          max_count: series.maxCount,
          active: series.active,
        }
      : null,
    series_id: task.seriesId,
    occurrence_index: task.occurrenceIndex,
    completed_at: iso(task.completedAt),
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
    version: task.version,
  };
}

/** Loads one of `userId`'s tasks as a DTO; null when it does not exist or belongs to someone else. */
export async function loadTaskDto(db: Db | Tx, userId: string, taskId: string): Promise<TaskDto | null> {
  const task = await db.task.findFirst({ where: { id: taskId, userId }, include: taskInclude });
  if (!task) return null;
  const series = task.seriesId
    ? await db.taskRecurrence.findFirst({ where: { id: task.seriesId, userId } })
    : null;
  return toTaskDto(task, series);
}

/** Loads many tasks (already filtered to one user) as DTOs, in the order of `ids`. */
export async function loadTaskDtos(db: Db | Tx, userId: string, ids: string[]): Promise<TaskDto[]> {
  if (ids.length === 0) return [];
  const tasks = await db.task.findMany({ where: { id: { in: ids }, userId }, include: taskInclude });
  const seriesIds = [...new Set(tasks.map((t) => t.seriesId).filter((s): s is string => s !== null))];
  const series = seriesIds.length
    ? await db.taskRecurrence.findMany({ where: { id: { in: seriesIds }, userId } })
    : [];
  const seriesById = new Map(series.map((s) => [s.id, s]));
  const byId = new Map(
    tasks.map((t) => [t.id, toTaskDto(t, t.seriesId ? (seriesById.get(t.seriesId) ?? null) : null)]),
  );
  return ids.map((id) => byId.get(id)).filter((t): t is TaskDto => t !== undefined);
}
