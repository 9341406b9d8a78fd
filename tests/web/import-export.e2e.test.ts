// Import and export (issue 16, item 5) in a real browser against the real topology (harness.ts):
// a Todoist CSV export uploaded in Settings, previewed, imported through the create-task function
// (so each task is an event the audit log records), its report, the tasks in the list, and the
// JSON and CSV downloads that read them back; a second "Import" and another user's data change
// nothing. The report's screenshot is docs/screenshots/import-report.png.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import { parseCsv } from "#core/csv.ts";
import { TASK_CSV_COLUMNS } from "#core/export-format.ts";
import type { TaskDto } from "#core/tasks.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import { workerDb } from "#testing/worker-db.ts";
import { newUser, quickAdd, rowOf, SHOTS, useWebWorld } from "./harness.ts";

const FIXTURE = path.join(REPO_ROOT, "packages/core/src/fixtures/todoist-export.csv");
/** The fixture's task rows Orbit imports (packages/core/src/todoist-import.test.ts reads them row by row). */
const IMPORTED = [
  "Renew passport",
  "Water the plants",
  "Pay rent",
  "Stretch",
  "Quarterly report",
  "Gather numbers from finance",
  "Review slides, then send",
  "Weekly review",
  "Plan the offsite @Q1!",
  '=HYPERLINK("https://example.com","Expenses")',
  "Call the bank",
  "Learn Portuguese",
];

/** Sub-tasks in Todoist (INDENT 2 under "Quarterly report"): subtasks here. */
const SUBTASKS = ["Gather numbers from finance", "Review slides, then send"];

const world = useWebWorld({ testTimeoutMs: 180_000 });

const section = (page: Page) => page.getByRole("region", { name: "Import and export" });

async function userIdOf(email: string): Promise<string> {
  const db = await workerDb();
  return (await db.user.findUniqueOrThrow({ where: { email } })).id;
}

/** Clicks a download link and returns the file's name and text. */
async function download(page: Page, link: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([
    page.waitForEvent("download"),
    section(page).getByRole("link", { name: link }).click(),
  ]);
  return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, "utf8") };
}

test("a Todoist export is previewed, imported as the user's tasks, reported row by row, and exported back", async () => {
  const db = await workerDb();
  const { page, context, email } = await newUser(world);
  await quickAdd(page, "Existing task #Home", "Existing task");
  const userId = await userIdOf(email);
  // Someone else's data, which no export of this user's may show.
  const other = await newUser(world);
  await quickAdd(other.page, "Someone else's task #private", "Someone else's task");

  await page.goto("/settings");
  await section(page).getByLabel("Todoist CSV file").setInputFiles(FIXTURE);
  await section(page).getByRole("button", { name: "Preview import" }).click();
  const preview = page.getByTestId("import-preview");
  await preview.waitFor();
  await expect(preview.getByRole("heading").innerText()).resolves.toBe(
    "todoist-export.csv: 12 tasks to import; 5 rows will not be",
  );
  await expect(preview.locator("tbody tr").first().innerText()).resolves.toContain("Renew passport");
  await expect(preview.locator("[data-line='18']").innerText()).resolves.toContain(
    "The task's CONTENT holds only labels.",
  );
  // The preview created nothing.
  expect(await db.task.count({ where: { userId } })).toBe(1);

  await preview.getByRole("button", { name: "Import 12 tasks" }).click();
  const report = page.getByTestId("import-report");
  await report
    .getByRole("status")
    .filter({ hasText: "Imported 12 tasks from todoist-export.csv." })
    .waitFor();
  await expect(report.getByRole("status").innerText()).resolves.toContain("5 rows were not imported.");
  await expect(report.locator("[data-line='13']").innerText()).resolves.toContain(
    "A subtask of line 10's task.",
  );
  await expect(report.locator("[data-line='22']").innerText()).resolves.toContain(
    "DATE “morgen” is not a date",
  );
  await expect(report.locator("[data-line='4']").innerText()).resolves.toContain(
    "Added to the description of “Renew passport” (line 3).",
  );
  await section(page).screenshot({ path: path.join(SHOTS, "import-report.png") });

  // "Import" sent again (a double submit, a retry, a second tab): nothing is created twice.
  const csrf = await section(page).locator("input[name=csrf]").first().inputValue();
  const importId = await db.importRun.findFirstOrThrow({ where: { userId }, select: { id: true } });
  const again = await page.request.post("/settings/import", {
    form: { intent: "import-confirm", csrf, import_id: importId.id },
  });
  expect(again.status()).toBe(200);
  expect(await again.text()).toContain("already imported: nothing was imported again");
  expect(await db.task.count({ where: { userId } })).toBe(1 + IMPORTED.length);

  // The tasks are in the list, as Todoist had them: its sub-tasks as subtasks of their parent.
  await page.goto("/");
  for (const title of IMPORTED.filter((t) => !SUBTASKS.includes(t))) await rowOf(page, title).waitFor();
  await rowOf(page, "Quarterly report")
    .locator("[data-subtask-progress]")
    .filter({ hasText: "0/2" })
    .waitFor();
  await expect(rowOf(page, "Renew passport").locator("[data-priority=high]").count()).resolves.toBe(1);
  await expect(rowOf(page, "Renew passport").locator("[data-tag=errands]").count()).resolves.toBe(1);

  // Each was created by the create command: its event reached the audit log, as the user's doing.
  await expect
    .poll(() => db.auditLog.count({ where: { userId, action: "created", actorType: "user" } }), {
      timeout: 30_000,
    })
    .toBe(1 + IMPORTED.length);

  // Back out as JSON: everything of this user's, nothing of the other's.
  await page.goto("/settings");
  const json = await download(page, "Download all data (JSON)");
  expect(json.name).toMatch(/^orbit-export-\d{4}-\d{2}-\d{2}\.json$/);
  const exported = JSON.parse(json.text);
  expect(exported).toMatchObject({
    format: "orbit-export",
    version: 1,
    account: { email, time_zone: "Europe/Berlin" },
  });
  const tasks = exported.tasks as TaskDto[];
  expect(tasks.map((task) => task.title).sort()).toEqual(["Existing task", ...IMPORTED].sort());
  const task = (title: string) => tasks.find((t) => t.title === title)!;
  for (const title of SUBTASKS) expect(task(title).parent_id).toBe(task("Quarterly report").id);
  expect(task("Renew passport")).toMatchObject({
    priority: "high",
    due_at: "2026-12-12T16:00:00.000Z",
    description: expect.stringContaining("Comment from Todoist: Appointment code is 4711"),
    reminders: [{ offset_minutes: 15, remind_at: null }],
  });
  expect([...task("Renew passport").tags].sort()).toEqual(["admin", "errands"]);
  // Labels meet the tags the user already has: "home" is spelled "Home", as before.
  expect(task("Water the plants").tags).toEqual(["Home"]);
  expect(task("Water the plants").recurrence).toMatchObject({
    pattern: "weekly",
    weekdays: [1],
    anchor: "schedule",
  });
  expect(task("Pay rent").recurrence).toMatchObject({ pattern: "monthly", month_day: 1 });
  expect(task("Stretch").recurrence).toMatchObject({ pattern: "daily", interval: 2, anchor: "completion" });
  expect(task("Weekly review")).toMatchObject({
    time_zone: "America/New_York",
    recurrence: { weekdays: [5] },
  });
  expect(task("Call the bank")).toMatchObject({ due_at: null, description: "Todoist date: morgen" });
  expect(exported.activity.length).toBeGreaterThanOrEqual(1 + IMPORTED.length);
  expect(json.text).not.toContain("Someone else's task");
  expect(json.text).not.toContain("private");

  // And as CSV, with the formula-like title defused for spreadsheets.
  const csv = await download(page, "Download tasks (CSV)");
  expect(csv.name).toMatch(/^orbit-tasks-\d{4}-\d{2}-\d{2}\.csv$/);
  const parsed = parseCsv(csv.text);
  if (!parsed.ok) throw new Error(parsed.message);
  const [header, ...rows] = parsed.records.map((record) => record.fields);
  expect(header).toEqual([...TASK_CSV_COLUMNS]);
  expect(rows.map((row) => row[1]).sort()).toEqual(
    ["Existing task", ...IMPORTED.map((title) => (title.startsWith("=") ? `'${title}` : title))].sort(),
  );
  expect(csv.text).not.toContain("Someone else's task");

  // The other user's export holds only theirs.
  await other.page.goto("/settings");
  const theirs = JSON.parse((await download(other.page, "Download all data (JSON)")).text);
  expect(theirs.tasks.map((t: TaskDto) => t.title)).toEqual(["Someone else's task"]);
  await context.close();
  await other.context.close();
});

