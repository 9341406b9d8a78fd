// Lists as they are read: the reads the API, the web app and MCP share. Apart from the commands
// (lists.ts), which write events through the outbox: the web app reads lists and must not bundle
// the outbox (and its metrics) into its server build (tests/manifests/web-image.e2e.test.ts).
import type { ListDto, ListSummary } from "#core/lists.ts";
import type { Db, Tx } from "#db/client.ts";

export type ListRow = NonNullable<Awaited<ReturnType<Db["taskList"]["findFirst"]>>>;

export function toListDto(row: ListRow): ListDto {
  return {
    id: row.id,
    user_id: row.userId,
    name: row.name,
    color: row.color as ListDto["color"],
    is_inbox: row.isInbox,
    archived: row.archivedAt !== null,
    archived_at: row.archivedAt?.toISOString() ?? null,
    position: row.position,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    version: row.version,
  };
}

export type ListFilter = "active" | "archived" | "all";

/** The user's lists, Inbox first, then by position and name, each with its open (top-level and sub-) tasks. */
export async function listLists(
  db: Db | Tx,
  userId: string,
  filter: ListFilter = "active",
): Promise<ListSummary[]> {
  const rows = await db.taskList.findMany({
    where: {
      userId,
      ...(filter === "active"
        ? { archivedAt: null }
        : filter === "archived"
          ? { archivedAt: { not: null } }
          : {}),
    },
    orderBy: [{ isInbox: "desc" }, { position: "asc" }, { createdAt: "asc" }],
  });
  if (rows.length === 0) return [];
  // Served by tasks_list_id_status_idx.
  const counts = await db.$queryRaw<{ list_id: string; open: number }[]>`
    SELECT list_id, count(*)::int AS open FROM tasks
    WHERE list_id = ANY(${rows.map((r) => r.id)}::uuid[]) AND status = 'pending'
    GROUP BY list_id`;
  const open = new Map(counts.map((c) => [c.list_id, c.open]));
  return rows.map((row) => ({ ...toListDto(row), open_tasks: open.get(row.id) ?? 0 }));
}

/** One of the user's lists; null when there is none with this id (or it is someone else's). */
export async function loadList(db: Db | Tx, userId: string, listId: string): Promise<ListDto | null> {
  const row = await db.taskList.findFirst({ where: { id: listId, userId } });
  return row ? toListDto(row) : null;
}

/** The user's active list with this name (ignoring case), else the most recently archived one. */
export async function findListByName(db: Db | Tx, userId: string, name: string): Promise<ListDto | null> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM task_lists WHERE user_id = ${userId}::uuid AND lower(name) = lower(${name.trim()})
    ORDER BY archived_at DESC NULLS FIRST LIMIT 1`;
  return rows[0] ? loadList(db, userId, rows[0].id) : null;
}
