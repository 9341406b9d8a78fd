// The spec's user scenarios in a real browser against the real topology (see harness.ts).
import path from "node:path";
import { DateTime } from "luxon";
import { expect, test } from "vitest";
import { sentMail } from "#testing/broker.ts";
import { confirmationToken } from "#testing/email-confirmation.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";
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

// Each scenario is many browser round trips on a busy machine; its waits are bounded by the
// context's default timeout (harness.ts), so the test's own limit (useWebWorld's) sits above them.
const world = useWebWorld();

/** Runs in the page: an element's text colour as painted sRGB (Tailwind's are oklch()), via a 1×1 canvas. */
const paintedColor = (el: Element): number[] => {
  const ctx = document.createElement("canvas").getContext("2d")!;
  ctx.fillStyle = getComputedStyle(el).color;
  ctx.fillRect(0, 0, 1, 1);
  return Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3));
};

test("every page requires sign in, and the API-facing routes refuse anonymous callers", async () => {
  const context = await world.browser.newContext({ baseURL: world.baseUrl });
  const page = await context.newPage();
  for (const route of ["/", "/settings", "/tasks/00000000-0000-4000-8000-000000000000"]) {
    await page.goto(route);
    expect(new URL(page.url()).pathname, route).toBe("/login");
  }
  expect(await page.title()).toBe("Sign in · Orbit");
  expect((await page.request.get("/live")).status()).toBe(401);
  const headers = (await page.request.get("/login")).headers();
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  await page.screenshot({ path: path.join(SHOTS, "sign-in.png") });
  await context.close();
});

test("quick add parses tags, priority and due phrase; a high priority task gets a red badge", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Pay rent #home !high tomorrow 9am", "Pay rent");
  const row = rowOf(page, "Pay rent");
  const badge = row.locator("[data-priority=high]");
  await expect(badge.innerText()).resolves.toBe("High");
  const [r, g, b] = (await badge.evaluate(paintedColor)) as [number, number, number];
  expect(r).toBeGreaterThan(120);
  expect(r - Math.max(g, b)).toBeGreaterThan(60);
  await expect(row.locator("[data-tag=home]").count()).resolves.toBe(1);
  await expect(row.locator("[data-due]").innerText()).resolves.toBe("Tomorrow 09:00");
  await context.close();
});

test("a weekly recurring task, once completed, is followed by next week's occurrence", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Water plants tomorrow 9am", "Water plants");
  const firstDue = await rowOf(page, "Water plants").locator("time").getAttribute("datetime");
  await rowOf(page, "Water plants").getByRole("link").click();
  await page.getByLabel("Pattern").selectOption("weekly");
  // The live preview lists the next five occurrences, a week apart.
  const preview = page.getByTestId("recurrence-preview").locator("li");
  await expect(preview.count()).resolves.toBe(5);
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await page.getByText("↻ Weekly").waitFor();
  await page.screenshot({ path: path.join(SHOTS, "task-detail.png"), fullPage: true });
  await page.getByRole("button", { name: "Mark complete" }).click();
  await page.getByRole("button", { name: "Reopen" }).waitFor();
  await page.getByRole("link", { name: "← All tasks" }).click();
  const nextWeek = new Date(new Date(firstDue!).getTime() + 7 * 86_400_000).toISOString();
  await page.locator(`[data-task-row] time[datetime="${nextWeek}"]`).waitFor({ timeout: 15_000 });
  expect(await titles(page)).toEqual(["Water plants"]);
  // A recurring task asks what to delete: the whole series leaves nothing behind.
  await rowOf(page, "Water plants").getByRole("link").click();
  await page.getByRole("button", { name: "Delete this one" }).waitFor();
  await page.getByRole("button", { name: "Delete the series" }).click();
  await page.getByTestId("empty-state").waitFor();
  await context.close();
});

