// Saved views of the task list: a name and the list URL's query string it restores, per user
// (table saved_views). What a view may hold is #core/task-query.ts's savedViewSchema.
import type { z } from "zod";
import type { savedViewSchema } from "#core/task-query.ts";
import type { Db } from "#db/client.ts";

export interface SavedView {
  id: string;
  name: string;
  query: string;
}

/** The user's views in the order they were first saved, then by name. */
export async function listSavedViews(db: Db, userId: string): Promise<SavedView[]> {
  const views = await db.savedView.findMany({
    where: { userId },
    orderBy: [{ position: "asc" }, { name: "asc" }],
  });
  return views.map((view) => ({ id: view.id, name: view.name, query: view.query }));
}

/** Saving under a name the user already has replaces that view's query, keeping its place. */
export async function saveView(
  db: Db,
  userId: string,
  { name, query }: z.output<typeof savedViewSchema>,
): Promise<void> {
  const position = await db.savedView.count({ where: { userId } });
  await db.savedView.upsert({
    where: { userId_name: { userId, name } },
    create: { userId, name, query, position },
    update: { query },
  });
}

/** Deleting a view that is not there (or not the user's) changes nothing. */
export async function deleteView(db: Db, userId: string, id: string): Promise<void> {
  await db.savedView.deleteMany({ where: { id, userId } });
}
