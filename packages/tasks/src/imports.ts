// Imports from other apps, from preview to report (table import_runs). The file is read and
// previewed first (#core/todoist-import.ts); the preview is kept under an id, and "Import N tasks"
// names that id. Claiming it is one UPDATE (previewed → running) that only one request can win, so
// a double submit, a retry or a second tab creates nothing twice: the loser is shown the winner's
// report. The tasks themselves are created by the caller's `create`: the web app passes the create
// command (#tasks/client.ts), so every task is an event, audited, with its reminders and repeats.
import { randomUUID } from "node:crypto";
import type { ImportRow, ImportTaskInput } from "#core/todoist-import.ts";
import type { Db } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";

/** A preview can be imported for this long; "tomorrow" in it was read when it was made. */
export const PREVIEW_TTL_MS = 60 * 60_000;
/** A run that has written no progress for this long stopped (its process went away). */
export const STALLED_RUN_MS = 10 * 60_000;
/** Finished runs' reports are kept this long. */
export const REPORT_TTL_MS = 30 * 24 * 60 * 60_000;
/** Tasks created at once: the create command is a network call each. */
export const IMPORT_CONCURRENCY = 4;
/** Progress is stored every this many rows, so a run that stops still says what it created. */
const PROGRESS_EVERY = 25;

export type ImportSource = "todoist_csv";

/** What became of one row of the file. */
export type ImportReportRow =
  | { line: number; kind: "created"; title: string; taskId: string; notes: string[] }
  /** The create command refused it, or could not be reached. */
  | { line: number; kind: "failed"; title: string; reason: string }
  | Extract<ImportRow, { kind: "comment" | "skipped" }>;

export interface ImportReport {
  fileName: string;
  created: number;
  failed: number;
  /** Rows not imported (sections, refused rows …), comments not counted. */
  skipped: number;
  /** True once every row was tried; false while it runs, or when it stopped early. */
  complete: boolean;
  rows: ImportReportRow[];
}

/** The create command's answer for one task. */
export type CreateOutcome =
  | { ok: true; taskId: string }
  /** `stop`: the service is unavailable or refuses more for now; the rest is not tried. */
  | { ok: false; reason: string; stop?: boolean };

/** Keeps a preview; returns its id. Also drops the user's expired previews and old reports. */
export async function savePreview(
  db: Db,
  userId: string,
  preview: { source: ImportSource; fileName: string; rows: ImportRow[] },
  now: Date,
): Promise<string> {
  const id = randomUUID();
  await db.$transaction([
    db.importRun.deleteMany({
      where: {
        userId,
        OR: [
          { status: "previewed", createdAt: { lt: new Date(now.getTime() - PREVIEW_TTL_MS) } },
          { createdAt: { lt: new Date(now.getTime() - REPORT_TTL_MS) } },
        ],
      },
    }),
    db.importRun.create({
      data: {
        id,
        userId,
        source: preview.source,
        fileName: preview.fileName,
        plan: preview.rows as object,
        createdAt: now,
      },
    }),
  ]);
  return id;
}

export type Claim =
  | { ok: true; fileName: string; rows: ImportRow[] }
  | { ok: false; state: "missing" | "expired" }
  /** Claimed before: by a request still running it, one that finished, or one that stopped. */
  | { ok: false; state: "running" | "done" | "stalled"; report: ImportReport | null };

/** Takes the preview `id` for importing; only the first claim of a preview succeeds. */
export async function claimImport(db: Db, userId: string, id: string, now: Date): Promise<Claim> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return { ok: false, state: "missing" };
  const claimed = await db.importRun.updateMany({
    where: {
      id,
      userId,
      status: "previewed",
      createdAt: { gte: new Date(now.getTime() - PREVIEW_TTL_MS) },
    },
    data: { status: "running", startedAt: now },
  });
  const run = await db.importRun.findFirst({ where: { id, userId } });
  if (!run) return { ok: false, state: "missing" };
  if (claimed.count === 1) return { ok: true, fileName: run.fileName, rows: run.plan as ImportRow[] };
  if (run.status === "previewed") return { ok: false, state: "expired" };
  const report = (run.report as ImportReport | null) ?? null;
  if (run.status === "done") return { ok: false, state: "done", report };
  const lastProgress = (run.finishedAt ?? run.startedAt ?? run.createdAt).getTime();
  return { ok: false, state: now.getTime() - lastProgress > STALLED_RUN_MS ? "stalled" : "running", report };
}

