// The committed migrations and prisma/schema.prisma describe the same database. Prisma's own
// drift check (`migrate diff --from-url/--from-schema-datasource`) is refused when the CLI runs
// through a driver adapter, so we compare catalogs: one database built from the SQL Prisma
// derives from the datamodel, one from our migrations. Every table, column (type, nullability,
// default) and index of the first must be in the second; the second may add only what Prisma's
// schema language cannot express (expression/partial/GIN indexes, CHECKs, the generated column).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
import { expect, test } from "vitest";
import { ensureDatabase } from "#db/embedded-postgres.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";
import { inject } from "vitest";

const run = promisify(execFile);

async function catalog(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const columns = await client.query(`
      SELECT table_name, column_name, data_type, udt_name, is_nullable, coalesce(column_default, '') AS column_default
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
      ORDER BY table_name, column_name`);
    const indexes = await client.query(`
      SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
      ORDER BY indexname`);
    const enums = await client.query(`
      SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS labels
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY t.typname`);
    return { columns: columns.rows, indexes: indexes.rows, enums: enums.rows };
  } finally {
    await client.end();
  }
}

test("the migrations build every table, column, enum and index prisma/schema.prisma declares", async () => {
  // The CLI connects through its adapter even for a datamodel-only diff; it only reads.
  const migratedUrl = await workerDatabaseUrl();
  const { stdout: sql } = await run(
    `${REPO_ROOT}/node_modules/.bin/prisma`,
    ["migrate", "diff", "--from-empty", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
    { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: migratedUrl, CHECKPOINT_DISABLE: "1" } },
  );
  const fromDatamodelUrl = await ensureDatabase(
    inject("adminUrl"),
    `orbit_t${inject("runId")}_datamodel_${process.env.VITEST_POOL_ID ?? 0}`,
  );
  const client = new pg.Client({ connectionString: fromDatamodelUrl });
  await client.connect();
  await client.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
  await client.query(sql);
  await client.end();

  const expected = await catalog(fromDatamodelUrl);
  const actual = await catalog(migratedUrl);

  expect(actual.enums).toEqual(expected.enums);
  expect(actual.columns).toEqual(expected.columns);
  const actualIndexes = new Map(actual.indexes.map((i) => [i.indexname, i.indexdef]));
  for (const index of expected.indexes)
    expect(actualIndexes.get(index.indexname), index.indexname).toBe(index.indexdef);
  // And the extras are exactly the documented ones.
  const extras = actual.indexes
    .map((i) => i.indexname)
    .filter((name) => !expected.indexes.some((e) => e.indexname === name));
  expect(extras.sort()).toEqual([
    "dead_letters_open_event_key",
    "outbox_pending_next_attempt_idx",
    "outbox_pending_partition_idx",
    "task_lists_user_id_inbox_key",
    "task_lists_user_id_name_active_key",
    "task_tags_task_id_tag_key",
    "task_tags_user_id_tag_idx",
    "tasks_due_sort_idx",
    "tasks_pending_due_idx",
    "tasks_priority_sort_idx",
    "tasks_title_sort_idx",
    "tasks_user_id_search_vector_idx",
    "tasks_user_id_title_trgm_idx",
  ]);
}, 60_000);