test("an occurrence of a series can be postponed alone, or skipped so the series goes on", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Water ferns every monday 8am", "Water ferns");
  const firstDue = (await rowOf(page, "Water ferns").locator("time").getAttribute("datetime"))!;
  await rowOf(page, "Water ferns").getByRole("link").click();
  await page.getByRole("button", { name: "Postpone a day" }).click();
  const dayLater = new Date(new Date(firstDue).getTime() + 86_400_000).toISOString();
  await page.locator(`time[datetime="${dayLater}"]`).waitFor();
  await page.getByText("↻ Weekly on Mon").waitFor();
  // Skipped, the postponed one goes and the series' next Monday comes, a week after the first.
  await page.getByRole("button", { name: "Skip this one" }).click();
  await page.waitForURL(`${world.baseUrl}/`);
  const nextMonday = new Date(new Date(firstDue).getTime() + 7 * 86_400_000).toISOString();
  await page.locator(`[data-task-row] time[datetime="${nextMonday}"]`).waitFor({ timeout: 15_000 });
  expect(await titles(page)).toEqual(["Water ferns"]);
  await context.close();
});

test("monthly on the 31st: the preview clamps to short months, ends after 4, and the rule is saved", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Pay invoices", "Pay invoices");
  await rowOf(page, "Pay invoices").getByRole("link").click();
  await page.getByLabel("Due date").fill("2031-01-31");
  await page.getByLabel(/Due time/).fill("09:00");
  await page.getByLabel("Pattern").selectOption("monthly");
  await page.getByLabel("Monthly on").selectOption("day");
  await page.getByLabel("Day of the month").fill("31");
  await page.getByLabel("Ends", { exact: true }).selectOption("after");
  await page.getByLabel("Occurrences in all").fill("4");
  const expected = [
    "Fri, 31 Jan 2031, 09:00",
    "Fri, 28 Feb 2031, 09:00",
    "Mon, 31 Mar 2031, 09:00",
    "Wed, 30 Apr 2031, 09:00",
  ];
  const preview = page.getByTestId("recurrence-preview").locator("li");
  await expect.poll(() => preview.allInnerTexts()).toEqual(expected);
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await page.getByText("↻ Monthly on the 31st").waitFor();
  // A change from another tab reaches this one through live sync, whose revalidation must not wipe
  // the result of this tab's own save off the screen (it did: useActionData is cleared by it).
  const other = await context.newPage();
  await other.goto(page.url());
  await other.getByLabel("Title").fill("Pay all invoices");
  await other.getByRole("button", { name: "Save changes" }).click();
  await other.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await page.getByRole("heading", { name: "Pay all invoices" }).waitFor();
  await expect(page.getByRole("status").filter({ hasText: "Saved." }).isVisible()).resolves.toBe(true);
  await other.close();
  // The saved rule comes back into the form (month_day 31, max_count 4), and so does its preview.
  await page.reload();
  await expect(page.getByLabel("Day of the month").inputValue()).resolves.toBe("31");
  await expect(page.getByLabel("Occurrences in all").inputValue()).resolves.toBe("4");
  await expect.poll(() => preview.allInnerTexts()).toEqual(expected);
  await context.close();
});

test("quick add 'every last friday' makes a monthly series; the editor shows it and switches it to yearly with a preview", async () => {
  const { page, context } = await newUser(world);
  await page.getByLabel("Add a task").fill("Review budget every last friday 4pm");
  await page.locator("[data-part=repeat]").filter({ hasText: "Repeats: Monthly on the last Fri" }).waitFor();
  await quickAdd(page, "Review budget every last friday 4pm", "Review budget");
  await rowOf(page, "Review budget").getByText("↻ Monthly on the last Fri").waitFor();
  await rowOf(page, "Review budget").getByRole("link").click();
  await expect(page.getByLabel("Monthly on").inputValue()).resolves.toBe("nth");
  await expect(page.getByLabel("Which").inputValue()).resolves.toBe("-1");
  await expect(page.getByLabel("Weekday").inputValue()).resolves.toBe("5");
  const preview = page.getByTestId("recurrence-preview").locator("li");
  // Five last Fridays at 16:00, each a Friday in the last week of its month.
  await expect.poll(async () => (await preview.allInnerTexts()).length).toBe(5);
  for (const text of await preview.allInnerTexts()) {
    const day = DateTime.fromFormat(text, "ccc, d LLL yyyy, HH:mm", { zone: "Europe/Berlin" });
    expect([day.weekday, day.hour, day.plus({ days: 7 }).month !== day.month], text).toEqual([5, 16, true]);
  }
  // Yearly from Feb 29: Feb 28 in common years, the 29th again in a leap year.
  await page.getByLabel("Due date").fill("2028-02-29");
  await page.getByLabel(/Due time/).fill("09:00");
  await page.getByLabel("Pattern").selectOption("yearly");
  await expect
    .poll(() => preview.allInnerTexts())
    .toEqual([
      "Tue, 29 Feb 2028, 09:00",
      "Wed, 28 Feb 2029, 09:00",
      "Thu, 28 Feb 2030, 09:00",
      "Fri, 28 Feb 2031, 09:00",
      "Sun, 29 Feb 2032, 09:00",
    ]);
  await page.getByText("Yearly on Feb 29, on schedule").waitFor();
  await page.getByLabel("Next one counts from").selectOption("completion");
  await page.getByText("Yearly on Feb 29, counted from each completion").waitFor();
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await page.getByText("↻ Yearly on Feb 29 · from completion").waitFor();
  await context.close();
});