/**
 * Creates the plan's tasks with `create`, at most IMPORT_CONCURRENCY at once, and reports every
 * row in file order. `progress` is called with the report so far every few rows and at the end.
 */
export async function runImport(
  fileName: string,
  rows: ImportRow[],
  create: (input: ImportTaskInput) => Promise<CreateOutcome>,
  progress: (report: ImportReport) => Promise<void> = async () => {},
): Promise<ImportReport> {
  const outcomes = new Map<number, ImportReportRow>();
  const tasks = rows.filter((row): row is Extract<ImportRow, { kind: "task" }> => row.kind === "task");
  let next = 0;
  let stopped: string | null = null;
  let sinceProgress = 0;
  const report = (complete: boolean): ImportReport => {
    const reported = rows.map((row): ImportReportRow =>
      row.kind !== "task"
        ? row
        : (outcomes.get(row.line) ?? {
            line: row.line,
            kind: "failed",
            title: row.input.title,
            reason: stopped
              ? `Not tried: the import stopped (${stopped}).`
              : "Not created yet: the import is still running.",
          }),
    );
    return {
      fileName,
      created: reported.filter((row) => row.kind === "created").length,
      failed: reported.filter((row) => row.kind === "failed").length,
      skipped: reported.filter((row) => row.kind === "skipped").length,
      complete,
      rows: reported,
    };
  };
  // Top-level tasks first, then the subtasks: a subtask names its parent's new id.
  tasks.sort((a, b) => Number(a.parentLine !== undefined) - Number(b.parentLine !== undefined));
  const worker = async () => {
    while (stopped === null && next < tasks.length) {
      const row = tasks[next++]!;
      const notes = [...row.notes];
      let input = row.input;
      if (row.parentLine !== undefined) {
        const parent = outcomes.get(row.parentLine);
        if (parent?.kind === "created") {
          input = { ...input, parent_id: parent.taskId };
          notes.push(`A subtask of line ${row.parentLine}'s task.`);
        } else notes.push(`A sub-task of line ${row.parentLine}, which was not imported: a task of its own.`);
      }
      const outcome = await create(input);
      outcomes.set(
        row.line,
        outcome.ok
          ? {
              line: row.line,
              kind: "created",
              title: row.input.title,
              taskId: outcome.taskId,
              notes,
            }
          : { line: row.line, kind: "failed", title: row.input.title, reason: outcome.reason },
      );
      if (!outcome.ok && outcome.stop) stopped ??= outcome.reason;
      if (++sinceProgress >= PROGRESS_EVERY) {
        sinceProgress = 0;
        await progress(report(false));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IMPORT_CONCURRENCY, tasks.length) }, worker));
  const final = report(stopped === null);
  await progress(final);
  return final;
}

/** Stores a running import's report so far (finishedAt marks the last progress). */
export async function saveProgress(db: Db, userId: string, id: string, report: ImportReport, now: Date) {
  await db.importRun.updateMany({
    where: { id, userId, status: "running" },
    data: { report: report as object, finishedAt: now },
  });
}

/** Marks the import done with its report; the plan is no longer needed. */
export async function finishImport(db: Db, userId: string, id: string, report: ImportReport, now: Date) {
  await db.importRun.updateMany({
    where: { id, userId },
    data: { status: "done", report: report as object, plan: Prisma.DbNull, finishedAt: now },
  });
}
