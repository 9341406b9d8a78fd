// The task list's URL (what a bookmark holds) → the shared list query (#core/task-query.ts), whose
// rules and SQL (#tasks/queries.ts) are the API's own. UI parameters: q, status, priority, tag,
// due (overdue|today|week|none), sort, order; `cursor` fetches the next page.
import { DateTime } from "luxon";
import { taskListQuerySchema, type TaskListQuery } from "#core/task-query.ts";

export const DUE_PRESETS = ["overdue", "today", "week", "none"] as const;

export interface ListFilters {
  q: string;
  status: string;
  priority: string;
  tag: string;
  due: string;
  sort: string;
  order: string;
}

export function filtersOf(url: URL): ListFilters {
  const get = (name: string) => url.searchParams.get(name)?.trim() ?? "";
  return {
    q: get("q"),
    status: get("status") || "pending",
    priority: get("priority"),
    tag: get("tag"),
    due: get("due"),
    sort: get("sort"),
    order: get("order"),
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
  const cursor = url.searchParams.get("cursor");
  if (cursor) params.cursor = cursor;
  const today = DateTime.fromJSDate(now, { zone: timeZone }).startOf("day");
  switch (f.due) {
    case "overdue":
      params.overdue = "true";
      break;
    case "today":
      params.due_from = today.toUTC().toISO()!;
      params.due_to = today.plus({ days: 1 }).toUTC().toISO()!;
      break;
    case "week":
      params.due_from = today.toUTC().toISO()!;
      params.due_to = today.plus({ days: 7 }).toUTC().toISO()!;
      break;
    case "none":
      params.no_due = "true";
      break;
  }
  const parsed = taskListQuerySchema.safeParse(params);
  if (parsed.success) return { ok: true, query: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => `${issue.path.join(".") || "query"} ${issue.message}`),
  };
}