test("a reminder at a set time and a custom offset are saved, listed, and removable", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Flight check-in", "Flight check-in");
  await rowOf(page, "Flight check-in").getByRole("link").click();
  await page.getByLabel("Due date").fill("2031-05-10");
  await page.getByLabel(/Due time/).fill("14:00");
  await page.getByLabel("Also remind me").fill("3");
  await page.getByLabel("Unit").selectOption("hours");
  await page.getByLabel("Or on").fill("2031-05-09");
  await page.getByLabel(/^At \(/).fill("20:00");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  const listed = page.locator("[data-reminder]");
  await expect
    .poll(() => listed.allInnerTexts())
    .toEqual(
      expect.arrayContaining([
        expect.stringContaining("3 hours before · Sat, 10 May 2031, 11:00"),
        expect.stringContaining("At a set time · Fri, 9 May 2031, 20:00"),
      ]),
    );
  await page.getByRole("button", { name: "Remove reminder 3 hours before" }).click();
  await expect
    .poll(async () => (await listed.allInnerTexts()).some((text) => text.includes("3 hours before")))
    .toBe(false);
  await expect(listed.allInnerTexts()).resolves.toEqual(
    expect.arrayContaining([expect.stringContaining("At a set time · Fri, 9 May 2031, 20:00")]),
  );
  await context.close();
});

test("setting a due date lists the task's reminder with its time", async () => {
  const { page, context } = await newUser(world, "America/New_York");
  await quickAdd(page, "Dentist appointment", "Dentist appointment");
  await rowOf(page, "Dentist appointment").getByRole("link").click();
  await page.getByText("Set a due date to get reminders.").waitFor();
  await page.getByLabel("Due date").fill("2030-03-15");
  await page.getByLabel(/Due time/).fill("10:30");
  await page.getByRole("button", { name: "Save changes" }).click();
  const reminder = page.locator("[data-reminder]");
  await reminder.first().waitFor();
  // The default reminder: 15 minutes before 10:30 New York time, scheduled by on-reminder-fired.
  await expect(reminder.first().innerText()).resolves.toContain("15 min before · Fri, 15 Mar 2030, 10:15");
  await expect
    .poll(
      async () => {
        await page.reload();
        return page.locator("[data-reminder]").first().innerText();
      },
      { timeout: 10_000, interval: 250 },
    )
    .toContain("scheduled");
  await context.close();
});

test("filtering by the tag work shows only work tasks, and the filter is in the URL", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Write report #work", "Write report");
  await quickAdd(page, "Buy bread #home", "Buy bread");
  await quickAdd(page, "Plan sprint #work !medium", "Plan sprint");
  await page.getByLabel("Tag").selectOption("work");
  await page.waitForURL(/tag=work/);
  await expect.poll(() => titles(page)).toEqual(expect.arrayContaining(["Write report", "Plan sprint"]));
  expect((await titles(page)).sort()).toEqual(["Plan sprint", "Write report"]);
  // Bookmarkable: the same URL in a new tab shows the same view.
  const other = await context.newPage();
  await other.goto(page.url());
  expect((await titles(other)).sort()).toEqual(["Plan sprint", "Write report"]);
  await context.close();
});