test("a file too large, or no Todoist export, is refused at the file field with the reason", async () => {
  const { page, context } = await newUser(world);
  await page.goto("/settings");
  const file = section(page).getByLabel("Todoist CSV file");
  const preview = section(page).getByRole("button", { name: "Preview import" });

  await file.setInputFiles({ name: "huge.csv", mimeType: "text/csv", buffer: Buffer.alloc(1_200_000, "a") });
  await preview.click();
  await section(page)
    .locator("#file-error")
    .filter({ hasText: "The file is larger than 1 MB: export one Todoist project at a time." })
    .waitFor();

  await file.setInputFiles({
    name: "tasks.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("Title,Due\r\nBuy milk,tomorrow\r\n"),
  });
  await preview.click();
  await section(page)
    .locator("#file-error")
    .filter({ hasText: "This is not a Todoist CSV export" })
    .waitFor();
  await expect(page.getByTestId("import-preview").count()).resolves.toBe(0);
  await context.close();
});

test("the downloads need a session, and the import a session and the form's CSRF token", async () => {
  const anonymous = await fetch(`${world.baseUrl}/settings/export.json`, { redirect: "manual" });
  expect(anonymous.status).toBe(302);
  expect(anonymous.headers.get("location")).toBe("/login?redirectTo=%2Fsettings%2Fexport.json");

  const { page, context } = await newUser(world);
  const response = await page.request.get("/settings/export.csv");
  expect(response.status()).toBe(200);
  expect(response.headers()).toMatchObject({
    "content-type": "text/csv; charset=utf-8; header=present",
    "content-disposition": expect.stringMatching(/^attachment; filename="orbit-tasks-[\d-]+\.csv"$/),
    "cache-control": "private, no-store",
  });
  // A spreadsheet reads it as UTF-8: it starts with a byte order mark.
  expect([...(await response.body()).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);

  const forged = await page.request.post("/settings/import", {
    multipart: {
      intent: "import-preview",
      file: { name: "x.csv", mimeType: "text/csv", buffer: readFileSync(FIXTURE) },
    },
  });
  expect(forged.status()).toBe(403);
  await context.close();
});
