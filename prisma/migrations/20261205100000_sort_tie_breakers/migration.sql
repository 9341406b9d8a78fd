-- Every sort has tie-breakers that run the same way whichever direction its key runs (core's
-- SORT_TIE_BREAKERS): due → priority (high first) → created → id; priority → due → created → id;
-- title → due → created → id. One index per sort holds the whole order, so a page is one walk of
-- it (packages/tasks/src/queries.ts). They replace the (key, id) indexes. The priority rank is
-- core's PRIORITY_RANK, written exactly as the query writes it.
DROP INDEX "tasks_user_id_due_key_id_idx";
DROP INDEX "tasks_user_id_title_key_id_idx";
DROP INDEX "tasks_user_id_priority_id_idx";

CREATE INDEX "tasks_due_sort_idx" ON "tasks" (
  "user_id",
  (coalesce("due_at", 'infinity'::timestamptz)),
  (CASE "priority" WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END),
  "created_at",
  "id"
);
CREATE INDEX "tasks_priority_sort_idx" ON "tasks" (
  "user_id",
  (CASE "priority" WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END),
  (coalesce("due_at", 'infinity'::timestamptz)),
  "created_at",
  "id"
);
CREATE INDEX "tasks_title_sort_idx" ON "tasks" (
  "user_id",
  (lower("title")),
  (coalesce("due_at", 'infinity'::timestamptz)),
  "created_at",
  "id"
);
