// Reminders already in the past when a task is saved (issue 15, item 8), in a real browser against
// the real topology (harness.ts): the account's choice in Settings (send now, the default, or
// skip), the editor's "already passed — will be sent now / skipped" as a due date is typed, what
// becomes of such a reminder, and the reminders panel with offsets 1/15/120 once they fired (issue
// 15, item 1's screenshot). Pushes go to the stand-in push service (packages/testing): a real
// browser push service is out of reach in tests, so the notifications function trusts the stand-in's
// certificate (NODE_EXTRA_CA_CERTS) and may reach it on loopback, as in tests/reminders/.
import path from "node:path";
import { DateTime } from "luxon";
import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import { TOPICS } from "#core/events.ts";
import { SKIP_REASONS } from "#core/reminders.ts";
import { workerDb } from "#testing/worker-db.ts";
import {
  newUser,
  quickAdd,
  rowOf,
  subscribeToPush as subscribe,
  SHOTS,
  useWebWorldWithPush,
} from "./harness.ts";

const ZONE = "Europe/Berlin";
const SEND_NOW = "already passed — will be sent now";
const SKIPPED = "already passed — will be skipped";

// Each scenario is many browser round trips on a busy machine; the last one also waits for a
// reminder due about a minute after it is saved. Waits are bounded by the context's default timeout.
const { world, push } = useWebWorldWithPush();

const settingsSection = (page: Page) => page.getByRole("region", { name: "Reminders" });

/** Chooses what becomes of reminders already past, in Settings, and waits for it to be saved. */
async function choosePolicy(page: Page, choice: "Send now" | "Skip") {
  await page.goto("/settings");
  const section = settingsSection(page);
  await section.getByLabel(choice).check();
  await section.getByRole("button", { name: "Save" }).click();
  await page
    .getByRole("status")
    .filter({ hasText: choice === "Skip" ? "will be skipped" : "will be sent at once" })
    .waitFor();
}

/** A push subscription on the stand-in push service (harness.ts). */
const subscribeToPush = (page: Page) => subscribe(page, push);

