// Task rows ↔ the wire representation (TaskDto). One mapping, used by commands, queries and events.
import { taskDtoSchema, type TaskDto } from "#core/tasks.ts";
import type { Db, Tx } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
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

type TaskModel = NonNullable<Awaited<ReturnType<Db["task"]["findFirst"]>>>;
type SeriesModel = NonNullable<Awaited<ReturnType<Db["taskRecurrence"]["findFirst"]>>>;
/** The columns a TaskDto is made of (a Prisma row with `taskInclude`, or a `taskDtoSql` row). */
type TaskRow = Pick<
  TaskModel,
  | "id"
  | "userId"
  | "title"
  | "description"
  | "status"
  | "priority"
  | "dueAt"
  | "timeZone"
  | "seriesId"
  | "occurrenceIndex"
  | "completedAt"
  | "createdAt"
  | "updatedAt"
  | "version"
  | "listId"
  | "parentId"
> & {
  tags: { tag: string }[];
  /** A parent's subtasks: how many are completed, of how many. */
  subtasks: SubtaskCounts;
  reminders: { id: string; offsetMinutes: number | null; remindAt: Date | null }[];
};
type SeriesRow = Pick<
  SeriesModel,
  | "id"
  | "pattern"
  | "interval"
  | "weekdays"
  | "monthDay"
  | "lastDayOfMonth"
  | "monthWeek"
  | "anchor"
  | "endsAt"
  | "maxCount"
  | "active"
>;

export interface SubtaskCounts {
  done: number;
  total: number;
}

export const NO_SUBTASKS: SubtaskCounts = { done: 0, total: 0 };

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
    list_id: task.listId,
    parent_id: task.parentId,
    subtasks: { done: task.subtasks.done, total: task.subtasks.total },
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
          month_week: series.monthWeek,
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

/** Each task's subtask counts (tasks without subtasks are absent: NO_SUBTASKS). */
export async function subtaskCounts(db: Db | Tx, taskIds: string[]): Promise<Map<string, SubtaskCounts>> {
  if (taskIds.length === 0) return new Map();
  // Served by tasks_parent_id_idx.
  const rows = await db.$queryRaw<{ parent_id: string; done: number; total: number }[]>`
    SELECT parent_id, (count(*) FILTER (WHERE status = 'completed'))::int AS done, count(*)::int AS total
    FROM tasks WHERE parent_id = ANY(${taskIds}::uuid[]) GROUP BY parent_id`;
  return new Map(rows.map((r) => [r.parent_id, { done: r.done, total: r.total }]));
}

/** Loads one of `userId`'s tasks as a DTO; null when it does not exist or belongs to someone else. */
export async function loadTaskDto(db: Db | Tx, userId: string, taskId: string): Promise<TaskDto | null> {
  const task = await db.task.findFirst({ where: { id: taskId, userId }, include: taskInclude });
  if (!task) return null;
  const series = task.seriesId
    ? await db.taskRecurrence.findFirst({ where: { id: task.seriesId, userId } })
    : null;
  const counts = await subtaskCounts(db, [task.id]);
  return toTaskDto({ ...task, subtasks: counts.get(task.id) ?? NO_SUBTASKS }, series);
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
  const counts = await subtaskCounts(
    db,
    tasks.map((t) => t.id),
  );
  const byId = new Map(
    tasks.map((t) => [
      t.id,
      toTaskDto(
        { ...t, subtasks: counts.get(t.id) ?? NO_SUBTASKS },
        t.seriesId ? (seriesById.get(t.seriesId) ?? null) : null,
      ),
    ]),
  );
  return ids.map((id) => byId.get(id)).filter((t): t is TaskDto => t !== undefined);
}

/**
 * One query for a page of DTOs: `ids` (a query returning `id` and `cursor_key`, in page order)
 * joined with each task's columns, its series, and its tags and reminders aggregated as JSON
 * arrays, in the orders `taskInclude` gives them. One round trip where `loadTaskDtos` makes three
 * to four (tasks, tags, reminders, series), which was most of a list request's time.
 */
