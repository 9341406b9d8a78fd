// Imports on a real PostgreSQL: a preview is claimed once however often "Import" is sent, what the
// plan says is what the tasks become (read back through the export), and a run that cannot go on
// says which rows it did not try. The web's path through the create-task function and a browser is
// tests/web/import-export.e2e.test.ts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createTaskSchema, type TaskDto } from "#core/tasks.ts";
import { readTodoistCsv, type ImportRow, type ImportTaskInput } from "#core/todoist-import.ts";
import type { Db } from "#db/client.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { createTask, type CommandContext } from "./commands.ts";
import { exportJson } from "./export.ts";
import {
  claimImport,
  finishImport,
  PREVIEW_TTL_MS,
  runImport,
  savePreview,
  type CreateOutcome,
  type ImportReport,
} from "./imports.ts";

const FIXTURE = readFileSync(
  path.join(import.meta.dirname, "../../core/src/fixtures/todoist-export.csv"),
  "utf8",
);
const NOW = new Date("2026-11-23T09:30:00Z");
const ZONE = "Europe/Berlin";

let db: Db;

beforeAll(async () => {
  db = await workerDb();
});

function planOf(text: string): ImportRow[] {
  const read = readTodoistCsv(text, { timeZone: ZONE, now: NOW });
  if (!read.ok) throw new Error(read.message);
  return read.rows;
}

/** The create command in-process, as the create-task function runs it for `who`. */
function creatorFor(who: TestUser) {
  const ctx: CommandContext = {
    db,
    pubsub: "pubsub",
    actor: { type: "user", id: who.id },
    userId: who.id,
    userTimeZone: ZONE,
    defaultReminderMinutes: [15],
    now: NOW,
  };
  return async (input: ImportTaskInput): Promise<CreateOutcome> => {
    const { task } = await createTask(ctx, createTaskSchema.parse(input));
    return { ok: true, taskId: task.id };
  };
}

async function exportedTasks(userId: string): Promise<TaskDto[]> {
  const chunks = await exportJson(db, userId, NOW);
  let text = "";
  for await (const chunk of chunks!) text += chunk;
  return JSON.parse(text).tasks;
}

