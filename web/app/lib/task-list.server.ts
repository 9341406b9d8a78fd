// The task list's URL (what a bookmark holds) → the shared list query (#core/task-query.ts), whose
// rules and SQL (#tasks/queries.ts) are the API's own. UI parameters: q, status, priority, tag,
// due (overdue|today|week|none), from/to (a due date range, calendar days in the user's zone, both
// ends included), sort, order, list (a list's id: that list's page); `cursor` fetches the next page.
// Subtasks are listed under their parent (its page) unless the view searches or filters by
// something a subtask may match on its own (words, tag, priority, due): then they are found too.
import { dueWindow } from "#core/list-filters.ts";
import { taskListQuerySchema, type TaskListQuery } from "#core/task-query.ts";

export interface ListFilters {
  q: string;
  status: string;
  priority: string;
  tag: string;
  due: string;
  from: string;
  to: string;
  sort: string;
  order: string;
  list: string;
}

export function filtersOf(url: URL): ListFilters {
  const get = (name: string) => url.searchParams.get(name)?.trim() ?? "";
  return {
    q: get("q"),
    status: get("status") || "pending",
    priority: get("priority"),
    tag: get("tag"),
    due: get("due"),
    from: get("from"),
    to: get("to"),
    sort: get("sort"),
    order: get("order"),
    list: get("list"),
  };
}

export type ParsedList = { ok: true; query: TaskListQuery } | { ok: false; errors: string[] };

export function listQueryOf(url: URL, timeZone: string, now: Date, limit = 50): ParsedList {
  const f = filtersOf(url);
  const params: Record<string, string> = { status: f.status, limit: String(limit) };
  if (f.q) params.q = f.q;
  if (f.priority) params.priority = f.priority;
  if (f.tag) params.tags = f.tag;
  if (f.sort) params.sort = f.sort;
  if (f.order) params.order = f.order;
  if (f.list) params.list_id = f.list;
  if (!f.q && !f.priority && !f.tag && !f.due && !f.from && !f.to) params.top_level = "true";
  const cursor = url.searchParams.get("cursor");
  if (cursor) params.cursor = cursor;
  const due = dueWindow({ preset: f.due, from: f.from, to: f.to }, timeZone, now);
  if (!due.ok) return { ok: false, errors: due.errors };
  Object.assign(params, due.params);
  const parsed = taskListQuerySchema.safeParse(params);
  if (parsed.success) return { ok: true, query: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => `${issue.path.join(".") || "query"} ${issue.message}`),
  };
}
