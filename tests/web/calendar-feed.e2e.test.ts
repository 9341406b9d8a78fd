// The calendar feed from Settings in a real browser against the real topology (harness.ts): a user
// makes the address, copies it with the Copy button (read back from the clipboard), a calendar
// app's fetch of it (plain HTTP, no cookies) is read by ical.js; Rotate shows a new address and
// the copied one stops working at once; Turn off stops the feed.
import path from "node:path";
import ICAL from "ical.js";
import { expect, test } from "vitest";
import { newUser, quickAdd, rowOf, SHOTS, useWebWorld } from "./harness.ts";

const world = useWebWorld();

/** What a calendar app gets: a GET without cookies. */
async function subscribe(url: string) {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

test("Settings makes a feed address to copy; a calendar app reads the tasks from it; Rotate stops the old one", async () => {
  const { page, context } = await newUser(world);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: world.baseUrl });
  await quickAdd(page, "Pay rent #home !high tomorrow 9am", "Pay rent");
  await quickAdd(page, "Water the plants every monday at 8am", "Water the plants");
  const rentId = await rowOf(page, "Pay rent").getAttribute("data-task-id");

  await page.goto("/settings");
  const section = page.getByTestId("calendar-feed");
  await section.getByRole("button", { name: "Create calendar address" }).click();
  const address = section.getByTestId("calendar-feed-url");
  await address.waitFor();
  const url = await address.inputValue();
  expect(url).toMatch(new RegExp(`^${world.baseUrl}/calendar/cal_[\\w-]{43}\\.ics$`));
  await section.getByRole("button", { name: "Copy calendar address" }).click();
  await section.getByRole("status").filter({ hasText: "Copied." }).first().waitFor();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
  await expect(section.getByTestId("calendar-feed-todo-url").inputValue()).resolves.toBe(`${url}?as=todo`);
  await expect(
    section.getByRole("link", { name: "Open in my calendar app" }).getAttribute("href"),
  ).resolves.toBe(url.replace(/^http:/, "webcal:"));
  await expect(section.getByTestId("calendar-feed-status").innerText()).resolves.toMatch(
    /not fetched by any app yet/,
  );
  await section.locator("details summary").click();
  await section.screenshot({ path: path.join(SHOTS, "calendar-feed.png") });

  const feed = await subscribe(url);
  expect(feed.status).toBe(200);
  expect(feed.type).toBe("text/calendar; charset=utf-8");
  const root = new ICAL.Component(ICAL.parse(feed.text));
  const events = root.getAllSubcomponents("vevent");
  const rent = events.find((e) => e.getFirstPropertyValue("uid") === `${rentId}@orbit`)!;
  expect(rent.getFirstPropertyValue("summary")).toBe("Pay rent");
  expect(rent.getFirstPropertyValue("priority")).toBe(1);
  // The list first (every task is in one: the Inbox unless moved), then its tags.
  expect(rent.getFirstProperty("categories")!.getValues()).toEqual(["Inbox", "home"]);
  const due = (rent.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate();
  // "tomorrow 9am" in the user's zone (Europe/Berlin).
  expect(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Berlin",
      hour: "2-digit",
      minute: "2-digit",
    }).format(due),
  ).toBe("09:00");
  const water = events.filter((e) => e.getFirstPropertyValue("summary") === "Water the plants");
  expect(water).toHaveLength(2); // this Monday's task, and the Mondays after it
  const series = water.find((e) => e.hasProperty("rrule"))!;
  expect(String(series.getFirstPropertyValue("rrule"))).toBe("FREQ=WEEKLY;BYDAY=MO");
  expect(feed.text).toContain("\r\nRRULE:FREQ=WEEKLY;BYDAY=MO;WKST=MO\r\n");
  expect(series.getFirstProperty("dtstart")!.getParameter("tzid")).toBe("Europe/Berlin");
  expect((series.getFirstPropertyValue("dtstart") as ICAL.Time).toString()).toMatch(/T08:00:00$/);

  // Settings now says an app fetched it.
  await page.reload();
  await expect(section.getByTestId("calendar-feed-status").innerText()).resolves.toMatch(/last fetched/);
  // The address is not shown again (only its fingerprint is kept): rotating makes a new one.
  await expect(section.getByTestId("calendar-feed-url").count()).resolves.toBe(0);

  await section.getByRole("button", { name: "Rotate address" }).click();
  await page.getByRole("status").filter({ hasText: "the old one has stopped working" }).waitFor();
  const rotated = await section.getByTestId("calendar-feed-url").inputValue();
  expect(rotated).not.toBe(url);
  expect((await subscribe(url)).status).toBe(404);
  expect((await subscribe(rotated)).status).toBe(200);

  await section.getByRole("button", { name: "Turn off" }).click();
  await section.getByRole("button", { name: "Create calendar address" }).waitFor();
  expect((await subscribe(rotated)).status).toBe(404);
});
