// Undo in a real browser against the real topology (harness.ts): completing or deleting a task
// offers "Undo" for a few seconds, through the existing commands, so the audit log stays true.
// Undoing a completion sends reopen; a delete is held back until its toast ends (expired, Escape,
// replaced, the page left, the tab closed) and is never sent when it is undone. Toast expiry is
// driven by Playwright's clock (fastForward), never by waiting for it.
import path from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, expect, test } from "vitest";
import { UNDO_TOAST_MS } from "#core/undo.ts";
import type { Db } from "#db/client.ts";
import { workerDb } from "#testing/worker-db.ts";
import { newUser, quickAdd, rowOf, titles, SHOTS, useWebWorld } from "./harness.ts";

const world = useWebWorld();
let db: Db;
beforeAll(async () => {
  db = await workerDb();
});

const toastOf = (page: Page) => page.getByTestId("undo-toast");
const undoButton = (page: Page) => toastOf(page).getByRole("button", { name: "Undo", exact: true });

async function idOf(page: Page, title: string): Promise<string> {
  return (await rowOf(page, title).getAttribute("data-task-id"))!;
}

/** The task's audit log, oldest first: what the audit-log function recorded from its events. */
async function auditOf(taskId: string): Promise<string[]> {
  const rows = await db.auditLog.findMany({
    where: { taskId },
    orderBy: [{ occurredAt: "asc" }, { id: "asc" }],
  });
  return rows.map((row) => row.action);
}

const exists = async (taskId: string) => (await db.task.findUnique({ where: { id: taskId } })) !== null;

/** Where keyboard focus is: the title of the focused task row, else the element's label or tag. */
function focusOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const active = document.activeElement;
    const row = active?.closest("[data-task-row]");
    if (row) return `row: ${row.querySelector("a[data-open]")?.textContent ?? ""}`;
    return active?.getAttribute("aria-label") ?? active?.tagName ?? "none";
  });
}

test("completing a task offers Undo, which reopens it: the audit log shows completed, then reopened", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Pay rent #home !high tomorrow 9am", "Pay rent");
  await quickAdd(page, "Call the plumber", "Call the plumber");
  const id = await idOf(page, "Pay rent");
  await page.locator("html[data-live=connected]").waitFor();
  await rowOf(page, "Pay rent").locator("[data-toggle]").click();
  const toast = toastOf(page).filter({ hasText: "Completed “Pay rent”." });
  await toast.waitFor();
  await expect(toastOf(page).getAttribute("role")).resolves.toBe("status");
  await expect(toastOf(page).getAttribute("aria-live")).resolves.toBe("polite");
  // The Open view drops the completed task; the toast is what is left of it.
  await rowOf(page, "Pay rent").waitFor({ state: "detached" });
  // While the pointer rests on it the toast waits; another tab's change reaches this one through
  // live sync, whose revalidation must not take the toast away.
  await undoButton(page).hover();
  const other = await context.newPage();
  await other.goto("/");
  await quickAdd(other, "Added in another tab", "Added in another tab");
  await rowOf(page, "Added in another tab").waitFor();
  await expect(toast.isVisible()).resolves.toBe(true);
  await page.screenshot({ path: path.join(SHOTS, "undo-toast.png") });
  await undoButton(page).click();
  await rowOf(page, "Pay rent").waitFor();
  await expect(rowOf(page, "Pay rent").getAttribute("data-status")).resolves.toBe("pending");
  await expect(toast.count()).resolves.toBe(0);
  await expect.poll(() => auditOf(id)).toEqual(["created", "completed", "reopened"]);
  // The task page's history says the same.
  await rowOf(page, "Pay rent").getByRole("link").click();
  await page.waitForURL(/\/tasks\//);
  // The URL changes before the page's data arrives: wait for the history, not for the address.
  await expect
    .poll(() => page.getByTestId("activity").locator("li > span:first-child").allTextContents())
    .toEqual(["created", "completed", "reopened"]);
  await context.close();
});