/** Opens a task from the list. */
async function openTask(page: Page, title: string) {
  await page.goto("/");
  await rowOf(page, title).getByRole("link").click();
  await page.waitForURL(/\/tasks\//);
}

/** Types a due date and time, as the user reads them in their zone. */
async function typeDue(page: Page, due: DateTime) {
  await page.getByLabel("Due date").fill(due.toISODate()!);
  await page.getByLabel(/Due time/).fill(due.toFormat("HH:mm"));
}

/** The editor's hint beside a preset offset (minutes), or the add fields' ("new"). */
const hintOf = (page: Page, minutes: number | "new") =>
  minutes === "new"
    ? page.getByTestId("new-reminder-hint").locator("[data-past-hint]")
    : page.locator(`[data-reminder-choice="${minutes}"] [data-past-hint]`);

/** A row of the reminders panel, by its label ("15 min before"). */
const panelRow = (page: Page, label: string) =>
  page.locator("[data-reminder]").filter({ has: page.getByText(label, { exact: true }) });

test("Settings: reminders already past are sent now by default; Skip is kept; a bad choice is a field error, never a 500", async () => {
  const { page, context } = await newUser(world);
  await page.goto("/settings");
  const section = settingsSection(page);
  await expect(section.getByLabel("Send now").isChecked()).resolves.toBe(true);
  await expect(section.getByLabel("Skip").isChecked()).resolves.toBe(false);

  await choosePolicy(page, "Skip");
  await page.reload();
  await expect(section.getByLabel("Skip").isChecked()).resolves.toBe(true);
  // Stored on the account: another session of the same user sees it too.
  const other = await context.newPage();
  await other.goto("/settings");
  await expect(settingsSection(other).getByLabel("Skip").isChecked()).resolves.toBe(true);
  await other.close();

  // A value that is not one of the choices (a tampered form): 400 with the field's message.
  await section.getByLabel("Send now").evaluate((input: HTMLInputElement) => {
    input.value = "whenever";
    input.checked = true;
  });
  const [refused] = await Promise.all([
    page.waitForResponse((response) => response.request().method() === "POST"),
    section.getByRole("button", { name: "Save" }).click(),
  ]);
  expect(refused.status()).toBe(400);
  await expect(page.locator("#past_reminders-error").innerText()).resolves.toBe("Pick “Send now” or “Skip”.");
  // No choice at all is the same field error; the stored choice is untouched by either.
  const csrf = await page.locator("input[name=csrf]").first().inputValue();
  const missing = await page.request.post("/settings", { form: { intent: "past-reminders", csrf } });
  expect(missing.status()).toBe(400);
  await page.reload();
  await expect(section.getByLabel("Skip").isChecked()).resolves.toBe(true);
  await context.close();
});

test("the editor and quick add say which reminders have already passed for the due date typed: sent now, or skipped once the account chose Skip", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Water the garden", "Water the garden");
  await openTask(page, "Water the garden");
  // Due in about ten minutes (the inputs take minutes): 15 min before has passed, 5 min before not.
  await typeDue(page, DateTime.now().setZone(ZONE).plus({ minutes: 10 }));
  // The default reminder (15 min before) is offered checked for a task getting its first due date.
  await expect.poll(() => hintOf(page, 15).innerText()).toBe(SEND_NOW);
  await page.getByLabel("5 min before", { exact: true }).check();
  await page.getByLabel("30 min before", { exact: true }).check();
  await expect.poll(() => hintOf(page, 30).innerText()).toBe(SEND_NOW);
  await expect(hintOf(page, 5).count()).resolves.toBe(0);
  // Unchecked, a reminder has no hint: it will not be planned at all.
  await page.getByLabel("30 min before", { exact: true }).uncheck();
  await expect.poll(() => hintOf(page, 30).count()).toBe(0);
  // A reminder being added is judged the same way.
  await page.getByLabel("Also remind me").fill("1");
  await page.getByLabel("Unit").selectOption("hours");
  await expect.poll(() => hintOf(page, "new").innerText()).toBe(SEND_NOW);
  // Moved to tomorrow, nothing has passed.
  await typeDue(page, DateTime.now().setZone(ZONE).plus({ days: 1 }));
  await expect.poll(() => page.locator("[data-past-hint]").count()).toBe(0);
  // Quick add applies the default reminders to a due phrase, and says so before saving.
  await page.goto("/");
  const preview = page.getByTestId("quick-add-preview").locator("[data-part=past-reminder]");
  await page.getByLabel("Add a task").fill("Call the landlord in 10 minutes");
  await expect.poll(() => preview.innerText()).toMatch(new RegExp(`^15 min before\\s+${SEND_NOW}$`));

  await choosePolicy(page, "Skip");
  await page.goto("/");
  await page.getByLabel("Add a task").fill("Call the landlord in 10 minutes");
  await expect.poll(() => preview.innerText()).toMatch(new RegExp(`^15 min before\\s+${SKIPPED}$`));
  await page.getByLabel("Add a task").fill("Call the landlord in 2 hours");
  await expect.poll(() => preview.count()).toBe(0);
  await openTask(page, "Water the garden");
  await typeDue(page, DateTime.now().setZone(ZONE).plus({ minutes: 10 }));
  await expect.poll(() => hintOf(page, 15).innerText()).toBe(SKIPPED);
  await page.getByLabel(/Due time/).blur();
  await page.screenshot({ path: path.join(SHOTS, "past-reminder-hint.png") });
  // A due time already past: nothing is sent whatever the choice.
  await typeDue(page, DateTime.now().setZone(ZONE).minus({ minutes: 5 }));
  await expect
    .poll(() => hintOf(page, 15).innerText())
    .toBe("already passed — will be skipped (the task is already due)");
  await context.close();
});