test("a due date range (From/To pickers, both days included) lists open tasks due then, and is in the URL", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Renew passport in 2 days", "Renew passport");
  await quickAdd(page, "Book flights in 10 days", "Book flights");
  await quickAdd(page, "Sort photos", "Sort photos");
  await quickAdd(page, "Return library books in 3 days", "Return library books");
  await rowOf(page, "Return library books")
    .getByRole("button", { name: /^Complete/ })
    .click();
  await expect.poll(() => titles(page)).not.toContain("Return library books");
  const today = DateTime.now().setZone("Europe/Berlin").startOf("day");
  const [from, to] = [today.plus({ days: 1 }).toISODate()!, today.plus({ days: 3 }).toISODate()!];
  await page.getByLabel("From", { exact: true }).fill(from);
  await page.waitForURL(new RegExp(`from=${from}`));
  await page.getByLabel("To", { exact: true }).fill(to);
  await page.waitForURL(new RegExp(`from=${from}.*to=${to}`));
  // Open tasks only, as the list's status default says: the completed one due in range is not here.
  await expect.poll(() => titles(page)).toEqual(["Renew passport"]);
  await page.screenshot({ path: path.join(SHOTS, "range-filter.png") });
  await page.getByLabel("Status").selectOption("all");
  await expect
    .poll(async () => (await titles(page)).sort())
    .toEqual(["Renew passport", "Return library books"]);
  // Bookmarkable, and cleared in one click.
  const other = await context.newPage();
  await other.goto(page.url());
  expect((await titles(other)).sort()).toEqual(["Renew passport", "Return library books"]);
  await page.getByRole("link", { name: "Clear dates" }).click();
  await expect.poll(async () => (await titles(page)).length).toBe(4);
  expect(new URL(page.url()).searchParams.has("from")).toBe(false);
  await context.close();
});

test("with create-task's sidecar, or create-task itself, down: a 503 a person understands, the typed text kept", async () => {
  const { page, context } = await newUser(world);
  const text = "Call the plumber #home tomorrow 8am";
  const box = page.getByLabel("Add a task");
  const shot = path.join(SHOTS, "service-down.png");
  const down = new Set<"sidecar" | "app">();
  try {
    for (const which of ["sidecar", "app"] as const) {
      await world.topology.kill("create-task", which, "SIGKILL");
      down.add(which);
      const answer = page.waitForResponse((r) => r.request().method() === "POST");
      await box.fill(text);
      await page.getByRole("button", { name: "Add task" }).click();
      expect((await answer).status(), which).toBe(503);
      const alert = page.getByRole("alert").filter({ hasText: "cannot reach its task service" });
      await alert.waitFor();
      expect(await alert.innerText(), which).not.toMatch(/HTTP \d{3}/);
      await expect(box.inputValue(), which).resolves.toBe(text);
      if (which === "sidecar") await page.screenshot({ path: shot });
      await world.topology.restart("create-task", which);
      down.delete(which);
    }
  } finally {
    for (const which of down) await world.topology.restart("create-task", which);
  }
  // Back up: the same text, sent again, is the task.
  await page.getByRole("button", { name: "Add task" }).click();
  await rowOf(page, "Call the plumber").waitFor();
  await context.close();
});