test("x completes the selected task and focus stays in the list, on the next row; u undoes it", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Sort the post", "Sort the post");
  await quickAdd(page, "Wash the car", "Wash the car");
  const [first, second] = await titles(page);
  const id = await idOf(page, first!);
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("j");
  await expect(focusOf(page)).resolves.toBe(`row: ${first}`);
  await page.keyboard.press("x");
  await toastOf(page)
    .filter({ hasText: `Completed “${first}”.` })
    .waitFor();
  await rowOf(page, first!).waitFor({ state: "detached" });
  // The row that took the completed one's place has focus, never <body>.
  await expect.poll(() => focusOf(page)).toBe(`row: ${second}`);
  await page.keyboard.press("u");
  await rowOf(page, first!).waitFor();
  await expect(rowOf(page, first!).getAttribute("data-status")).resolves.toBe("pending");
  // The task that came back has focus again.
  await expect.poll(() => focusOf(page)).toBe(`row: ${first}`);
  await expect(toastOf(page).getByRole("button").count()).resolves.toBe(0);
  await expect.poll(() => auditOf(id)).toEqual(["created", "completed", "reopened"]);
  await context.close();
});

test("x on the list's last task leaves focus on the list, and Ctrl-Z brings the task back", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Last one", "Last one");
  const id = await idOf(page, "Last one");
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("j");
  await page.keyboard.press("x");
  await page.getByTestId("empty-state").waitFor();
  await expect.poll(() => focusOf(page)).toBe("Task list");
  await toastOf(page).filter({ hasText: "Completed “Last one”." }).waitFor();
  await page.keyboard.press("Control+z");
  await rowOf(page, "Last one").waitFor();
  await expect.poll(() => focusOf(page)).toBe("row: Last one");
  await expect.poll(() => auditOf(id)).toEqual(["created", "completed", "reopened"]);
  await context.close();
});

test("a deleted task's row goes at once while the delete is held back; Undo restores it and nothing is deleted", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Keep me", "Keep me");
  await quickAdd(page, "Neighbour", "Neighbour");
  const id = await idOf(page, "Keep me");
  await page.clock.install();
  await rowOf(page, "Keep me").getByRole("button", { name: "Delete “Keep me”" }).click();
  await rowOf(page, "Keep me").waitFor({ state: "detached" });
  await toastOf(page).filter({ hasText: "Deleted “Keep me”." }).waitFor();
  // Focus went from the removed row's button to the row now in its place.
  await expect.poll(() => focusOf(page)).toBe("row: Neighbour");
  expect(await exists(id)).toBe(true);
  await undoButton(page).click();
  await rowOf(page, "Keep me").waitFor();
  await expect.poll(() => focusOf(page)).toBe("row: Keep me");
  // Neither the toast's time running out nor leaving the page sends it now.
  await page.clock.fastForward(UNDO_TOAST_MS * 2);
  const response = await page.goto(`/tasks/${id}`);
  expect(response?.status()).toBe(200);
  // A later command on it succeeds and is logged right after its creation: no delete in between.
  await page.getByRole("button", { name: "Mark complete" }).click();
  await page.getByRole("button", { name: "Reopen" }).waitFor();
  await expect.poll(() => auditOf(id)).toEqual(["created", "completed"]);
  expect(await exists(id)).toBe(true);
  await context.close();
});

test("a held delete is sent when its toast expires", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Old newspapers", "Old newspapers");
  const id = await idOf(page, "Old newspapers");
  await page.clock.install();
  await rowOf(page, "Old newspapers").getByRole("button", { name: "Delete “Old newspapers”" }).click();
  const toast = toastOf(page).filter({ hasText: "Deleted “Old newspapers”." });
  await toast.waitFor();
  expect(await exists(id)).toBe(true);
  await page.clock.fastForward(UNDO_TOAST_MS);
  await toast.waitFor({ state: "detached" });
  await expect.poll(() => exists(id)).toBe(false);
  await expect.poll(() => auditOf(id)).toEqual(["created", "deleted"]);
  await page.reload();
  await page.getByTestId("empty-state").waitFor();
  await context.close();
});

test("a held delete is not lost when the user leaves at once: another page, a full navigation, or closing the tab", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Leave by link", "Leave by link");
  await quickAdd(page, "Leave by address bar", "Leave by address bar");
  await quickAdd(page, "Leave by closing", "Leave by closing");
  const [byLink, byAddress, byClosing] = await Promise.all(
    ["Leave by link", "Leave by address bar", "Leave by closing"].map((title) => idOf(page, title)),
  );
  const deleteAndWait = async (title: string) => {
    await rowOf(page, title)
      .getByRole("button", { name: `Delete “${title}”` })
      .click();
    await toastOf(page)
      .filter({ hasText: `Deleted “${title}”.` })
      .waitFor();
  };

  // A link within the app: leaving the list settles its toast.
  await deleteAndWait("Leave by link");
  await page.getByRole("link", { name: "Settings" }).click();
  await page.waitForURL(/\/settings$/);
  await expect.poll(() => exists(byLink!)).toBe(false);

  // A new document (typed address, reload): sent on pagehide.
  await page.goto("/");
  await deleteAndWait("Leave by address bar");
  await page.goto("/settings");
  await expect.poll(() => exists(byAddress!)).toBe(false);

  // Closing the tab.
  await page.goto("/");
  await deleteAndWait("Leave by closing");
  await page.close({ runBeforeUnload: true });
  await expect.poll(() => exists(byClosing!)).toBe(false);
  for (const id of [byLink!, byAddress!, byClosing!])
    await expect.poll(() => auditOf(id)).toEqual(["created", "deleted"]);
  await context.close();
});

