// Lists and subtasks in a real browser against the real topology (harness.ts): make a list, add
// into it with quick add, move a task, give it subtasks and see its progress, complete it (which
// asks what becomes of the open subtasks), undo that, and archive the list; delete a parent (which
// asks first); and a second tab of the same user following list changes and open counts live.
import path from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { PAGE_WAIT_MS } from "#testing/wait.ts";
import { workerDb } from "#testing/worker-db.ts";
import {
  newUser,
  newUserTwoTabs,
  quickAdd,
  rowOf,
  sameDocument,
  titles,
  SHOTS,
  useWebWorld,
} from "./harness.ts";

const world = useWebWorld({ testTimeoutMs: 180_000 });
let db: Db;
beforeAll(async () => {
  db = await workerDb();
});

const bar = (page: Page) => page.getByTestId("lists-bar");
const status = async (title: string, userEmail: string) =>
  (await db.task.findFirstOrThrow({ where: { title, user: { email: userEmail } } })).status;

/** Whether keyboard focus is inside the open dialog. */
const focusInDialog = (page: Page) =>
  page.evaluate(() => Boolean(document.activeElement?.closest("dialog[open]")));

test("a list, quick add into it, a move, two subtasks with progress, completing the parent asks, undo; archiving hides the list", async () => {
  const { page, email } = await newUser(world);
  await page.locator("html[data-live=connected]").waitFor();

  // A new list, from the lists bar.
  await bar(page).getByRole("button", { name: "+ New list" }).click();
  await page.getByLabel("List name").fill("Work");
  await page.getByLabel("Colour").selectOption("teal");
  await page.getByRole("button", { name: "Create" }).click();
  await bar(page).getByRole("link", { name: /^Work/ }).waitFor();
  // The same name again, in other letters, is refused with the reason.
  await bar(page).getByRole("button", { name: "+ New list" }).click();
  await page.getByLabel("List name").fill("WORK");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(
    page.locator("[data-list-error=name]").filter({ hasText: "you already have a list named" }).textContent(),
  ).resolves.toContain("WORK");
  await page.getByRole("button", { name: "Cancel" }).click();

  // Quick add into it by name; it is listed with its list.
  await quickAdd(page, "Write report list:Work tomorrow", "Write report");
  await expect(rowOf(page, "Write report").locator("[data-list-chip]").textContent()).resolves.toBe("Work");
  await quickAdd(page, "Plan offsite", "Plan offsite");
  await expect(rowOf(page, "Plan offsite").locator("[data-list-chip]").textContent()).resolves.toBe("Inbox");

  // Move it from the task page; the activity says so.
  await rowOf(page, "Plan offsite").getByRole("link", { name: "Plan offsite", exact: true }).click();
  await page.getByRole("heading", { name: "Plan offsite" }).waitFor();
  await page.getByLabel("List", { exact: true }).selectOption({ label: "Work" });
  await page.getByRole("button", { name: "Move" }).click();
  await page.locator("[data-task-list]").filter({ hasText: "Work" }).waitFor();
  await page.locator("[data-moved]").filter({ hasText: "Moved from Inbox to Work" }).waitFor();

  // Two subtasks, one done: 1/2 on the page.
  for (const title of ["Book venue", "Send invites"]) {
    await page.getByLabel("New subtask").fill(title);
    await page.getByRole("button", { name: "Add subtask" }).click();
    await page.locator(`[data-subtask="${title}"]`).waitFor();
  }
  await page.getByRole("button", { name: "Complete “Book venue”" }).click();
  await page.locator('[data-subtask="Book venue"][data-status=completed]').waitFor();
  await page.locator("[data-subtask-progress]").first().filter({ hasText: "1/2" }).waitFor();

  // The list's page: the parent with its progress, the subtasks under it (not in the list).
  await page.goto("/");
  await bar(page).getByRole("link", { name: /^Work/ }).click();
  await page.getByRole("heading", { name: "Tasks in Work", level: 1 }).waitFor({ state: "attached" });
  await rowOf(page, "Plan offsite").locator("[data-subtask-progress]").filter({ hasText: "1/2" }).waitFor();
  expect((await titles(page)).sort()).toEqual(["Plan offsite", "Write report"]);
  await page.screenshot({ path: path.join(SHOTS, "lists-subtasks.png") });

  // Completing the parent asks; Escape cancels and nothing is completed.
  await rowOf(page, "Plan offsite").locator("[data-toggle]").click();
  const dialog = page.getByTestId("complete-parent-dialog");
  await dialog.getByText("It has 1 open subtask.").waitFor();
  expect(await focusInDialog(page)).toBe(true);
  for (const key of ["Tab", "Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"]) {
    await page.keyboard.press(key);
    expect(await focusInDialog(page), key).toBe(true);
  }
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  expect(await status("Plan offsite", email)).toBe("pending");

  // Complete all: the parent and its open subtask; Undo reopens exactly those.
  await rowOf(page, "Plan offsite").locator("[data-toggle]").click();
  await dialog.getByRole("button", { name: "Complete all" }).click();
  const toast = page.getByTestId("undo-toast").filter({ hasText: "Completed “Plan offsite” and 1 subtask." });
  await toast.waitFor();
  await expect.poll(() => status("Send invites", email)).toBe("completed");
  expect(await status("Plan offsite", email)).toBe("completed");
  await toast.getByRole("button", { name: "Undo", exact: true }).click();
  await expect.poll(() => status("Plan offsite", email)).toBe("pending");
  await expect.poll(() => status("Send invites", email)).toBe("pending");
  // Done before the parent's completion, so not the undo's to reopen.
  expect(await status("Book venue", email)).toBe("completed");
  await rowOf(page, "Plan offsite").locator("[data-subtask-progress]").filter({ hasText: "1/2" }).waitFor();

  // Archive the list: it and its tasks leave the default views, and quick add refuses it.
  await page.getByRole("button", { name: "Archive list" }).click();
  await page.getByText("This list is archived").waitFor();
  await page.goto("/");
  await bar(page)
    .getByRole("link", { name: /^Inbox/ })
    .waitFor();
  expect(await bar(page).getByRole("link", { name: /^Work/ }).count()).toBe(0);
  expect(await titles(page)).toEqual([]);
  await page.getByLabel("Add a task").fill("One more list:Work");
  await page.getByRole("button", { name: "Add task" }).click();
  await page.getByText("The list “Work” is archived: unarchive it to add tasks to it.").waitFor();
  // Searching by the list still finds its tasks; unarchiving brings them back.
  await page.getByLabel("Search tasks").fill("list:work");
  await page.getByRole("button", { name: "Search" }).click();
  await rowOf(page, "Write report").waitFor();
  await page.goto("/");
  await page.getByText("Archived lists (1)").click();
  await page.getByRole("button", { name: "Unarchive “Work”" }).click();
  await bar(page).getByRole("link", { name: /^Work/ }).waitFor();
  await rowOf(page, "Plan offsite").waitFor();
});