describe("given a previewed Todoist export", () => {
  it("when it is imported, then each task is what the preview showed, as the export reads it back", async () => {
    const user = await createTestUser(db, { timeZone: ZONE });
    const rows = planOf(FIXTURE);
    const id = await savePreview(db, user.id, { source: "todoist_csv", fileName: "Home.csv", rows }, NOW);
    const claim = await claimImport(db, user.id, id, NOW);
    if (!claim.ok) throw new Error(`not claimed: ${claim.state}`);
    expect(claim.rows).toEqual(rows);
    const report = await runImport(claim.fileName, claim.rows, creatorFor(user));
    await finishImport(db, user.id, id, report, NOW);

    const planned = rows.filter((row) => row.kind === "task");
    expect(report).toMatchObject({
      fileName: "Home.csv",
      created: planned.length,
      failed: 0,
      complete: true,
    });
    expect(report.skipped).toBe(rows.filter((row) => row.kind === "skipped").length);
    expect(report.rows.map((row) => [row.line, row.kind])).toEqual(
      rows.map((row) => [row.line, row.kind === "task" ? "created" : row.kind]),
    );

    const tasks = await exportedTasks(user.id);
    expect(tasks).toHaveLength(planned.length);
    const byId = new Map(tasks.map((task) => [task.id, task]));
    for (const row of report.rows) {
      if (row.kind !== "created") continue;
      const input = (planned.find((p) => p.line === row.line) as Extract<ImportRow, { kind: "task" }>).input;
      const task = byId.get(row.taskId)!;
      expect(task, `line ${row.line}`).toMatchObject({
        title: input.title,
        description: input.description,
        priority: input.priority,
        due_at: input.due_at,
        time_zone: input.time_zone ?? ZONE,
        status: "pending",
      });
      expect([...task.tags].sort(), `line ${row.line}`).toEqual([...input.tags].sort());
      expect(task.recurrence, `line ${row.line}`).toEqual(
        input.recurrence
          ? expect.objectContaining({
              pattern: input.recurrence.pattern,
              interval: input.recurrence.interval,
              weekdays: input.recurrence.weekdays,
              month_week: input.recurrence.month_week,
              month_day: input.recurrence.month_day ?? null,
              anchor: input.recurrence.anchor,
            })
          : null,
      );
      // The create command gave every dated task the user's default reminder.
      expect(task.reminders.map((r) => r.offset_minutes)).toEqual(input.due_at ? [15] : []);
    }
  });

  it("when Import is sent twice, also at the same moment, then only one request imports", async () => {
    const user = await createTestUser(db, { timeZone: ZONE });
    const rows = planOf(FIXTURE);
    const id = await savePreview(db, user.id, { source: "todoist_csv", fileName: "Home.csv", rows }, NOW);
    const claims = await Promise.all([1, 2, 3].map(() => claimImport(db, user.id, id, NOW)));
    expect(claims.filter((claim) => claim.ok)).toHaveLength(1);
    expect(claims.filter((claim) => !claim.ok)).toEqual([
      { ok: false, state: "running", report: null },
      { ok: false, state: "running", report: null },
    ]);
    const winner = claims.find((claim) => claim.ok)!;
    const report = await runImport("Home.csv", winner.ok ? winner.rows : [], creatorFor(user));
    await finishImport(db, user.id, id, report, NOW);
    // Later: the report of the import that ran, and no second copy of anything.
    expect(await claimImport(db, user.id, id, new Date(NOW.getTime() + 5_000))).toEqual({
      ok: false,
      state: "done",
      report,
    });
    expect(await db.task.count({ where: { userId: user.id } })).toBe(report.created);
  });

  it("when the preview is too old, or another user's, or no preview at all, then nothing is claimed", async () => {
    const [owner, other] = await Promise.all([createTestUser(db), createTestUser(db)]);
    const id = await savePreview(
      db,
      owner.id,
      { source: "todoist_csv", fileName: "a.csv", rows: planOf(FIXTURE) },
      NOW,
    );
    expect(await claimImport(db, other.id, id, NOW)).toEqual({ ok: false, state: "missing" });
    expect(await claimImport(db, owner.id, "not-an-id", NOW)).toEqual({ ok: false, state: "missing" });
    const late = new Date(NOW.getTime() + PREVIEW_TTL_MS + 1);
    expect(await claimImport(db, owner.id, id, late)).toEqual({ ok: false, state: "expired" });
    // A new preview clears the expired one away.
    await savePreview(db, owner.id, { source: "todoist_csv", fileName: "b.csv", rows: [] }, late);
    expect(await db.importRun.findUnique({ where: { id } })).toBeNull();
  });
});

describe("given an import whose create command stops answering", () => {
  it("when a create fails for good, then the rest is reported as not tried, and the run as incomplete", async () => {
    const rows = planOf(FIXTURE);
    let calls = 0;
    const progress: ImportReport[] = [];
    const report = await runImport(
      "Home.csv",
      rows,
      async () => {
        calls += 1;
        return calls === 1
          ? { ok: true, taskId: "00000000-0000-4000-8000-000000000001" }
          : { ok: false, reason: "Orbit cannot reach its task service right now", stop: true };
      },
      async (so) => void progress.push(so),
    );
    expect(report.complete).toBe(false);
    expect(report.created).toBe(1);
    const failed = report.rows.filter((row) => row.kind === "failed");
    expect(failed.length).toBe(rows.filter((row) => row.kind === "task").length - 1);
    expect(failed.map((row) => row.kind === "failed" && row.reason)).toContain(
      "Not tried: the import stopped (Orbit cannot reach its task service right now).",
    );
    // At most IMPORT_CONCURRENCY creates were in flight when it stopped.
    expect(calls).toBeLessThanOrEqual(4 + 1);
    expect(progress.at(-1)).toEqual(report);
  });

  it("when one task is refused, then that row is failed with the reason and the others are created", async () => {
    const rows = planOf(FIXTURE);
    const report = await runImport("Home.csv", rows, async (input) =>
      input.title === "Stretch"
        ? { ok: false, reason: "title: refused" }
        : { ok: true, taskId: "00000000-0000-4000-8000-000000000002" },
    );
    expect(report.complete).toBe(true);
    expect(report.failed).toBe(1);
    expect(report.rows.find((row) => row.line === 7)).toEqual({
      line: 7,
      kind: "failed",
      title: "Stretch",
      reason: "title: refused",
    });
  });
});