test("one toast at a time: a second delete sends the first at once; Escape dismisses and sends the second", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "First to go", "First to go");
  await quickAdd(page, "Second to go", "Second to go");
  const first = await idOf(page, "First to go");
  const second = await idOf(page, "Second to go");
  await rowOf(page, "First to go").getByRole("button", { name: "Delete “First to go”" }).click();
  await toastOf(page).filter({ hasText: "Deleted “First to go”." }).waitFor();
  await rowOf(page, "Second to go").getByRole("button", { name: "Delete “Second to go”" }).click();
  await toastOf(page).filter({ hasText: "Deleted “Second to go”." }).waitFor();
  await expect(toastOf(page).getByText("First to go").count()).resolves.toBe(0);
  await expect.poll(() => exists(first)).toBe(false);
  expect(await exists(second)).toBe(true);
  await page.getByTestId("empty-state").waitFor();
  await page.keyboard.press("Escape");
  await toastOf(page).filter({ hasText: "Deleted" }).waitFor({ state: "detached" });
  await expect.poll(() => exists(second)).toBe(false);
  await context.close();
});

test("deleting on the task page returns to the list, which holds the delete and offers Undo", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Draft letter", "Draft letter");
  const id = await idOf(page, "Draft letter");
  await rowOf(page, "Draft letter").getByRole("link").click();
  await page.waitForURL(/\/tasks\//);
  await page.getByRole("button", { name: "Delete task" }).click();
  await page.waitForURL(`${world.baseUrl}/`);
  await toastOf(page).filter({ hasText: "Deleted “Draft letter”." }).waitFor();
  await page.getByTestId("empty-state").waitFor();
  expect(await exists(id)).toBe(true);
  await undoButton(page).click();
  await rowOf(page, "Draft letter").waitFor();
  await page.goto("/");
  await rowOf(page, "Draft letter").waitFor();
  expect(await auditOf(id)).not.toContain("deleted");
  await context.close();
});

test("undoing a recurring task's completion reopens that occurrence; the next one it created stays", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Water plants tomorrow 9am", "Water plants");
  const id = await idOf(page, "Water plants");
  const firstDue = await rowOf(page, "Water plants").locator("time").getAttribute("datetime");
  await rowOf(page, "Water plants").getByRole("link").click();
  await page.getByLabel("Pattern").selectOption("weekly");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await page.getByRole("link", { name: "← All tasks" }).click();
  await rowOf(page, "Water plants").locator("[data-toggle]").click();
  await toastOf(page).filter({ hasText: "Completed “Water plants”." }).waitFor();
  const nextWeek = new Date(new Date(firstDue!).getTime() + 7 * 86_400_000).toISOString();
  await page.locator(`[data-task-row] time[datetime="${nextWeek}"]`).waitFor();
  await undoButton(page).click();
  await page.locator(`[data-task-row] time[datetime="${firstDue}"]`).waitFor();
  await expect.poll(() => titles(page)).toEqual(["Water plants", "Water plants"]);
  await expect.poll(async () => (await auditOf(id)).slice(-2)).toEqual(["completed", "reopened"]);
  await context.close();
});

test("without JavaScript a row's delete is a plain form: the task is deleted at once", async () => {
  const context = await world.browser.newContext({ baseURL: world.baseUrl, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(`nojs-undo-${Date.now()}@example.test`);
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${world.baseUrl}/`);
  await quickAdd(page, "Delete without scripts", "Delete without scripts");
  const id = await idOf(page, "Delete without scripts");
  await rowOf(page, "Delete without scripts")
    .getByRole("button", { name: "Delete “Delete without scripts”" })
    .click();
  await page.getByTestId("empty-state").waitFor();
  expect(await exists(id)).toBe(false);
  await context.close();
});