test("deleting a parent on its page asks first: Escape keeps it; Delete both hides it with its subtask until Undo brings both back", async () => {
  const { page, email } = await newUser(world);
  await quickAdd(page, "Pack for the trip", "Pack for the trip");
  await rowOf(page, "Pack for the trip")
    .getByRole("link", { name: "Pack for the trip", exact: true })
    .click();
  await page.getByRole("heading", { name: "Pack for the trip" }).waitFor();
  await page.getByLabel("New subtask").fill("Passport");
  await page.getByRole("button", { name: "Add subtask" }).click();
  await page.locator('[data-subtask="Passport"]').waitFor();
  const remaining = () => db.task.count({ where: { user: { email } } });

  await page.getByRole("button", { name: "Delete task" }).click();
  const dialog = page.getByTestId("delete-parent-dialog");
  await dialog.getByText("Its 1 subtask goes with it.").waitFor();
  expect(await focusInDialog(page)).toBe(true);
  for (const key of ["Tab", "Tab", "Shift+Tab", "Shift+Tab"]) {
    await page.keyboard.press(key);
    expect(await focusInDialog(page), key).toBe(true);
  }
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  // Still on the task's page, focus back on the button that asked, nothing deleted.
  await page.getByRole("heading", { name: "Pack for the trip" }).waitFor();
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Delete task");
  expect(await remaining()).toBe(2);

  await page.getByRole("button", { name: "Delete task" }).click();
  await dialog.getByRole("button", { name: "Delete both" }).click();
  const toast = page.getByTestId("undo-toast").filter({ hasText: "Pack for the trip" });
  await toast.waitFor();
  expect(await titles(page)).toEqual([]);
  await toast.getByRole("button", { name: "Undo", exact: true }).click();
  await rowOf(page, "Pack for the trip").waitFor();
  expect(await remaining()).toBe(2);
});

