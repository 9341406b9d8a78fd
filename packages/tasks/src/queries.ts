// The read path: task lists (search, filters, sorts, keyset pagination) and the tag cloud. The
// SQL selects one page of ids in index order; records.ts `taskDtoSql` wraps it to load their DTOs
// in the same statement, and a row maps to a TaskDto in exactly one place (records.ts).
//
// Keyset, not OFFSET: a page starts right after the previous page's last (sort key, id), so page
// 2,000 costs what page 1 costs. Every sort orders by exactly the expression of its index in the
// init migration (e.g. coalesce(due_at, 'infinity') for due), so PostgreSQL walks the index and
// stops after `limit + 1` rows instead of sorting the user's tasks.
import {
  encodeCursor,
  searchParts,
  type CursorKey,
  type Sort,
  type TaskListQuery,
} from "#core/task-query.ts";
import type { Priority, TaskDto } from "#core/tasks.ts";
import type { Db, Tx } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";
import { taskDtoOfRow, taskDtoSql, type TaskDtoSqlRow } from "./records.ts";

type Sql = Prisma.Sql;
const { sql, join } = Prisma;

export interface TaskPage {
  items: TaskDto[];
  nextCursor: string | null;
}

export interface TagCount {
  tag: string;
  count: number;
}

interface PageRow {
  id: string;
  cursor_key: Date | string | number | null;
}

const ASC = sql`ASC`;
const DESC = sql`DESC`;

/**
 * websearch_to_tsquery accepts any text (quotes, OR, -word) without raising a syntax error. The last
 * bare word also matches as a prefix (searchParts): to_tsquery gets only letters and digits then
 * ":*", stemmed like the index ("groc:*" → 'groc':*), joined by AND (or OR after "or"); an empty
 * side (a stop word, or no other words) leaves the other.
 */
const tsQuery = (q: string) => {
  const { words, prefix, or } = searchParts(q);
  if (!prefix) return sql`websearch_to_tsquery('english', ${q})`;
  const op = or ? sql`||` : sql`&&`;
  return sql`(websearch_to_tsquery('english', ${words}) ${op} to_tsquery('english', ${`${prefix}:*`}))`;
};

interface SortPlan {
  /** The ORDER BY key, written exactly as its index is. */
  key: Sql;
  /** What goes into the cursor (a JS-friendly rendering of the key). */
  cursorExpr: Sql;
  /** A cursor's key as a typed SQL parameter, comparable with `key`. */
  param(key: CursorKey["key"]): Sql;
  /** True when the id tie-breaker runs against the key's direction (see the priority index). */
  idReversed: boolean;
}

function sortPlan(sort: Sort, q: string | null): SortPlan {
  switch (sort) {
    case "due":
      return {
        key: sql`coalesce(t.due_at, 'infinity'::timestamptz)`,
        cursorExpr: sql`t.due_at`,
        param: (key) => sql`${key}::timestamptz`,
        idReversed: false,
      };
    case "created":
      return {
        key: sql`t.created_at`,
        cursorExpr: sql`t.created_at`,
        param: (key) => sql`${key}::timestamptz`,
        idReversed: false,
      };
    case "title":
      return {
        key: sql`lower(t.title)`,
        cursorExpr: sql`lower(t.title)`,
        param: (key) => sql`${key}::text`,
        idReversed: false,
      };
    case "priority":
      // The index is (user_id, priority DESC, id): a forward scan yields high→none with ids
      // ascending, a backward scan none→high with ids descending.
      return {
        key: sql`t.priority`,
        cursorExpr: sql`t.priority::text`,
        param: (key) => sql`${key}::priority`,
        idReversed: true,
      };
    case "relevance":
      // ts_rank_cd weighs title (A, 1.0) over description (B, 0.4). It returns real; the cursor
      // carries the value PostgreSQL printed, which casts back to the identical real.
      return {
        key: sql`ts_rank_cd(t.search_vector, ${tsQuery(q ?? "")})`,
        cursorExpr: sql`ts_rank_cd(t.search_vector, ${tsQuery(q ?? "")})`,
        param: (key) => sql`${key}::real`,
        idReversed: false,
      };
  }
}

/** The WHERE conditions of a query: the owner first, then search and every filter given. */
function conditions(userId: string, query: TaskListQuery, now: Date): Sql[] {
  const conds: Sql[] = [sql`t.user_id = ${userId}::uuid`];
  if (query.q) conds.push(sql`t.search_vector @@ ${tsQuery(query.q)}`);
  if (query.status !== "all") conds.push(sql`t.status = ${query.status}::task_status`);
  if (query.priorities) conds.push(sql`t.priority = ANY(${query.priorities}::priority[])`);
  if (query.tags) {
    // Served by task_tags (user_id, lower(tag), task_id).
    const wanted = join(query.tags.map((tag) => sql`lower(${tag})`));
    conds.push(
      query.tagMode === "any"
        ? sql`t.id IN (SELECT tt.task_id FROM task_tags tt
                       WHERE tt.user_id = ${userId}::uuid AND lower(tt.tag) IN (${wanted}))`
        : sql`t.id IN (SELECT tt.task_id FROM task_tags tt
                       WHERE tt.user_id = ${userId}::uuid AND lower(tt.tag) IN (${wanted})
                       GROUP BY tt.task_id HAVING count(*) = ${query.tags.length})`,
    );
  }
  if (query.dueFrom) conds.push(sql`t.due_at >= ${query.dueFrom.toISOString()}::timestamptz`);
  if (query.dueTo) conds.push(sql`t.due_at < ${query.dueTo.toISOString()}::timestamptz`);
  // Spelled like the partial index's predicate, so the planner can use tasks_pending_due_idx.
  const overdue = sql`(t.status = 'pending' AND t.due_at IS NOT NULL AND t.due_at < ${now.toISOString()}::timestamptz)`;
  if (query.overdue === true) conds.push(overdue);
  if (query.overdue === false) conds.push(sql`NOT ${overdue}`);
  if (query.noDue === true) conds.push(sql`t.due_at IS NULL`);
  if (query.noDue === false) conds.push(sql`t.due_at IS NOT NULL`);
  return conds;
}

