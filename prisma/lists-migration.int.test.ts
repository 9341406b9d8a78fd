// Migration 20261207100000_lists_and_subtasks on a database that already holds users and tasks:
// each existing user gets one Inbox holding all their tasks, and users made afterwards get theirs
// from the trigger. The migrations are applied as files, in name order, as `migrate deploy` does.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { expect, inject, test } from "vitest";
import { ensureDatabase } from "#db/embedded-postgres.ts";
import { REPO_ROOT } from "#db/migrate.ts";

const LISTS_MIGRATION = "20261207100000_lists_and_subtasks";

test("existing users each get one Inbox with all their tasks in it; new users get one from the trigger", async () => {
  const url = await ensureDatabase(
    inject("adminUrl"),
    `orbit_t${inject("runId")}_lists_migration_${process.env.VITEST_POOL_ID ?? 0}`,
  );
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    const dir = path.join(REPO_ROOT, "prisma/migrations");
    const migrations = readdirSync(dir)
      .filter((name) => /^\d{14}_/.test(name))
      .sort();
    const apply = (name: string) => client.query(readFileSync(path.join(dir, name, "migration.sql"), "utf8"));
    for (const name of migrations.filter((m) => m < LISTS_MIGRATION)) await apply(name);

    const users = await client.query<{ id: string }>(
      `INSERT INTO users (id, email, password_hash, updated_at)
       VALUES (gen_random_uuid(), 'a@example.test', 'x', now()), (gen_random_uuid(), 'b@example.test', 'x', now())
       RETURNING id`,
    );
    const [a, b] = users.rows.map((r) => r.id);
    await client.query(
      `INSERT INTO tasks (id, user_id, title) SELECT gen_random_uuid(), $1, 'a' || n FROM generate_series(1, 3) n`,
      [a],
    );
    await client.query(`INSERT INTO tasks (id, user_id, title) VALUES (gen_random_uuid(), $1, 'b1')`, [b]);

    await apply(LISTS_MIGRATION);

    const lists = await client.query<{ user_id: string; id: string; name: string; is_inbox: boolean }>(
      "SELECT user_id, id, name, is_inbox FROM task_lists ORDER BY user_id",
    );
    expect(lists.rows).toHaveLength(2);
    for (const list of lists.rows) expect(list).toMatchObject({ name: "Inbox", is_inbox: true });
    const placed = await client.query<{ user_id: string; list_id: string; n: number }>(
      "SELECT user_id, list_id, count(*)::int AS n FROM tasks GROUP BY user_id, list_id",
    );
    const inboxOf = new Map(lists.rows.map((l) => [l.user_id, l.id]));
    expect(placed.rows.map((r) => [r.list_id === inboxOf.get(r.user_id), r.n]).sort()).toEqual([
      [true, 1],
      [true, 3],
    ]);
    const nullable = await client.query(
      "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'list_id'",
    );
    expect(nullable.rows[0].is_nullable).toBe("NO");

    // After the migration: a new user gets an Inbox, and a task inserted without a list lands in it.
    const c = await client.query<{ id: string }>(
      "INSERT INTO users (id, email, password_hash, updated_at) VALUES (gen_random_uuid(), 'c@example.test', 'x', now()) RETURNING id",
    );
    const task = await client.query<{ list_id: string }>(
      "INSERT INTO tasks (id, user_id, title) VALUES (gen_random_uuid(), $1, 'c1') RETURNING list_id",
      [c.rows[0]!.id],
    );
    const inbox = await client.query<{ id: string }>(
      "SELECT id FROM task_lists WHERE user_id = $1 AND is_inbox",
      [c.rows[0]!.id],
    );
    expect(task.rows[0]!.list_id).toBe(inbox.rows[0]!.id);
    // A second Inbox, or an archived one, is refused by the database itself.
    await expect(
      client.query(
        "INSERT INTO task_lists (id, user_id, name, is_inbox) VALUES (gen_random_uuid(), $1, 'Inbox 2', true)",
        [a],
      ),
    ).rejects.toThrow(/task_lists_user_id_inbox_key/);
    await expect(client.query("UPDATE task_lists SET archived_at = now() WHERE is_inbox")).rejects.toThrow(
      /task_lists_inbox_active_check/,
    );
    // Another user's list is no list for a task.
    await expect(
      client.query("UPDATE tasks SET list_id = $1 WHERE user_id = $2", [inboxOf.get(b!), a]),
    ).rejects.toThrow(/tasks_list_id_user_id_fkey/);
  } finally {
    await client.end();
  }
}, 120_000);
