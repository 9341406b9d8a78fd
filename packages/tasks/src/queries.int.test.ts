// Index use of the list queries: EXPLAIN on a realistic shape (three users, 5,000 tasks each,
// made with generate_series) must show every sort walking its keyset index, first page and cursor
// page alike, and search and tag filters starting from their indexes (never a Seq Scan on tasks).
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { compareTasks, SORTS, taskListQuerySchema, type Sort } from "#core/task-query.ts";
import { PRIORITIES, type TaskDto } from "#core/tasks.ts";
import { Prisma } from "#db/generated/client.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { listTasks, taskPageSql } from "./queries.ts";
import { loadTaskDtos } from "./records.ts";

const TASKS_PER_USER = 5_000;
let users: TestUser[] = [];
let user: TestUser;

beforeAll(async () => {
  const db = await workerDb();
  users = [await createTestUser(db), await createTestUser(db), await createTestUser(db)];
  user = users[0]!;
  const ids = users.map((u) => u.id);
  // Titles cycle through 20 words; one task in 400 has "needle" in its description; a sixth of
  // tasks have no due date, half of the dated ones are past; tags are spread over 200 names.
  await db.$executeRaw`
    INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, created_at, updated_at, completed_at)
    SELECT gen_random_uuid(), u.id,
      'Task ' || i || ' ' || (ARRAY['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india',
        'juliet','kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango'])[1 + i % 20],
      'notes ' || md5(i::text) || CASE WHEN i % 400 = 0 THEN ' needle' ELSE '' END,
      (CASE WHEN i % 5 = 0 THEN 'completed' ELSE 'pending' END)::task_status,
      (ARRAY['none','low','medium','high'])[1 + i % 4]::priority,
      CASE WHEN i % 6 = 0 THEN NULL ELSE now() + (i - ${TASKS_PER_USER / 2}) * interval '1 hour' END,
      timestamptz '2025-01-01' + i * interval '1 minute', now(),
      CASE WHEN i % 5 = 0 THEN now() END
    FROM unnest(${ids}::uuid[]) AS u(id), generate_series(1, ${TASKS_PER_USER}) AS i`;
  await db.$executeRaw`
    INSERT INTO task_tags (task_id, user_id, tag)
    SELECT id, user_id, 'tag' || (abs(hashtext(id::text)) % 200) FROM tasks WHERE user_id = ANY(${ids}::uuid[])`;
  // A "Work" list per user holding a tenth of the tasks, and an archived "Old" one holding another.
  await db.$executeRaw`
    INSERT INTO task_lists (id, user_id, name, position, archived_at)
    SELECT gen_random_uuid(), u.id, l.name, l.position, CASE WHEN l.name = 'Old' THEN now() END
    FROM unnest(${ids}::uuid[]) AS u(id), (VALUES ('Work', 1), ('Old', 2)) AS l(name, position)`;
  await db.$executeRaw`
    UPDATE tasks t SET list_id = l.id FROM task_lists l
    WHERE t.user_id = ANY(${ids}::uuid[]) AND l.user_id = t.user_id
      AND ((l.name = 'Work' AND abs(hashtext(t.id::text)) % 10 = 0)
        OR (l.name = 'Old' AND abs(hashtext(t.id::text)) % 10 = 1))`;
  await db.$executeRaw`ANALYZE task_lists`;
  // VACUUM also flushes the GIN pending list, as autovacuum does in production; planner costs
  // of a GIN index with a long pending list are those of a scan of that list.
  await db.$executeRaw`VACUUM ANALYZE tasks`;
  await db.$executeRaw`VACUUM ANALYZE task_tags`;
});
afterAll(async () => {
  const db = await workerDb();
  await db.user.deleteMany({ where: { id: { in: users.map((u) => u.id) } } });
});

/** The plan of the page query; with `afterFirstPage`, of the page after a 5-row first page. */
async function plan(params: Record<string, string>, afterFirstPage = false): Promise<string> {
  const db = await workerDb();
  let query = taskListQuerySchema.parse(params);
  if (afterFirstPage) {
    const first = await listTasks(db, user.id, { ...query, limit: 5 }, new Date());
    expect(first.nextCursor).not.toBeNull();
    query = taskListQuerySchema.parse({ ...params, limit: "5", cursor: first.nextCursor! });
  }
  const rows = await db.$queryRaw<{ "QUERY PLAN": string }[]>(
    Prisma.sql`EXPLAIN ${taskPageSql(user.id, query, new Date())}`,
  );
  return rows.map((row) => row["QUERY PLAN"]).join("\n");
}

/**
 * Sorts in a plan that sort the user's tasks. Allowed: an Incremental Sort presorted on the sort
 * key (a run of equal keys, walked backward, put in tie-breaker order), and the sort of the UNION
 * ALL branches' rows by (branch, position): at most (limit + 1) rows a branch.
 */