test("without JavaScript, completing or deleting a parent asks on its page first; Cancel keeps it, each answer does what it says", async () => {
  const { page, context, email } = await newUser(world);
  const withSubtask = async (parent: string, subtask: string) => {
    await page.goto("/");
    await quickAdd(page, parent, parent);
    await rowOf(page, parent).getByRole("link", { name: parent, exact: true }).click();
    await page.getByRole("heading", { name: parent }).waitFor();
    await page.getByLabel("New subtask").fill(subtask);
    await page.getByRole("button", { name: "Add subtask" }).click();
    await page.locator(`[data-subtask="${subtask}"]`).waitFor();
  };
  await withSubtask("Fix the bike", "Buy a tube");
  await withSubtask("Paint the fence", "Buy paint");
  const count = () => db.task.count({ where: { user: { email } } });

  // The same person in a browser without JavaScript (same session cookie).
  const plain = await world.browser.newContext({
    baseURL: world.baseUrl,
    javaScriptEnabled: false,
    storageState: await context.storageState(),
  });
  const nojs = await plain.newPage();
  nojs.setDefaultTimeout(PAGE_WAIT_MS);
  await nojs.goto("/");
  const question = nojs.getByTestId("parent-question");

  // A row's checkbox: the task's page asks what becomes of the open subtask; nothing changed yet.
  await rowOf(nojs, "Fix the bike").locator("[data-toggle]").click();
  await nojs.waitForURL(/\/tasks\/[\w-]+\?ask=complete$/);
  await question.getByRole("heading", { name: "Complete “Fix the bike”?" }).waitFor();
  await question.getByText("It has 1 open subtask. Complete it too, or leave it open?").waitFor();
  expect(await status("Fix the bike", email)).toBe("pending");
  await question.getByRole("button", { name: "Leave it open" }).click();
  await nojs.getByRole("button", { name: "Reopen" }).waitFor();
  expect(await question.count()).toBe(0);
  expect([await status("Fix the bike", email), await status("Buy a tube", email)]).toEqual([
    "completed",
    "pending",
  ]);

  // The page's Delete: asks; Cancel keeps both.
  await nojs.getByRole("button", { name: "Delete task" }).click();
  await nojs.waitForURL(/\?ask=delete$/);
  await question.getByText("Its 1 subtask goes with it.").waitFor();
  await question.getByRole("link", { name: "Cancel" }).click();
  await nojs.waitForURL(/\/tasks\/[\w-]+$/);
  expect(await question.count()).toBe(0);
  expect(await count()).toBe(4);
  // A question the page does not know asks nothing; signed out, the question is the sign-in page.
  const taskPage = nojs.url();
  expect((await nojs.goto(`${taskPage}?ask=everything&scope=all`))!.status()).toBe(200);
  expect(await question.count()).toBe(0);
  const stranger = await world.browser.newContext({ baseURL: world.baseUrl, javaScriptEnabled: false });
  const signedOut = await stranger.newPage();
  await signedOut.goto(`${taskPage}?ask=delete`);
  expect(new URL(signedOut.url()).pathname).toBe("/login");
  await stranger.close();
  await nojs.goto(taskPage);
  await nojs.getByRole("button", { name: "Delete task" }).click();
  await question.getByRole("button", { name: "Delete both" }).click();
  await nojs.waitForURL(`${world.baseUrl}/`);
  expect(await count()).toBe(2);

  // A row's delete asks the same on the task's page.
  await rowOf(nojs, "Paint the fence").getByRole("button", { name: "Delete “Paint the fence”" }).click();
  await question.getByRole("heading", { name: "Delete “Paint the fence”?" }).waitFor();
  expect(await count()).toBe(2);
  await question.getByRole("button", { name: "Delete both" }).click();
  await nojs.waitForURL(`${world.baseUrl}/`);
  expect(await count()).toBe(0);
  await plain.close();
});

