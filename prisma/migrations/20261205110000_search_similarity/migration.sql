-- Tolerance for a typo in a search: when no task holds a search's words, tasks whose title is
-- close to them (pg_trgm word similarity, `text <% title`) are listed instead
-- (packages/tasks/src/queries.ts, listTasks). pg_trgm ships with PostgreSQL (contrib) and is on
-- every managed PostgreSQL's allow-list. The index leads with user_id (btree_gin, as the full-text
-- index does), so a similarity search reads one user's titles only.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX "tasks_user_id_title_trgm_idx" ON "tasks" USING GIN ("user_id", "title" gin_trgm_ops);