function taskSorts(text: string): string[] {
  return [
    ...text.matchAll(
      /^\s*(?:->\s+)?(Incremental )?Sort\s+\(.*\n\s+Sort Key: (.*)(?:\n\s+Presorted Key: (.*))?/gm,
    ),
  ]
    .filter(
      ([, incremental, key, presorted]) => !(key!.includes("row_number()") || (incremental && presorted)),
    )
    .map(([node]) => node);
}

/**
 * A sequential read of the tasks or their tags. The user's archived lists (a few rows of
 * task_lists, read once per query as an InitPlan) may be read sequentially: PostgreSQL rightly
 * does so while the table fits in a page or two.
 */
const NO_TASK_SEQ_SCAN = /Seq Scan on (tasks|task_tags)\b/;

const SORT_INDEX = {
  due: "tasks_due_sort_idx",
  title: "tasks_title_sort_idx",
  created: "tasks_user_id_created_at_id_idx",
  priority: "tasks_priority_sort_idx",
} as const;

test.each(
  SORTS.filter((sort) => sort !== "relevance").flatMap((sort) =>
    (["asc", "desc"] as const).map((order) => ({ sort, order })),
  ),
)("sort $sort $order reads its index in order, first page and cursor page", async ({ sort, order }) => {
  const index = SORT_INDEX[sort as keyof typeof SORT_INDEX];
  for (const afterFirstPage of [false, true]) {
    const text = await plan({ sort, order }, afterFirstPage);
    const scans = [
      ...text.matchAll(/Index (?:Only )?Scan(?: Backward)? using (\S+) on tasks \S+.*\n\s+Index Cond: (.*)/g),
    ];
    expect(scans.length, text).toBeGreaterThan(0);
    // Every branch walks the sort's own index; nothing reads the table or sorts the user's tasks.
    expect(
      scans.map(([, name]) => name).every((name) => name === index),
      text,
    ).toBe(true);
    expect(text).not.toMatch(NO_TASK_SEQ_SCAN);
    expect(text).not.toContain("Bitmap Heap Scan on tasks");
    expect(taskSorts(text), text).toEqual([]);
    const presorted = [...text.matchAll(/Presorted Key: (.*)/g)].map(([, key]) => key);
    const keyExpr = {
      due: "COALESCE(",
      title: "lower(",
      created: "created_at",
      priority: "CASE ",
    }[sort as keyof typeof SORT_INDEX];
    for (const key of presorted) expect(key, text).toContain(keyExpr);
    if (afterFirstPage) {
      // The keyset bound is an index condition (a range start), not a filter over skipped rows:
      // no walk starts at the user's first row.
      for (const [, , cond] of scans) expect(cond, text).toMatch(/^\(\(user_id = [^)]*\) AND /);
    }
  }
});

test("a list's page (by list_id or list:Name) starts from an index, first page and cursor page; no Seq Scan", async () => {
  const db = await workerDb();
  const work = await db.taskList.findFirstOrThrow({ where: { userId: user.id, name: "Work" } });
  const cases: Record<string, string>[] = [
    { list_id: work.id },
    { list_id: work.id, sort: "created" },
    { list_id: work.id, status: "pending", top_level: "true" },
    { q: "list:work" },
    { q: "list:Old", sort: "title" },
  ];
  for (const params of cases) {
    for (const afterFirstPage of [false, true]) {
      const text = await plan(params, afterFirstPage);
      expect(text, JSON.stringify(params)).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
      expect(text, JSON.stringify(params)).not.toMatch(NO_TASK_SEQ_SCAN);
      // Either a walk of the sort's index filtered to the list, or the list's own rows from
      // (list_id, status) sorted: a sort of one list's tasks, never of all the user's.
      if (taskSorts(text).length > 0) expect(text).toContain("tasks_list_id_status_idx");
    }
  }
});

test("archived lists' tasks are left out of the default list and found by naming the list", async () => {
  const db = await workerDb();
  const query = (params: Record<string, string>) =>
    listTasks(db, user.id, taskListQuerySchema.parse({ ...params, limit: "200" }), new Date());
  const old = await db.taskList.findFirstOrThrow({ where: { userId: user.id, name: "Old" } });
  const everyPage = (await query({})).items;
  expect(everyPage.some((t) => t.list_id === old.id)).toBe(false);
  const named = (await query({ q: "list:old" })).items;
  expect(named.length).toBeGreaterThan(0);
  expect(named.every((t) => t.list_id === old.id)).toBe(true);
});

test("search starts from the (user_id, search_vector) GIN index, with and without a cursor", async () => {
  for (const afterFirstPage of [false, true]) {
    const text = await plan({ q: "needle" }, afterFirstPage);
    expect(text).toContain("Bitmap Index Scan on tasks_user_id_search_vector_idx");
    expect(text).not.toMatch(NO_TASK_SEQ_SCAN);
  }
});

test("a search by similarity (a typo) starts from the (user_id, title gin_trgm_ops) index", async () => {
  const db = await workerDb();
  for (const params of [{ q: "nedle" }, { q: "nedle", sort: "due" }, { q: "nedle", status: "pending" }]) {
    const rows = await db.$queryRaw<{ "QUERY PLAN": string }[]>(
      Prisma.sql`EXPLAIN ${taskPageSql(user.id, taskListQuerySchema.parse(params), new Date(), "nedle")}`,
    );
    const text = rows.map((row) => row["QUERY PLAN"]).join("\n");
    expect(text, JSON.stringify(params)).toContain("Bitmap Index Scan on tasks_user_id_title_trgm_idx");
    expect(text).not.toMatch(NO_TASK_SEQ_SCAN);
  }
});

test("tag filters, any and all, start from task_tags (user_id, lower(tag), task_id)", async () => {
  const cases: Record<string, string>[] = [
    { tags: "TAG7" },
    { tags: "tag7,tag8", tag_mode: "all" },
    { tags: "tag7", sort: "title" },
  ];
  for (const params of cases) {
    const text = await plan(params);
    expect(text, JSON.stringify(params)).toMatch(/(using|Bitmap Index Scan on) task_tags_user_id_tag_idx\b/);
    expect(text).not.toMatch(NO_TASK_SEQ_SCAN);
  }
});

test("the seeded data gives the plans something to choose from", async () => {
  const db = await workerDb();
  const [counts] = await db.$queryRaw<{ mine: number; needles: number }[]>`
    SELECT count(*) FILTER (WHERE user_id = ${user.id}::uuid)::int AS mine,
           count(*) FILTER (WHERE user_id = ${user.id}::uuid AND description LIKE '%needle')::int AS needles
    FROM tasks`;
  expect(counts).toEqual({ mine: TASKS_PER_USER, needles: Math.floor(TASKS_PER_USER / 400) });
});

test("a list page's DTOs, loaded in one statement, are the ones loadTaskDtos makes", async () => {
  const db = await workerDb();
  const owner = await createTestUser(db);
  try {
    // Tags added out of order, reminders of both kinds (a null offset sorts first descending),
    // a series with and without optional fields, and a task with nothing attached.
    const [series] = await db.$queryRaw<{ id: string }[]>`
      INSERT INTO task_recurrence (id, user_id, pattern, interval, weekdays, month_day, anchor, starts_at, time_zone, ends_at, max_count)
      VALUES (gen_random_uuid(), ${owner.id}::uuid, 'weekly', 2, ARRAY[1,3], NULL, 'completion',
              timestamptz '2026-01-05 09:00:00.123+00', 'Europe/Berlin', timestamptz '2026-12-31 23:59:59.999+00', 10)
      RETURNING id`;
    const ids = await db.$queryRaw<{ id: string }[]>`
      INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, time_zone, completed_at, series_id, occurrence_index, version, created_at, updated_at)
      SELECT gen_random_uuid(), ${owner.id}::uuid, 'DTO ' || i, CASE WHEN i = 2 THEN 'described' ELSE '' END,
        (CASE WHEN i = 3 THEN 'completed' ELSE 'pending' END)::task_status, 'high',
        CASE WHEN i = 4 THEN NULL ELSE timestamptz '2026-03-01 10:00:00.456+00' + i * interval '1 day' END,
        'Europe/Berlin', CASE WHEN i = 3 THEN timestamptz '2026-02-01 08:00:00.789+00' END,
        CASE WHEN i = 1 THEN ${series!.id}::uuid END, CASE WHEN i = 1 THEN 3 END, i,
        timestamptz '2026-01-01 00:00:00.001+00' + i * interval '1 second', timestamptz '2026-01-02 00:00:00.002+00'
      FROM generate_series(1, 4) AS i
      RETURNING id`;
    const [first, second] = ids.map((row) => row.id) as [string, string];
    await db.$executeRaw`
      INSERT INTO task_tags (task_id, user_id, tag, created_at) VALUES
        (${first}::uuid, ${owner.id}::uuid, 'zeta', timestamptz '2026-01-01 00:00:00+00'),
        (${first}::uuid, ${owner.id}::uuid, 'Alpha', timestamptz '2026-01-01 00:00:01+00'),
        (${first}::uuid, ${owner.id}::uuid, 'beta', timestamptz '2026-01-01 00:00:01+00'),
        (${second}::uuid, ${owner.id}::uuid, 'solo', timestamptz '2026-01-01 00:00:00+00')`;
    await db.$executeRaw`
      INSERT INTO task_reminders (id, task_id, user_id, offset_minutes, remind_at) VALUES
        (gen_random_uuid(), ${first}::uuid, ${owner.id}::uuid, 10, NULL),
        (gen_random_uuid(), ${first}::uuid, ${owner.id}::uuid, NULL, timestamptz '2026-02-27 07:30:00.250+00'),
        (gen_random_uuid(), ${first}::uuid, ${owner.id}::uuid, 60, NULL),
        (gen_random_uuid(), ${second}::uuid, ${owner.id}::uuid, NULL, timestamptz '2026-02-28 07:30:00+00')`;
    for (const params of [{ status: "all" }, { status: "all", sort: "created", limit: "2" }, { q: "dto" }]) {
      const page = await listTasks(db, owner.id, taskListQuerySchema.parse(params), new Date());
      expect(page.items.length, JSON.stringify(params)).toBeGreaterThan(0);
      expect(page.items, JSON.stringify(params)).toEqual(
        await loadTaskDtos(
          db,
          owner.id,
          page.items.map((item) => item.id),
        ),
      );
    }
    const listed = await listTasks(db, owner.id, taskListQuerySchema.parse({ status: "all" }), new Date());
    const withAll = listed.items.find((item) => item.id === first)!;
    expect(withAll.tags).toEqual(["zeta", "Alpha", "beta"]);
    expect(withAll.reminders.map((r) => r.offset_minutes)).toEqual([null, 60, 10]);
    expect(withAll.recurrence?.weekdays).toEqual([1, 3]);
  } finally {
    await db.user.delete({ where: { id: owner.id } });
  }
});

// ───── the order itself ─────

const TIE_TITLES = ["alpha", "bravo", "Bravo", "charlie"];
const TIE_DUES = [null, "2026-12-04T09:00:00.000Z", "2026-12-04T17:00:00.000Z", "2026-12-07T00:00:00.000Z"];
const TIE_CREATED = ["2026-11-01T08:00:00.000Z", "2026-11-02T08:00:00.000Z"];

const tieTaskArb = fc.record({
  title: fc.constantFrom(...TIE_TITLES),
  priority: fc.constantFrom(...PRIORITIES),
  due_at: fc.constantFrom(...TIE_DUES),
  created_at: fc.constantFrom(...TIE_CREATED),
  completed: fc.boolean(),
});

test("property: pages of every sort, at any page size and with a filter, are core's compareTasks order, ties included", async () => {
  const db = await workerDb();
  const owner = await createTestUser(db);
  const sorts = SORTS.filter((sort): sort is Exclude<Sort, "relevance"> => sort !== "relevance");
  try {
    await fc.assert(
      fc.asyncProperty(
        // Few distinct values, so most rows tie on the key and on some tie-breakers.
        fc.array(tieTaskArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom("all", "pending"),
        async (rows, limit, status) => {
          await db.$executeRaw`DELETE FROM tasks WHERE user_id = ${owner.id}::uuid`;
          const inserted = await db.$queryRaw<{ id: string }[]>`
            INSERT INTO tasks (id, user_id, title, description, status, priority, due_at, created_at, updated_at, completed_at)
            SELECT gen_random_uuid(), ${owner.id}::uuid, r.title, '', r.status::task_status, r.priority::priority,
              r.due_at, r.created_at, now(), CASE WHEN r.status = 'completed' THEN now() END
            FROM jsonb_to_recordset(${JSON.stringify(
              rows.map((row) => ({ ...row, status: row.completed ? "completed" : "pending" })),
            )}::jsonb) AS r(title text, status text, priority text, due_at timestamptz, created_at timestamptz)
            RETURNING id`;
          expect(inserted).toHaveLength(rows.length);
          for (const sort of sorts) {
            for (const order of ["asc", "desc"] as const) {
              const params = { sort, order, status, limit: String(limit) };
              const walked: TaskDto[] = [];
              let cursor: string | null = null;
              do {
                const query = taskListQuerySchema.parse(cursor ? { ...params, cursor } : params);
                const page = await listTasks(db, owner.id, query, new Date());
                walked.push(...page.items);
                cursor = page.nextCursor;
              } while (cursor !== null && walked.length <= rows.length);
              const expected = walked
                .map((t) => ({ ...t, title_key: t.title.toLowerCase() }))
                .sort(compareTasks(sort, order))
                .map((t) => t.id);
              const wanted = rows.filter((row) => status === "all" || !row.completed).length;
              expect(
                walked.map((t) => t.id),
                `${sort} ${order} limit ${limit}`,
              ).toEqual(expected);
              expect(new Set(expected).size, `${sort} ${order}: every task once`).toBe(wanted);
            }
          }
        },
      ),
      { numRuns: 25 },
    );
  } finally {
    await db.user.delete({ where: { id: owner.id } });
  }
}, 120_000);
