// The read path: task lists (search, filters, sorts, keyset pagination) and the tag cloud. The
// SQL selects one page of ids in index order; records.ts `taskDtoSql` wraps it to load their DTOs
// in the same statement, and a row maps to a TaskDto in exactly one place (records.ts).
//
// Keyset, not OFFSET: a page starts right after the previous page's last (sort key, tie-breakers,
// id), so page 2,000 costs what page 1 costs. Every sort orders by exactly the expressions of its
// index (migration 20261205100000_sort_tie_breakers, e.g. coalesce(due_at, 'infinity') for due),
// so PostgreSQL walks the index and stops after `limit + 1` rows instead of sorting the user's
// tasks. The order itself, tie-breakers included, is core's (SORT_TIE_BREAKERS, compareTasks).
import {
  encodeCursor,
  fuzzySearchText,
  PRIORITY_RANK,
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
  /**
   * How a search matched: "words" (full text), or "similar" when no task holds its words and
   * these are the tasks whose title is close to them (a typo); null without a search.
   */
  match: SearchMatch | null;
}

export type SearchMatch = "words" | "similar";

export interface TagCount {
  tag: string;
  count: number;
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

// The sort expressions, each written exactly as its index is in migration 20261205100000.
const DUE_KEY = sql`coalesce(t.due_at, 'infinity'::timestamptz)`;
/** core's PRIORITY_RANK (high 0 … none 3) in SQL: an ascending walk is high first. */
const PRIORITY_RANK_SQL = sql`(CASE t.priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END)`;
const CREATED = sql`t.created_at`;
const ID = sql`t.id`;
const TITLE_KEY = sql`lower(t.title)`;

const INFINITY = sql`'infinity'::timestamptz`;
/** due, priority and created are read from the page's DTO row; only title and rank need their own. */
const NO_CURSOR_KEY = sql`NULL`;
const asDue = (value: string) => sql`${value}::timestamptz`;
const asRank = (priority: Priority) => sql`${PRIORITY_RANK[priority]}::int`;

/** One column of a sort's full order and the value a cursor holds for it. */
interface Column {
  expr: Sql;
  value: Sql;
}

interface SortPlan {
  /** The sort key: flips with the order. */
  key: Column;
  /** Tie-breakers, ascending whatever the order (`created`'s id flips with it: see `uniform`). */
  ties: Column[];
  /** The key as the cursor holds it, where the DTO row does not carry it (title, rank); else NULL. */
  cursorExpr: Sql;
  /** Whether the key's ascending walk is the order's "desc" (priority: desc = high first = rank ascending). */
  keyInverted: boolean;
  /** created: the id flips with the order, so one index serves both directions. */
  uniform: boolean;
}

/** The sort's columns, with the cursor's values when there is one (else placeholders, unused). */
function sortPlan(sort: Sort, q: string | null, after: CursorKey | null, similar: string | null): SortPlan {
  const none = sql`NULL`;
  const id = { expr: ID, value: after ? sql`${after.id}::uuid` : none };
  switch (sort) {
    case "due": {
      const a = after?.sort === "due" ? after : null;
      return {
        key: { expr: DUE_KEY, value: a ? asDue(a.key) : none },
        ties: [
          { expr: PRIORITY_RANK_SQL, value: a ? asRank(a.priority) : none },
          { expr: CREATED, value: a ? asDue(a.created) : none },
          id,
        ],
        cursorExpr: NO_CURSOR_KEY,
        keyInverted: false,
        uniform: false,
      };
    }
    case "priority": {
      const a = after?.sort === "priority" ? after : null;
      return {
        key: { expr: PRIORITY_RANK_SQL, value: a ? asRank(a.key) : none },
        ties: [
          { expr: DUE_KEY, value: a ? asDue(a.due) : none },
          { expr: CREATED, value: a ? asDue(a.created) : none },
          id,
        ],
        cursorExpr: NO_CURSOR_KEY,
        keyInverted: true,
        uniform: false,
      };
    }
    case "title": {
      const a = after?.sort === "title" ? after : null;
      return {
        key: { expr: TITLE_KEY, value: a ? sql`${a.key}::text` : none },
        ties: [
          { expr: DUE_KEY, value: a ? asDue(a.due) : none },
          { expr: CREATED, value: a ? asDue(a.created) : none },
          id,
        ],
        cursorExpr: TITLE_KEY,
        keyInverted: false,
        uniform: false,
      };
    }
    case "created": {
      const a = after?.sort === "created" ? after : null;
      return {
        key: { expr: CREATED, value: a ? asDue(a.key) : none },
        ties: [id],
        cursorExpr: NO_CURSOR_KEY,
        keyInverted: false,
        uniform: true,
      };
    }
    case "relevance": {
      // ts_rank_cd weighs title (A, 1.0) over description (B, 0.4). It returns real; the cursor
      // carries the value PostgreSQL printed, which casts back to the identical real.
      const a = after?.sort === "relevance" ? after : null;
      // A search by similarity ranks by it: how close the title comes to the words (0 to 1).
      const rank =
        similar === null
          ? sql`ts_rank_cd(t.search_vector, ${tsQuery(q ?? "")})`
          : sql`word_similarity(${similar}, t.title)`;
      return {
        key: { expr: rank, value: a ? sql`${a.key}::real` : none },
        ties: [
          { expr: PRIORITY_RANK_SQL, value: a ? asRank(a.priority) : none },
          { expr: DUE_KEY, value: a ? asDue(a.due) : none },
          { expr: CREATED, value: a ? asDue(a.created) : none },
          id,
        ],
        cursorExpr: rank,
        keyInverted: false,
        uniform: false,
      };
    }
  }
}

const row = (columns: Column[], part: "expr" | "value") =>
  columns.length === 1 ? columns[0]![part] : sql`(${join(columns.map((c) => c[part]))})`;

/**
 * Rows after the cursor in the order "key `keyDir`, ties ascending": one row comparison when both
 * run the same way (an index range condition), else the key's bound (the index range) and, within
 * the cursor's own key, the ties after the cursor's.
 */
function afterCursor(plan: SortPlan, keyAsc: boolean): Sql {
  const { key, ties } = plan;
  if (keyAsc || plan.uniform) {
    const all = [key, ...ties];
    return sql`${row(all, "expr")} ${keyAsc ? sql`>` : sql`<`} ${row(all, "value")}`;
  }
  return sql`${key.expr} <= ${key.value} AND (${key.expr} < ${key.value} OR (${key.expr} = ${key.value} AND ${row(ties, "expr")} > ${row(ties, "value")}))`;
}

/** One index walk of a page query: its own conditions, in the sort's full order. */
interface Branch {
  where: Sql[];
}

/** The WHERE conditions of a query: the owner first, then search and every filter given. */
function conditions(userId: string, query: TaskListQuery, now: Date, similar: string | null): Sql[] {
  const conds: Sql[] = [sql`t.user_id = ${userId}::uuid`];
  // pg_trgm's `<%`: some extent of the title has a word similarity to the text of at least the
  // threshold (SIMILARITY_THRESHOLD), served by the (user_id, title gin_trgm_ops) index.
  if (similar !== null) conds.push(sql`${similar} <% t.title`);
  else if (query.q) conds.push(sql`t.search_vector @@ ${tsQuery(query.q)}`);
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
  if (query.listId) conds.push(sql`t.list_id = ${query.listId}::uuid`);
  if (query.listName)
    conds.push(sql`t.list_id IN (SELECT l.id FROM task_lists l
                                 WHERE l.user_id = ${userId}::uuid AND lower(l.name) = lower(${query.listName}))`);
  // An archived list's tasks are kept, not shown, unless the list is asked for: its ids, read once
  // (an InitPlan), filter the sort index's walk.
  if (!query.listId && !query.listName)
    conds.push(sql`t.list_id <> ALL (ARRAY(SELECT l.id FROM task_lists l
                                           WHERE l.user_id = ${userId}::uuid AND l.archived_at IS NOT NULL))`);
  if (query.parentId) conds.push(sql`t.parent_id = ${query.parentId}::uuid`);
  if (query.topLevel) conds.push(sql`t.parent_id IS NULL`);
  return conds;
}

/**
 * The SQL selecting one page (limit + 1 rows, the extra one says whether a next page exists) of
 * the user's task ids with each row's cursor key. Exported for the index-use test (EXPLAIN).
 *
 * Each sort has one index, (user_id, key, ties…) ascending. A page in the key's ascending order,
 * or of `created`, is one walk of it, forward or backward. A descending key with ascending ties
 * walks the index backward and sorts each run of equal keys (an Incremental Sort over a few rows),
 * except where a run can be large: priority (four values) reads each priority's range forward, and
 * the due sort's undated tasks (kept last) are their own forward range. Those ranges are UNION ALL
 * branches, each bounded by LIMIT, in order.
 */
export function taskPageSql(
  userId: string,
  query: TaskListQuery,
  now: Date,
  /** A search by similarity (fuzzySearchText) instead of the full-text one, for a typo. */
  similar: string | null = null,
): Sql {
  const after = query.after;
  const plan = sortPlan(query.sort, query.q, after, similar);
  // Whether the key's index walk runs forward.
  const keyAsc = (query.order === "asc") !== plan.keyInverted;
  const keyDir = keyAsc ? ASC : DESC;
  const tieDir = plan.uniform ? keyDir : ASC;
  const take = query.limit + 1;
  const where = (extra: Sql[]) => join([...conditions(userId, query, now, similar), ...extra], " AND ");
  const orderBy = join([
    sql`${plan.key.expr} ${keyDir}`,
    ...plan.ties.map((tie) => sql`${tie.expr} ${tieDir}`),
  ]);

  const branches: Branch[] = [];
  const tiesAfter = sql`${row(plan.ties, "expr")} > ${row(plan.ties, "value")}`;
  if (query.sort === "due" && !keyAsc) {
    // Latest first, undated still last: the dated tasks, then the undated ones (ties only).
    const undated = sql`${DUE_KEY} = ${INFINITY}`;
    if (!after || (after.sort === "due" && after.key !== "infinity")) {
      branches.push({
        where: [sql`${DUE_KEY} < ${INFINITY}`, ...(after ? [afterCursor(plan, keyAsc)] : [])],
      });
      branches.push({ where: [undated] });
    } else {
      branches.push({ where: [undated, tiesAfter] });
    }
  } else if (query.sort === "priority" && !keyAsc) {
    // None first: each priority's range, from the cursor's on, read forward by its ties.
    const from = after?.sort === "priority" ? PRIORITY_RANK[after.key] : 3;
    for (let rank = from; rank >= 0; rank--) {
      const own = sql`${PRIORITY_RANK_SQL} = ${rank}::int`;
      branches.push({ where: after && rank === from ? [own, tiesAfter] : [own] });
    }
  } else {
    branches.push({ where: after ? [afterCursor(plan, keyAsc)] : [] });
  }

  const select = sql`SELECT t.id, ${plan.cursorExpr} AS cursor_key FROM tasks t`;
  if (branches.length === 1) {
    return sql`${select} WHERE ${where(branches[0]!.where)} ORDER BY ${orderBy} LIMIT ${take}`;
  }
  // Each branch keeps its rows' order; the branches are in order, so (branch, position) is the page's.
  const parts = branches.map(
    (branch, index) =>
      sql`(SELECT page.*, ${index}::int AS branch, row_number() OVER () AS position FROM (
        ${select} WHERE ${where(branch.where)} ORDER BY ${orderBy} LIMIT ${take}) AS page)`,
  );
  return sql`SELECT id, cursor_key FROM (${join(parts, " UNION ALL ")}) AS pages
    ORDER BY branch, position LIMIT ${take}`;
}

function cursorKeyOf(sort: Sort, row: TaskDtoSqlRow): CursorKey {
  const value = row.cursor_key;
  const due = row.due_at ? row.due_at.toISOString() : "infinity";
  const created = row.created_at.toISOString();
  switch (sort) {
    case "due":
      return { sort, key: due, priority: row.priority, created, id: row.id };
    case "created":
      return { sort, key: created, id: row.id };
    case "title":
      return { sort, key: String(value), due, created, id: row.id };
    case "priority":
      return { sort, key: row.priority, due, created, id: row.id };
    case "relevance":
      return { sort, key: Number(value), priority: row.priority, due, created, id: row.id };
  }
}

/**
 * One page of `userId`'s tasks matching `query`, and the cursor of the next page (null at the end).
 *
 * A search whose words no task holds (whatever the filters) is a typo more often than not: then
 * the page is of tasks whose title is close to the words (`match: "similar"`). Which of the two a
 * search is gets decided on every page the same way, so a cursor walks one of them; the common
 * case, a search with results, costs no extra query.
 */
export async function listTasks(
  db: Db | Tx,
  userId: string,
  query: TaskListQuery,
  now: Date,
): Promise<TaskPage> {
  // The page's ids and their DTOs in one statement (records.ts `taskDtoSql`).
  let rows = await db.$queryRaw<TaskDtoSqlRow[]>(taskDtoSql(taskPageSql(userId, query, now)));
  let match: SearchMatch | null = query.q ? "words" : null;
  const similar = query.q ? fuzzySearchText(query.q) : null;
  if (rows.length === 0 && similar !== null && !(await anyTaskHoldsWords(db, userId, query.q!))) {
    // pg_trgm's threshold is a setting: set for this transaction only, then the page.
    const run = async (tx: Db | Tx) => {
      await tx.$executeRaw`SELECT set_config('pg_trgm.word_similarity_threshold', ${String(SIMILARITY_THRESHOLD)}, true)`;
      return tx.$queryRaw<TaskDtoSqlRow[]>(taskDtoSql(taskPageSql(userId, query, now, similar)));
    };
    rows = "$transaction" in db ? await db.$transaction(run) : await run(db);
    match = "similar";
  }
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > query.limit && last
      ? encodeCursor(cursorKeyOf(query.sort, last), query.order, query.q)
      : null;
  return { items: page.map(taskDtoOfRow), nextCursor, match };
}

/**
 * How close a title must come to a search's words (pg_trgm word similarity, 0 to 1) to be listed
 * for a typo. PostgreSQL's default, 0.6, misses a swapped pair of letters ("grocreies" →
 * "Buy groceries" is 0.43); below 0.4 unrelated titles sharing a syllable come in.
 */
export const SIMILARITY_THRESHOLD = 0.4;

/** Whether any of the user's tasks, in any state, holds the words of search `q`. */
async function anyTaskHoldsWords(db: Db | Tx, userId: string, q: string): Promise<boolean> {
  const [row] = await db.$queryRaw<{ found: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM tasks t WHERE t.user_id = ${userId}::uuid AND t.search_vector @@ ${tsQuery(q)}) AS found`;
  return row?.found === true;
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