test("quick add shows what it understood before saving; × keeps a part as text; an unknown !word is flagged", async () => {
  const { page, context } = await newUser(world);
  const box = page.getByLabel("Add a task");
  await box.fill("Meeting with Sam at 3pm #work !urgent");
  const preview = page.getByTestId("quick-add-preview");
  await preview.locator("[data-part=due]").waitFor();
  await expect(preview.locator("[data-part=due]").innerText()).resolves.toMatch(
    /^Due: (Today|Tomorrow) 15:00/,
  );
  await expect(preview.locator("[data-part=tag]").innerText()).resolves.toMatch(/^#work/);
  await expect(preview.locator("[data-part=unknown-priority]").innerText()).resolves.toContain(
    "!urgent is not a priority",
  );
  await page.screenshot({ path: path.join(SHOTS, "quick-add-preview.png") });
  // "at 3pm" is part of the title here, not a time: × keeps it as text, quoted.
  await page.getByRole("button", { name: "Keep “at 3pm” as text" }).click();
  await expect(box.inputValue()).resolves.toBe('Meeting with Sam "at 3pm" #work !urgent');
  await expect(preview.locator("[data-part=due]").count()).resolves.toBe(0);
  await page.getByRole("button", { name: "Add task" }).click();
  const row = rowOf(page, "Meeting with Sam at 3pm !urgent");
  await row.waitFor();
  await expect(row.locator("[data-tag=work]").count()).resolves.toBe(1);
  await expect(row.locator("[data-due]").count()).resolves.toBe(0);
  await expect(box.inputValue()).resolves.toBe("");
  await context.close();
});

test("searching groceries finds every such task and nothing else; a prefix and a typo find them too", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Groceries for the week", "Groceries for the week");
  await quickAdd(page, "Call the bank", "Call the bank");
  await quickAdd(page, "Pick up groceries #errands", "Pick up groceries");
  await page.getByLabel("Search tasks").fill("groceries");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/q=groceries/);
  await expect
    .poll(async () => (await titles(page)).sort())
    .toEqual(["Groceries for the week", "Pick up groceries"]);
  // As people type: the last word is a prefix.
  await page.getByLabel("Search tasks").fill("pick groc");
  await page.getByRole("button", { name: "Search" }).click();
  await expect.poll(() => titles(page)).toEqual(["Pick up groceries"]);
  expect(await page.getByTestId("similar-matches").count()).toBe(0);
  // A typo: no task has the word, so close titles are shown, and the page says so.
  await page.getByLabel("Search tasks").fill("grocreies");
  await page.getByRole("button", { name: "Search" }).click();
  await expect
    .poll(async () => (await titles(page)).sort())
    .toEqual(["Groceries for the week", "Pick up groceries"]);
  await expect
    .poll(() => page.getByTestId("similar-matches").innerText())
    .toBe("No task has the words “grocreies”; these titles come close.");
  await page.getByLabel("Search tasks").fill("nothing-like-this");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByTestId("empty-state").waitFor();
  await context.close();
});

test("sorting by due date orders tasks chronologically", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Third in 5 days #home", "Third");
  await quickAdd(page, "First tomorrow 8am !high #work", "First");
  await quickAdd(page, "No date at all !low", "No date at all");
  await quickAdd(page, "Second in 3 days !medium #work #urgent", "Second");
  await page.getByRole("link", { name: "Created" }).click();
  await page.waitForURL(/sort=created/);
  await page.locator("[data-sort=due]").click();
  await page.waitForURL(/sort=due/);
  await expect.poll(() => titles(page)).toEqual(["First", "Second", "Third", "No date at all"]);
  const due = await page
    .locator("[data-task-row] time")
    .evaluateAll((els) => els.map((el) => el.getAttribute("datetime")!));
  expect([...due].sort()).toEqual(due);
  await page.screenshot({ path: path.join(SHOTS, "task-list.png"), fullPage: true });
  await context.close();
});

test("a second click on the current sort flips its key; ties keep their order and undated tasks stay last", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Sooner tomorrow 8am !low", "Sooner");
  await quickAdd(page, "Later in 3 days !high", "Later");
  await quickAdd(page, "Someday !high", "Someday");
  // Due at the same minute as Sooner: the priority tie-breaker puts it first either way.
  await quickAdd(page, "Tie tomorrow 8am !high", "Tie");
  const sortLink = (sort: string) => page.locator(`[data-sort=${sort}]`);
  // Due date is the list's default sort, earliest first.
  await expect(sortLink("due").innerText()).resolves.toBe("Due date ↑");
  await expect.poll(() => titles(page)).toEqual(["Tie", "Sooner", "Later", "Someday"]);
  await sortLink("due").click();
  await page.waitForURL(/sort=due&order=desc/);
  await expect.poll(() => titles(page)).toEqual(["Later", "Tie", "Sooner", "Someday"]);
  await expect(sortLink("due").innerText()).resolves.toBe("Due date ↓");
  // Priority's default is highest first (then earliest due); flipping it puts the lowest first.
  await sortLink("priority").click();
  await page.waitForURL(
    (url) => url.searchParams.get("sort") === "priority" && !url.searchParams.has("order"),
  );
  await expect.poll(() => sortLink("priority").innerText()).toBe("Priority ↓");
  await expect.poll(() => titles(page)).toEqual(["Tie", "Later", "Someday", "Sooner"]);
  await sortLink("priority").click();
  await page.waitForURL(/sort=priority&order=asc/);
  await expect.poll(() => titles(page)).toEqual(["Sooner", "Tie", "Later", "Someday"]);
  await expect(sortLink("priority").innerText()).resolves.toBe("Priority ↑");
  await context.close();
});

