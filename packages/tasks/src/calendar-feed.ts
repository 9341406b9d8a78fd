// The read behind a user's calendar feed (core's icalendar.ts renders it): their dated tasks, open
// ones and those completed in the last 30 days, each with its series when it repeats. A feed is
// fetched by calendar apps every hour or so, so it is bounded: at most FEED_MAX_TASKS tasks, the
// ones due nearest to now. Tasks of archived lists are left out, as from the other default views;
// each item names its list in CATEGORIES.
import type { CalendarTask } from "#core/icalendar.ts";
import type { Db, Tx } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
import { taskDtoOfRow, taskDtoSql, type TaskDtoSqlRow } from "./records.ts";
import { recurrenceRule } from "./series-rule.ts";

export const FEED_LIMITS = {
  /** Completed tasks stay in the feed this long after completion (days). */
  completedDays: 30,
  /** At most this many tasks, those due nearest to now. */
  maxTasks: 2000,
} as const;

const DAY = 86_400_000;

/**
 * `userId`'s tasks for their calendar feed, in due order. `taskUrl` makes the link each item
 * carries back to the task in Orbit.
 */
export async function calendarFeedTasks(
  db: Db | Tx,
  userId: string,
  now: Date,
  taskUrl: (taskId: string) => string | null = () => null,
): Promise<CalendarTask[]> {
  const since = new Date(now.getTime() - FEED_LIMITS.completedDays * DAY);
  const ids = Prisma.sql`SELECT t.id, t.due_at AS cursor_key FROM tasks t
    WHERE t.user_id = ${userId}::uuid AND t.due_at IS NOT NULL
      AND (t.status = 'pending' OR t.completed_at >= ${since.toISOString()}::timestamptz)
      AND t.list_id <> ALL (ARRAY(SELECT l.id FROM task_lists l
                                  WHERE l.user_id = ${userId}::uuid AND l.archived_at IS NOT NULL))
    ORDER BY abs(extract(epoch FROM t.due_at - ${now.toISOString()}::timestamptz)), t.id
    LIMIT ${FEED_LIMITS.maxTasks}`;
  const rows = await db.$queryRaw<TaskDtoSqlRow[]>(taskDtoSql(ids));
  const seriesIds = [...new Set(rows.map((row) => row.s_id).filter((id): id is string => id !== null))];
  const series = seriesIds.length
    ? await db.taskRecurrence.findMany({ where: { id: { in: seriesIds }, userId } })
    : [];
  const seriesById = new Map(series.map((s) => [s.id, s]));
  const lists = await db.taskList.findMany({ where: { userId }, select: { id: true, name: true } });
  const listName = new Map(lists.map((l) => [l.id, l.name]));
  return rows
    .map((row): CalendarTask => {
      const task = taskDtoOfRow(row);
      const s = task.series_id ? seriesById.get(task.series_id) : undefined;
      return {
        id: task.id,
        title: task.title,
        description: task.description,
        status: task.status,
        priority: task.priority,
        dueAt: new Date(task.due_at!),
        tags: task.tags,
        list: listName.get(task.list_id) ?? null,
        reminders: task.reminders.map((r) => ({
          offsetMinutes: r.offset_minutes,
          remindAt: r.remind_at === null ? null : new Date(r.remind_at),
        })),
        completedAt: task.completed_at === null ? null : new Date(task.completed_at),
        createdAt: new Date(task.created_at),
        updatedAt: new Date(task.updated_at),
        version: task.version,
        url: taskUrl(task.id),
        series: s
          ? {
              id: s.id,
              rule: recurrenceRule(s),
              active: s.active,
              occurrencesCreated: s.occurrencesCreated,
              occurrenceIndex: task.occurrence_index,
              version: s.version,
              updatedAt: s.updatedAt,
            }
          : null,
      };
    })
    .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.id.localeCompare(b.id));
}