test("with Skip, the default reminder already past when quick add saves the task is not sent; the panel says it was skipped, and why", async () => {
  const { page, context } = await newUser(world);
  const endpoint = await subscribeToPush(page);
  await choosePolicy(page, "Skip");
  await page.goto("/");
  await quickAdd(page, "Call the landlord in 10 minutes", "Call the landlord");
  await openTask(page, "Call the landlord");
  const taskId = page.url().split("/").pop()!;
  const row = panelRow(page, "15 min before");
  await expect
    .poll(async () => {
      await page.reload();
      return row.getAttribute("data-status");
    })
    .toBe("skipped");
  await expect(row.locator("[data-reason]").innerText()).resolves.toBe(SKIP_REASONS.pastWhenSaved);
  await expect(row.locator("[data-delivery]").count()).resolves.toBe(0);
  // Skipping and sending are one decision, committed with the row: no reminder was published.
  const db = await workerDb();
  await expect(db.outboxEvent.count({ where: { topic: TOPICS.reminders, subject: taskId } })).resolves.toBe(
    0,
  );
  expect(push.received.filter((received) => received.endpoint === endpoint)).toEqual([]);
  // The ledger accounts for it: the saved task's editor marks nothing as about to happen.
  await expect(page.locator("[data-past-hint]").count()).resolves.toBe(0);
  await context.close();
});

test("with Send now, reminders 1, 15 and 120 min before a task due in about 90 s: 15 and 120 at once, 1 a minute before; each row lists only its own delivery", async () => {
  const { page, context } = await newUser(world);
  const endpoint = await subscribeToPush(page);
  await page.goto("/");
  await quickAdd(page, "Stand-up call", "Stand-up call");
  await openTask(page, "Stand-up call");
  // The next whole minute at least 90 s ahead (the time input takes minutes): the 1-minute reminder
  // is then 30 to 90 s away when the task is saved.
  const soonest = DateTime.now().setZone(ZONE).plus({ seconds: 90 });
  const due = soonest.startOf("minute").equals(soonest)
    ? soonest
    : soonest.startOf("minute").plus({ minutes: 1 });
  await typeDue(page, due);
  await page.getByLabel("2 hours before", { exact: true }).check();
  await page.getByLabel("Also remind me").fill("1");
  await expect.poll(() => hintOf(page, 120).innerText()).toBe(SEND_NOW);
  await expect(hintOf(page, 15).innerText()).resolves.toBe(SEND_NOW);
  await expect(page.getByTestId("new-reminder-hint").count()).resolves.toBe(0);
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();

  // 15 and 120 are sent at once, before the 1-minute reminder's time (30 to 90 s after the save);
  // 1 min before at its time, a minute before the due time, and never earlier.
  const [first, second] = await push.waitFor(2, endpoint, 30_000);
  expect(Math.max(first!.at, second!.at)).toBeLessThan(due.toMillis() - 60_000);
  const all = await push.waitFor(3, endpoint, due.toMillis() - Date.now() + 30_000);
  expect(all[2]!.at).toBeGreaterThanOrEqual(due.toMillis() - 60_000);
  expect(all.map((received) => received.payload?.task_id)).toEqual(Array(3).fill(all[0]!.payload.task_id));

  // The panel: each row fired, with its own push delivery, listed once.
  const labels = ["2 hours before", "15 min before", "1 min before"];
  const deliveriesOf = (label: string) => panelRow(page, label).locator("[data-delivery]").allInnerTexts();
  await expect
    .poll(
      async () => {
        await page.reload();
        return Promise.all(labels.map(deliveriesOf));
      },
      { timeout: 30_000 },
    )
    .toEqual([["push: sent"], ["push: sent"], ["push: sent"]]);
  await expect(page.locator("[data-reminder]").count()).resolves.toBe(3);
  for (const label of labels)
    await expect(panelRow(page, label).getAttribute("data-status"), label).resolves.toBe("fired");
  // Fired for this due time: the editor no longer says they will be sent.
  await expect(page.locator("[data-past-hint]").count()).resolves.toBe(0);
  await page
    .getByRole("region", { name: "Reminders" })
    .screenshot({ path: path.join(SHOTS, "reminders-panel.png") });
  await context.close();
}, 240_000);