// How soon is make bench's ("Live sync"); this checks that each change arrives, in the same document.
test("two tabs: B's lists bar and list page follow A's new list, rename, recolour, archive, open count and order, without reload", async () => {
  const { page, context, other } = await newUserTwoTabs(world);
  const linkIn = (tab: Page, name: string) => bar(tab).getByRole("link", { name: new RegExp(`^${name}`) });

  // A makes a list: B's bar has it, with its colour and no open task.
  await bar(page).getByRole("button", { name: "+ New list" }).click();
  await page.getByLabel("List name").fill("Errands");
  await page.getByLabel("Colour").selectOption("green");
  await page.getByRole("button", { name: "Create" }).click();
  await linkIn(other, "Errands").and(other.locator("[data-list-color=green]")).waitFor();
  await linkIn(other, "Errands").getByLabel("0 open").waitFor();

  // A adds a task into it: B's count follows. B opens the list's page (a client-side navigation).
  await linkIn(page, "Errands").click();
  await page.getByRole("heading", { name: "Tasks in Errands", level: 1 }).waitFor({ state: "attached" });
  await quickAdd(page, "Buy stamps", "Buy stamps");
  await linkIn(other, "Errands").getByLabel("1 open").waitFor();
  await linkIn(other, "Errands").click();
  await rowOf(other, "Buy stamps").waitFor();

  // A renames and recolours it in one save: B's bar and B's list page say so.
  await page.getByLabel("List name", { exact: true }).fill("Post office");
  await page.getByLabel("Colour", { exact: true }).selectOption("purple");
  await page.getByRole("button", { name: "Save list" }).click();
  await linkIn(other, "Post office").and(other.locator("[data-list-color=purple]")).waitFor();
  await other.getByRole("heading", { name: "Tasks in Post office", level: 1 }).waitFor({ state: "attached" });
  await expect(other.getByLabel("List name", { exact: true }).inputValue()).resolves.toBe("Post office");
  expect(await linkIn(other, "Errands").count()).toBe(0);

  // A completes the task: B's open count drops.
  await rowOf(page, "Buy stamps").locator("[data-toggle]").click();
  await linkIn(other, "Post office").getByLabel("0 open").waitFor();

  // A archives it: B's list page says it is archived, and B's bar moves it to the archived lists.
  await page.getByRole("button", { name: "Archive list" }).click();
  await other.getByText("This list is archived").waitFor();
  await other.getByText("Archived lists (1)").waitFor();
  expect(await linkIn(other, "Post office").count()).toBe(0);
  // And back: B's notice goes, the list is in the bar again.
  await page.getByRole("button", { name: "Unarchive list" }).click();
  await linkIn(other, "Post office").waitFor();
  await other.getByText("This list is archived").waitFor({ state: "detached" });

  // Order: a new list goes last; A moves "Post office" after it by keyboard, focus stays on the
  // button (now at the end, so aria-disabled), the move is announced, and B's bar follows.
  await bar(page).getByRole("button", { name: "+ New list" }).click();
  await page.getByLabel("List name").first().fill("Garden");
  await page.getByRole("button", { name: "Create" }).click();
  // The bar's lists in order, each name without its open count; polled as long as a page step waits.
  const order = (tab: Page) =>
    bar(tab)
      .locator("a[data-list-id]")
      .allInnerTexts()
      .then((texts) => texts.map((text) => text.replace(/\d+$/, "").trim()));
  await expect
    .poll(() => order(other), { timeout: PAGE_WAIT_MS })
    .toEqual(["Inbox", "Post office", "Garden"]);
  const later = page
    .getByRole("group", { name: "Order of “Post office”" })
    .getByRole("button", { name: "Move later" });
  await later.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "“Post office” is now list 3 of 3." }).waitFor();
  await expect
    .poll(() => order(other), { timeout: PAGE_WAIT_MS })
    .toEqual(["Inbox", "Garden", "Post office"]);
  await expect(later.getAttribute("aria-disabled")).resolves.toBe("true");
  expect(await later.evaluate((button) => button === document.activeElement)).toBe(true);
  await page.keyboard.press("Enter");
  expect(await order(page)).toEqual(["Inbox", "Garden", "Post office"]);

  expect(await sameDocument(other)).toBe(true);
  await context.close();
});