test("a saved view restores its filters from any page and can be deleted; a view needs a name", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Write report #work", "Write report");
  await quickAdd(page, "Buy bread #home", "Buy bread");
  await page.getByLabel("Tag").selectOption("work");
  await page.waitForURL(/tag=work/);
  await page.getByRole("button", { name: "Save view" }).click();
  await page.getByLabel("View name").fill("   ");
  await page.getByLabel("View name").evaluate((input) => input.removeAttribute("required"));
  const [refused] = await Promise.all([
    page.waitForResponse((response) => response.request().method() === "POST"),
    page.getByRole("button", { name: "Save", exact: true }).click(),
  ]);
  expect(refused.status()).toBe(400);
  await expect(page.getByRole("link", { name: /★/ }).count()).resolves.toBe(0);
  await page.getByRole("button", { name: "Save view" }).click();
  await page.getByLabel("View name").fill("Work");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  const view = page.getByRole("link", { name: "★ Work" });
  await view.waitFor();
  await page.goto("/");
  await expect.poll(async () => (await titles(page)).sort()).toEqual(["Buy bread", "Write report"]);
  await view.click();
  await page.waitForURL(/tag=work/);
  await expect.poll(() => titles(page)).toEqual(["Write report"]);
  await page.getByRole("button", { name: "Delete saved view Work" }).click();
  await expect.poll(() => view.count()).toBe(0);
  await page.reload();
  await expect(view.count()).resolves.toBe(0);
  await context.close();
});

// How soon the other tab has it is measured by make bench ("7. Live sync (tab A → tab B)"); a 1 s
// bound here failed under load, so this checks that it arrives, in the same document.
test("two tabs of one user: a change in one appears in the other, without reload", async () => {
  const { page, context, other } = await newUserTwoTabs(world);

  await quickAdd(page, "Synced task #live", "Synced task");
  await rowOf(other, "Synced task").waitFor();

  await rowOf(page, "Synced task").locator("[data-toggle]").click();
  await other
    .locator("[data-task-row][data-status=completed]")
    .or(other.getByTestId("empty-state"))
    .waitFor();
  expect(await sameDocument(other)).toBe(true);
  await context.close();
});

test("a client that reconnects with Last-Event-ID is sent exactly the updates it missed", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Missed one", "Missed one");
  await quickAdd(page, "Missed two", "Missed two");
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  const read = async (headers: Record<string, string>, wanted: number) => {
    const controller = new AbortController();
    const response = await fetch(`${world.baseUrl}/live`, {
      headers: { cookie, ...headers },
      signal: controller.signal,
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const events: { id: string; title: string }[] = [];
    let buffer = "";
    const deadline = Date.now() + 5_000;
    while (events.length < wanted && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data)
          events.push({ id, title: (JSON.parse(data) as { task: { title: string } }).task.title });
      }
    }
    controller.abort();
    return events;
  };
  // Both creations are in the log (each delivered through the web app's own sidecar).
  await expect
    .poll(async () => (await read({}, 2)).map((e) => e.title))
    .toEqual(["Missed one", "Missed two"]);
  const all = await read({}, 2);
  const resumed = await read({ "last-event-id": all[0]!.id }, 1);
  expect(resumed).toEqual([all[1]]);
  await context.close();
});