export function taskDtoSql(ids: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`WITH page AS (SELECT p.id, p.cursor_key, row_number() OVER () AS ord FROM (${ids}) AS p)
    SELECT page.id, page.cursor_key,
      t.user_id, t.title, t.description, t.status::text AS status, t.priority::text AS priority,
      t.due_at, t.time_zone, t.series_id, t.occurrence_index, t.completed_at, t.created_at,
      t.updated_at, t.version, t.list_id, t.parent_id,
      (SELECT count(*) FROM tasks c WHERE c.parent_id = t.id)::int AS sub_total,
      (SELECT count(*) FROM tasks c WHERE c.parent_id = t.id AND c.status = 'completed')::int AS sub_done,
      (SELECT coalesce(json_agg(tt.tag ORDER BY tt.created_at, tt.tag), '[]'::json)
         FROM task_tags tt WHERE tt.task_id = t.id) AS tags,
      (SELECT coalesce(json_agg(json_build_object(
                'id', r.id,
                'offset_minutes', r.offset_minutes,
                'remind_at', floor(extract(epoch FROM r.remind_at) * 1000)::bigint)
              ORDER BY r.offset_minutes DESC, r.remind_at ASC), '[]'::json)
         FROM task_reminders r WHERE r.task_id = t.id) AS reminders,
      s.id AS s_id, s.pattern::text AS s_pattern, s.interval AS s_interval, s.weekdays AS s_weekdays,
      s.month_day AS s_month_day, s.last_day_of_month AS s_last_day_of_month, s.month_week AS s_month_week,
      s.anchor::text AS s_anchor, s.ends_at AS s_ends_at, s.max_count AS s_max_count,
      s.active AS s_active
    FROM page
    JOIN tasks t ON t.id = page.id
    LEFT JOIN task_recurrence s ON s.id = t.series_id AND s.user_id = t.user_id
    ORDER BY page.ord`;
}

/** A row of `taskDtoSql`. */
export interface TaskDtoSqlRow {
  id: string;
  cursor_key: Date | string | number | null;
  user_id: string;
  title: string;
  description: string;
  status: TaskModel["status"];
  priority: TaskModel["priority"];
  due_at: Date | null;
  time_zone: string;
  series_id: string | null;
  occurrence_index: number | null;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  list_id: string;
  parent_id: string | null;
  sub_total: number;
  sub_done: number;
  tags: string[] | string;
  reminders: { id: string; offset_minutes: number | null; remind_at: number | null }[] | string;
  s_id: string | null;
  s_pattern: SeriesModel["pattern"] | null;
  s_interval: number | null;
  s_weekdays: number[] | null;
  s_month_day: number | null;
  s_last_day_of_month: boolean | null;
  s_month_week: number | null;
  s_anchor: SeriesModel["anchor"] | null;
  s_ends_at: Date | null;
  s_max_count: number | null;
  s_active: boolean | null;
}

const json = <T>(value: T | string): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);

/** A `taskDtoSql` row as a DTO (through `toTaskDto`, the one mapping). */
export function taskDtoOfRow(row: TaskDtoSqlRow): TaskDto {
  const task: TaskRow = {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    dueAt: row.due_at,
    timeZone: row.time_zone,
    seriesId: row.series_id,
    occurrenceIndex: row.occurrence_index,
    completedAt: row.completed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    listId: row.list_id,
    parentId: row.parent_id,
    subtasks: { done: row.sub_done, total: row.sub_total },
    tags: json(row.tags).map((tag) => ({ tag })),
    reminders: json(row.reminders).map((r) => ({
      id: r.id,
      offsetMinutes: r.offset_minutes,
      remindAt: r.remind_at === null ? null : new Date(Number(r.remind_at)),
    })),
  };
  const series: SeriesRow | null =
    row.s_id === null
      ? null
      : {
          id: row.s_id,
          pattern: row.s_pattern!,
          interval: row.s_interval!,
          weekdays: row.s_weekdays ?? [],
          monthDay: row.s_month_day,
          lastDayOfMonth: row.s_last_day_of_month!,
          monthWeek: row.s_month_week,
          anchor: row.s_anchor!,
          endsAt: row.s_ends_at,
          maxCount: row.s_max_count,
          active: row.s_active!,
        };
  return toTaskDto(task, series);
}