/**
 * The SQL selecting one page (limit + 1 rows, the extra one says whether a next page exists) of
 * the user's task ids with each row's cursor key. Exported for the index-use test (EXPLAIN).
 */
export function taskPageSql(userId: string, query: TaskListQuery, now: Date): Sql {
  const plan = sortPlan(query.sort, query.q);
  const keyDir = query.order === "asc" ? ASC : DESC;
  const idAsc = (query.order === "asc") !== plan.idReversed;
  const idDir = idAsc ? ASC : DESC;
  const take = query.limit + 1;
  const where = (extra: Sql[]) => join([...conditions(userId, query, now), ...extra], " AND ");
  const select = sql`SELECT t.id, ${plan.cursorExpr} AS cursor_key FROM tasks t`;
  const after = query.after;

  if (!after) {
    return sql`${select} WHERE ${where([])}
      ORDER BY ${plan.key} ${keyDir}, t.id ${idDir} LIMIT ${take}`;
  }
  const keyParam = plan.param(after.key);
  const idParam = sql`${after.id}::uuid`;
  if (!plan.idReversed) {
    // One row-value comparison: an index range condition on (key, id).
    const cmp = query.order === "asc" ? sql`>` : sql`<`;
    return sql`${select} WHERE ${where([sql`(${plan.key}, t.id) ${cmp} (${keyParam}, ${idParam})`])}
      ORDER BY ${plan.key} ${keyDir}, t.id ${idDir} LIMIT ${take}`;
  }
  // Key and id run in opposite directions, which a row comparison cannot express. Two index
  // ranges instead, each bounded by LIMIT: the rest of the last key's group, then later keys.
  const keyCmp = query.order === "asc" ? sql`>` : sql`<`;
  const idCmp = idAsc ? sql`>` : sql`<`;
  const branch = sql`SELECT t.id, ${plan.cursorExpr} AS cursor_key, ${plan.key} AS sort_key FROM tasks t`;
  return sql`SELECT id, cursor_key FROM (
      (${branch} WHERE ${where([sql`${plan.key} = ${keyParam}`, sql`t.id ${idCmp} ${idParam}`])}
        ORDER BY ${plan.key} ${keyDir}, t.id ${idDir} LIMIT ${take})
      UNION ALL
      (${branch} WHERE ${where([sql`${plan.key} ${keyCmp} ${keyParam}`])}
        ORDER BY ${plan.key} ${keyDir}, t.id ${idDir} LIMIT ${take})
    ) AS page
    ORDER BY sort_key ${keyDir}, id ${idDir} LIMIT ${take}`;
}

function cursorKeyOf(sort: Sort, row: PageRow): CursorKey {
  const value = row.cursor_key;
  switch (sort) {
    case "due":
      return { sort, key: value instanceof Date ? value.toISOString() : "infinity", id: row.id };
    case "created":
      return { sort, key: (value as Date).toISOString(), id: row.id };
    case "title":
      return { sort, key: String(value), id: row.id };
    case "priority":
      return { sort, key: String(value) as Priority, id: row.id };
    case "relevance":
      return { sort, key: Number(value), id: row.id };
  }
}

/** One page of `userId`'s tasks matching `query`, and the cursor of the next page (null at the end). */
export async function listTasks(
  db: Db | Tx,
  userId: string,
  query: TaskListQuery,
  now: Date,
): Promise<TaskPage> {
  // The page's ids and their DTOs in one statement (records.ts `taskDtoSql`).
  const rows = await db.$queryRaw<TaskDtoSqlRow[]>(taskDtoSql(taskPageSql(userId, query, now)));
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > query.limit && last
      ? encodeCursor(cursorKeyOf(query.sort, last), query.order, query.q)
      : null;
  return { items: page.map(taskDtoOfRow), nextCursor };
}

/**
 * The user's tags, most used first. Tags are case-insensitive: one entry per lowercased tag. Commands
 * reuse the spelling a user already has, so a tag normally has one; should two ever coexist, the
 * entry shows the first in collation order (an aggregate the grouping computes anyway, where
 * "earliest created" would sort every tag row: twice the time at 100,000 tasks).
 */
export async function listTags(db: Db | Tx, userId: string): Promise<TagCount[]> {
  return db.$queryRaw<TagCount[]>`
    SELECT min(tt.tag) AS tag, count(*)::int AS count
    FROM task_tags tt
    WHERE tt.user_id = ${userId}::uuid
    GROUP BY lower(tt.tag)
    ORDER BY count(*) DESC, lower(tt.tag) ASC`;
}