test("one user never sees another's tasks, not even by their URL", async () => {
  const alice = await newUser(world);
  await quickAdd(alice.page, "Alice's secret plan", "Alice's secret plan");
  await rowOf(alice.page, "Alice's secret plan").getByRole("link").click();
  await alice.page.waitForURL(/\/tasks\//);
  const taskUrl = alice.page.url();
  const bob = await newUser(world);
  expect(await titles(bob.page)).toEqual([]);
  await bob.page.getByLabel("Search tasks").fill("secret");
  await bob.page.getByRole("button", { name: "Search" }).click();
  await bob.page.getByTestId("empty-state").waitFor();
  const response = await bob.page.goto(taskUrl);
  expect(response?.status()).toBe(404);
  await expect(bob.page.getByText("Alice's secret plan").count()).resolves.toBe(0);
  await alice.context.close();
  await bob.context.close();
});

test("actions refuse a form without this session's CSRF token (403)", async () => {
  const { page, context } = await newUser(world);
  const response = await page.request.post("/?index", {
    form: { intent: "quick-add", text: "forged", csrf: "nope" },
  });
  expect(response.status()).toBe(403);
  await page.reload();
  expect(await titles(page)).toEqual([]);
  await context.close();
});

test("settings: an API token is shown once, listed by its prefix, and revoked; email reminders switch on once confirmed", async () => {
  const { page, context, email } = await newUser(world);
  await page.getByRole("link", { name: "Settings" }).click();
  await page.waitForURL(/\/settings$/);
  await expect.poll(() => page.title()).toBe("Settings · Orbit");
  await page.getByLabel("Token name").fill("CI script");
  await page.getByLabel("Access").selectOption("read");
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = await page.getByTestId("new-token").innerText();
  expect(secret).toMatch(/^orb_[A-Za-z0-9_-]{43}$/);
  const listed = page.locator("li").filter({ hasText: "CI script" });
  await expect(listed.innerText()).resolves.toContain(`${secret.slice(0, 12)}…`);
  await expect(listed.innerText()).resolves.toContain("read only");
  // The token works against the public API until it is revoked.
  const api = (token: string) =>
    fetch(`${world.topology.app("notifications").url}/v1/channels`, {
      headers: { authorization: `Bearer ${token}` },
    });
  expect((await api(secret)).status).toBe(200);
  await page.reload();
  await expect(page.getByTestId("new-token").count()).resolves.toBe(0);
  await page.getByLabel("Email reminders to").check();
  await page.getByRole("button", { name: "Save", exact: true }).nth(1).click();
  await page
    .getByRole("status")
    .filter({ hasText: `Confirmation sent to ${email}` })
    .waitFor();
  await expect(page.getByLabel("Email reminders to").isChecked()).resolves.toBe(true);
  await expect(page.getByTestId("email-confirmation").innerText()).resolves.toContain(
    "no reminder is mailed until its link is opened",
  );
  // The link in the mail the smtp binding wrote confirms the address for the signed-in account.
  const [mail] = await sentMail({ backing: null, databaseUrl: await workerDatabaseUrl() }, email);
  await page.goto(`${world.baseUrl}/settings/email/confirm?token=${confirmationToken(mail!.body)}`);
  await page
    .getByRole("status")
    .filter({ hasText: `${email} is confirmed` })
    .waitFor();
  await page.getByRole("link", { name: "Back to settings" }).click();
  await page
    .getByTestId("email-confirmation")
    .filter({ hasText: `${email} is confirmed.` })
    .waitFor();
  await page.screenshot({ path: path.join(SHOTS, "settings.png"), fullPage: true });
  await page.getByRole("button", { name: "Revoke token CI script" }).click();
  await page.getByText("No tokens yet.").waitFor();
  expect((await api(secret)).status).toBe(401);
  await context.close();
});

test("the basic forms work without JavaScript: sign up, quick add, complete", async () => {
  const context = await world.browser.newContext({ baseURL: world.baseUrl, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/signup");
  await page.getByLabel("Email").fill(`nojs-${Date.now()}@example.test`);
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${world.baseUrl}/`);
  await quickAdd(page, "Works without scripts #plain", "Works without scripts");
  // The post leaves Remix's `?index` in the address bar; the page's links (lists, sorts, filters)
  // carry its query on without it.
  expect(new URL(page.url()).searchParams.has("index")).toBe(true);
  const hrefs = await page
    .locator("a[href]")
    .evaluateAll((links) => links.map((a) => a.getAttribute("href")!));
  expect(hrefs.filter((href) => href.startsWith("/?") || href.startsWith("?")).length).toBeGreaterThan(0);
  expect(hrefs.filter((href) => /[?&]index(=|&|$)/.test(href))).toEqual([]);
  await rowOf(page, "Works without scripts").locator("[data-toggle]").click();
  await page.getByTestId("empty-state").waitFor();
  await context.close();
});

test("keyboard: q focuses quick add, / focuses search, j selects a task and x completes it", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Keyboard task", "Keyboard task");
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("q");
  await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe("quick-add");
  await page.keyboard.press("Escape");
  await page.keyboard.press("/");
  await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe("search");
  await page.keyboard.press("Escape");
  await page.keyboard.press("j");
  await page.keyboard.press("x");
  await page.getByTestId("empty-state").waitFor();
  await context.close();
});

test("on a phone-sized screen nothing scrolls sideways", async () => {
  const { page, context } = await newUser(world);
  await page.setViewportSize({ width: 375, height: 740 });
  await quickAdd(
    page,
    "A rather long task title that must wrap or truncate on a small phone screen #mobile !high tomorrow 9am",
    "A rather long task title that must wrap or truncate on a small phone screen",
  );
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: path.join(SHOTS, "phone.png"), fullPage: true });
  await context.close();
});

// Correctness only: how fast the page is with 10,000 tasks is measured by `make bench` (6b, the
// page's server time against its own SQL in the same run), never by a timed test.
test("with 10,000 tasks the list pages through them in order, 50 at a time (keyset pagination)", async () => {
  const { page, context, email } = await newUser(world);
  const db = await workerDb();
  const user = await db.user.findUniqueOrThrow({ where: { email } });
  await db.$executeRaw`
    INSERT INTO tasks (id, user_id, title, priority, due_at, time_zone)
    SELECT gen_random_uuid(), ${user.id}::uuid, 'Bulk task ' || n, (ARRAY['none','low','medium','high'])[1 + n % 4]::priority,
           now() + make_interval(mins => n), 'UTC'
    FROM generate_series(1, 10000) AS n`;
  await page.goto("/");
  await expect(page.locator("[data-task-row]").count()).resolves.toBe(50);
  for (let pageNo = 2; pageNo <= 4; pageNo++) {
    await page.getByRole("button", { name: "Load more" }).click();
    await page
      .locator("[data-task-row]")
      .nth(pageNo * 50 - 1)
      .waitFor();
    await expect(page.locator("[data-task-row]").count()).resolves.toBe(pageNo * 50);
  }
  // Due soonest first, each task once, none skipped where one page ends and the next begins.
  const expected = Array.from({ length: 200 }, (_, i) => `Bulk task ${i + 1}`);
  expect(await titles(page)).toEqual(expected);
  await expect(page.getByRole("button", { name: "Load more" }).isVisible()).resolves.toBe(true);
  await context.close();
});

test("the session cookie is HttpOnly and SameSite=Lax; repeated wrong passwords get a friendly 429", async () => {
  const { page, context, email } = await newUser(world);
  const [cookie] = await context.cookies();
  expect(cookie).toMatchObject({ name: "orbit_session", httpOnly: true, sameSite: "Lax", path: "/" });
  expect(cookie!.expires * 1000 - Date.now()).toBeGreaterThan(29 * 86_400_000);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login$/);
  let status = 0;
  for (let attempt = 1; attempt <= 6; attempt++) {
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not my password");
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/login")),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    status = response.status();
    await page.getByRole("alert").waitFor();
  }
  expect(status).toBe(429);
  await expect(page.getByRole("alert").innerText()).resolves.toMatch(/Too many attempts\. .*wait 15 minutes/);
  await context.close();
});

test("the task functions' field errors are shown next to the field", async () => {
  const { page, context } = await newUser(world);
  await quickAdd(page, "Valid title", "Valid title");
  await rowOf(page, "Valid title").getByRole("link").click();
  // Exact, and only once on the task page: the list's "Complete “Valid title”" button matches "Title" too.
  await page.waitForURL(/\/tasks\//);
  await page.getByLabel("Title", { exact: true }).fill("   ");
  await page.getByRole("button", { name: "Save changes" }).click();
  const error = page.locator("#title-error");
  await error.waitFor();
  await expect(error.innerText()).resolves.toBe("must not be empty");
  await context.close();
});
