// The calendar feed through real HTTP: the web app as remix-serve runs it, on this worker's
// PostgreSQL, tasks made by the task commands. What it serves is read back by ical.js (Mozilla's
// iCalendar library, the one Thunderbird uses; a dev dependency used only as the oracle): every
// field a calendar shows, each series' dates expanded by ical.js against the engine's
// previewOccurrences, the reminders' VALARM triggers; and the secret URL as the credential: one
// user's feed never holds another's tasks, a rotated or turned-off address is 404 at once.
import { randomBytes } from "node:crypto";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { afterAll, beforeAll, expect, test } from "vitest";
import { icalDates, icalTriggers } from "#core/ical-oracle.ts";
import { previewOccurrences, type RecurrenceRule } from "#core/recurrence.ts";
import { createTaskSchema } from "#core/tasks.ts";
import {
  CALENDAR_FEED_RATE_LIMIT as FEED_RATE_LIMIT,
  calendarFeedPath,
  disableCalendarFeed,
  rotateCalendarFeed,
} from "#accounts/calendar-feed.ts";
import type { Db } from "#db/client.ts";
import { completeTask, createTask, type CommandContext } from "#tasks/commands.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { startWeb, type WebApp } from "../security/web-world.ts";

let db: Db;
let web: WebApp;

beforeAll(async () => {
  db = await workerDb();
  web = await startWeb({});
}, 300_000);

afterAll(async () => {
  await web?.stop();
});

const DAY = 86_400_000;
const ZONE = "Europe/Berlin";

function ctxFor(user: TestUser, now = new Date()): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor: { type: "api_token", id: user.tokenId },
    userId: user.id,
    userTimeZone: ZONE,
    defaultReminderMinutes: [],
    now,
  };
}

const create = async (user: TestUser, input: Record<string, unknown>, now?: Date) =>
  (await createTask(ctxFor(user, now), createTaskSchema.parse({ time_zone: ZONE, reminders: [], ...input })))
    .task;

/** 09:00 in Berlin `days` from now (on the next `weekday` from there, if given). */
function berlinNine(days: number, weekday?: number): Date {
  let at = DateTime.now().setZone(ZONE).plus({ days }).set({ hour: 9, minute: 0, second: 0, millisecond: 0 });
  while (weekday !== undefined && at.weekday !== weekday) at = at.plus({ days: 1 });
  return at.toJSDate();
}

async function fetchFeed(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(path, web.url), { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function parse(text: string) {
  const root = new ICAL.Component(ICAL.parse(text));
  const byUid = new Map(
    [...root.getAllSubcomponents("vevent"), ...root.getAllSubcomponents("vtodo")].map((c) => [
      c.getFirstPropertyValue("uid") as string,
      c,
    ]),
  );
  return { root, byUid };
}

/** The rule the engine runs for a task made with `input`'s recurrence (the series row's fields). */
function ruleOf(recurrence: Record<string, unknown>, startsAt: Date): RecurrenceRule {
  const r = createTaskSchema.parse({ title: "x", due_at: startsAt.toISOString(), recurrence }).recurrence!;
  return {
    pattern: r.pattern,
    interval: r.interval,
    weekdays: r.weekdays,
    monthDay: r.month_day,
    lastDayOfMonth: r.last_day_of_month,
    monthWeek: r.month_week,
    anchor: r.anchor,
    startsAt,
    timeZone: ZONE,
    endsAt: r.ends_at,
    maxCount: r.max_count,
  };
}

test("a user's feed over HTTP: every dated task, each series' dates as ical.js expands them equal to the engine's, reminders as alarms", async () => {
  const user = await createTestUser(db, { timeZone: ZONE });
  const secret = await rotateCalendarFeed(db, user.id, new Date());

  const rentDue = berlinNine(10);
  const rent = await create(user, {
    title: "Pay rent, deposit; C:\\fees",
    description: "Transfer to the landlord\nRef 42",
    priority: "high",
    tags: ["home", "money"],
    due_at: rentDue.toISOString(),
    reminders: [{ offset_minutes: 60 }, { remind_at: new Date(rentDue.getTime() - DAY).toISOString() }],
    recurrence: { pattern: "monthly", month_day: 31, max_count: 6 },
  });
  const series: { title: string; recurrence: Record<string, unknown>; due: Date }[] = [
    {
      title: "Standup",
      recurrence: { pattern: "weekly", interval: 2, weekdays: [1, 4] },
      due: berlinNine(8, 1),
    },
    {
      title: "Every weekday",
      recurrence: { pattern: "weekly", weekdays: [1, 2, 3, 4, 5] },
      due: berlinNine(8, 3),
    },
    {
      title: "Book club",
      recurrence: { pattern: "monthly", month_week: 3, weekdays: [2] },
      due: berlinNine(8),
    },
    {
      title: "Payday",
      recurrence: { pattern: "monthly", month_week: -1, weekdays: [5] },
      due: berlinNine(8),
    },
    { title: "Month end", recurrence: { pattern: "monthly", last_day_of_month: true }, due: berlinNine(9) },
    { title: "Birthday", recurrence: { pattern: "yearly" }, due: new Date("2028-02-29T08:00:00Z") },
    {
      title: "Water",
      recurrence: { pattern: "daily", interval: 3, ends_at: new Date(Date.now() + 60 * DAY).toISOString() },
      due: berlinNine(8),
    },
    { title: "Feed the cat", recurrence: { pattern: "hourly", interval: 8 }, due: berlinNine(8) },
  ];
  const made = [];
  for (const s of series)
    made.push({
      ...s,
      task: await create(user, { title: s.title, due_at: s.due.toISOString(), recurrence: s.recurrence }),
    });
  const fromCompletion = await create(user, {
    title: "Haircut",
    due_at: berlinNine(12).toISOString(),
    recurrence: { pattern: "weekly", interval: 4, anchor: "completion" },
  });
  const undated = await create(user, { title: "Someday" });
  const doneRecently = await create(user, { title: "Bought milk", due_at: berlinNine(-12).toISOString() });
  await completeTask(ctxFor(user, new Date(Date.now() - 10 * DAY)), doneRecently.id);
  const doneLongAgo = await create(user, { title: "Old chore", due_at: berlinNine(-50).toISOString() });
  await completeTask(ctxFor(user, new Date(Date.now() - 40 * DAY)), doneLongAgo.id);

  const res = await fetchFeed(calendarFeedPath(secret));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
  expect(res.headers.get("cache-control")).toBe("private, no-cache");
  expect(res.headers.get("etag")).toMatch(/^"[\w-]{43}"$/);
  expect(res.text.split("\r\n").every((line) => Buffer.byteLength(line) <= 75)).toBe(true);
  const { root, byUid } = parse(res.text);
  expect(root.getFirstPropertyValue("prodid")).toMatch(/Orbit/);

  // The task's own item: every field a calendar shows.
  const rentEvent = byUid.get(`${rent.id}@orbit`)!;
  expect(rentEvent.getFirstPropertyValue("summary")).toBe("Pay rent, deposit; C:\\fees");
  expect(rentEvent.getFirstPropertyValue("description")).toBe(
    "Transfer to the landlord\nRef 42\n\nRepeats: Monthly on the 31st.",
  );
  expect((rentEvent.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate()).toEqual(rentDue);
  expect(rentEvent.getFirstPropertyValue("priority")).toBe(1);
  // The task's list first, then its tags.
  expect(rentEvent.getFirstProperty("categories")!.getValues()).toEqual(["Inbox", "home", "money"]);
  expect(rentEvent.getFirstPropertyValue("sequence")).toBe(rent.version - 1);
  expect(rentEvent.getFirstPropertyValue("url")).toBe(`${web.url}/tasks/${rent.id}`);
  expect(icalTriggers(rentEvent)).toEqual([
    "START -3600",
    `at ${new Date(rentDue.getTime() - DAY).toISOString()}`,
  ]);

  // Its series: the engine's dates after this occurrence, as ical.js expands the RRULE, in Berlin time.
  const rentSeries = byUid.get(`series-${rent.series_id}@orbit`)!;
  expect(rentSeries.getFirstProperty("dtstart")!.getParameter("tzid")).toBe(ZONE);
  expect(root.getFirstSubcomponent("vtimezone")!.getFirstPropertyValue("tzid")).toBe(ZONE);
  const rentRule = ruleOf({ pattern: "monthly", month_day: 31, max_count: 6 }, rentDue);
  expect(icalDates(rentSeries, 10)).toEqual(
    previewOccurrences(rentRule, 10)
      .slice(1)
      .map((d) => d.toISOString()),
  );
  expect(icalDates(rentSeries, 10)).toHaveLength(5);
  // Reminders carry over: the offset as it is, the absolute one as the same time before each date.
  expect(icalTriggers(rentSeries)).toEqual(["START -3600", "START -86400"]);

  for (const { title, recurrence, due, task } of made) {
    const component = byUid.get(`series-${task.series_id}@orbit`);
    expect(component, title).toBeDefined();
    expect(component!.getFirstPropertyValue("summary")).toBe(title);
    const expected = previewOccurrences(ruleOf(recurrence, due), 9)
      .slice(1)
      .map((d) => d.toISOString());
    expect(icalDates(component!, 8), title).toEqual(expected);
  }

  // A series from completion: the occurrence alone, saying so.
  expect(byUid.has(`series-${fromCompletion.series_id}@orbit`)).toBe(false);
  expect(byUid.get(`${fromCompletion.id}@orbit`)!.getFirstPropertyValue("description")).toMatch(
    /from completion: the next date is set when this one is done/,
  );
  // Undated tasks are not in a calendar; done ones stay 30 days, marked.
  expect(byUid.has(`${undated.id}@orbit`)).toBe(false);
  expect(byUid.get(`${doneRecently.id}@orbit`)!.getFirstPropertyValue("summary")).toBe("✓ Bought milk");
  expect(byUid.has(`${doneLongAgo.id}@orbit`)).toBe(false);
  expect(byUid.size).toBe(1 + 1 + made.length * 2 + 1 + 1);

  // Polling again with the ETag costs nothing when nothing changed.
  const again = await fetchFeed(calendarFeedPath(secret), { "if-none-match": res.headers.get("etag")! });
  expect(again.status).toBe(304);
  expect(again.text).toBe("");

  // The to-do flavour: VTODOs with DUE and status, alarms relative to the due time, no recurring items.
  const todos = await fetchFeed(`${calendarFeedPath(secret)}?as=todo`);
  expect(todos.status).toBe(200);
  expect(todos.headers.get("etag")).not.toBe(res.headers.get("etag"));
  const todo = parse(todos.text);
  expect(todo.root.getAllSubcomponents("vevent")).toHaveLength(0);
  expect(todos.text).not.toMatch(/RRULE/);
  const rentTodo = todo.byUid.get(`${rent.id}@orbit`)!;
  expect((rentTodo.getFirstPropertyValue("due") as ICAL.Time).toJSDate()).toEqual(rentDue);
  expect(rentTodo.getFirstPropertyValue("status")).toBe("NEEDS-ACTION");
  expect(icalTriggers(rentTodo)).toEqual([
    "END -3600",
    `at ${new Date(rentDue.getTime() - DAY).toISOString()}`,
  ]);
  const doneTodo = todo.byUid.get(`${doneRecently.id}@orbit`)!;
  expect(doneTodo.getFirstPropertyValue("status")).toBe("COMPLETED");
  expect(doneTodo.getFirstPropertyValue("summary")).toBe("Bought milk");
  expect(todo.byUid.size).toBe(1 + made.length + 1 + 1);

  // The fetch is recorded for Settings ("last fetched").
  await expect
    .poll(async () => (await db.calendarFeed.findUnique({ where: { userId: user.id } }))?.lastFetchedAt)
    .toBeInstanceOf(Date);
});

test("one user's secret never shows another's tasks; unknown, malformed and near-miss secrets are 404", async () => {
  const alice = await createTestUser(db, { timeZone: ZONE });
  const bob = await createTestUser(db, { timeZone: ZONE });
  const aliceTask = await create(alice, { title: "Alice's dentist", due_at: berlinNine(3).toISOString() });
  const bobTask = await create(bob, {
    title: "Bob's standup",
    due_at: berlinNine(3).toISOString(),
    recurrence: { pattern: "daily" },
  });
  const aliceSecret = await rotateCalendarFeed(db, alice.id, new Date());
  const bobSecret = await rotateCalendarFeed(db, bob.id, new Date());

  const aliceFeed = await fetchFeed(calendarFeedPath(aliceSecret));
  const bobFeed = await fetchFeed(calendarFeedPath(bobSecret));
  expect([...parse(aliceFeed.text).byUid.keys()]).toEqual([`${aliceTask.id}@orbit`]);
  expect([...parse(bobFeed.text).byUid.keys()].sort()).toEqual(
    [`${bobTask.id}@orbit`, `series-${bobTask.series_id}@orbit`].sort(),
  );
  expect(aliceFeed.text).not.toMatch(/Bob/);
  expect(bobFeed.text).not.toMatch(/Alice/);

  const flipped = aliceSecret.slice(0, -1) + (aliceSecret.endsWith("A") ? "B" : "A");
  for (const path of [
    calendarFeedPath(`cal_${randomBytes(32).toString("base64url")}`),
    calendarFeedPath(flipped),
    calendarFeedPath("not-a-secret"),
    calendarFeedPath(aliceSecret.toUpperCase()),
    `/calendar/${aliceSecret}`,
    `/calendar/${aliceSecret}.json`,
  ]) {
    const res = await fetchFeed(path);
    expect(res.status, path).toBe(404);
    expect(res.text).not.toMatch(/Alice|Bob|BEGIN:VCALENDAR/);
  }
});

test("rotating stops the old address at once and starts the new one; turning the feed off stops it", async () => {
  const user = await createTestUser(db, { timeZone: ZONE });
  await create(user, { title: "Renew passport", due_at: berlinNine(20).toISOString() });
  const first = await rotateCalendarFeed(db, user.id, new Date());
  expect((await fetchFeed(calendarFeedPath(first))).status).toBe(200);

  const second = await rotateCalendarFeed(db, user.id, new Date());
  expect(second).not.toBe(first);
  expect((await fetchFeed(calendarFeedPath(first))).status).toBe(404);
  const now = await fetchFeed(calendarFeedPath(second));
  expect(now.status).toBe(200);
  expect(now.text).toMatch(/SUMMARY:Renew passport/);
  // Only the hash is stored.
  const row = await db.calendarFeed.findUniqueOrThrow({ where: { userId: user.id } });
  expect(JSON.stringify(row)).not.toContain(second.slice(4));

  await disableCalendarFeed(db, user.id);
  expect((await fetchFeed(calendarFeedPath(second))).status).toBe(404);
});

test("a feed fetched too often is refused with Retry-After until its window ends", async () => {
  const user = await createTestUser(db, { timeZone: ZONE });
  const secret = await rotateCalendarFeed(db, user.id, new Date());
  expect((await fetchFeed(calendarFeedPath(secret))).status).toBe(200);
  // The window as if it had been used up (FEED_RATE_LIMIT.max fetches), without making them all.
  await db.rateLimit.update({
    where: { key: `calendar-feed:${user.id}` },
    data: { count: FEED_RATE_LIMIT.max },
  });
  const refused = await fetchFeed(calendarFeedPath(secret));
  expect(refused.status).toBe(429);
  const retryAfter = Number(refused.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(FEED_RATE_LIMIT.windowMs / 1000);
  // Another user's feed is counted on its own.
  const other = await createTestUser(db, { timeZone: ZONE });
  expect((await fetchFeed(calendarFeedPath(await rotateCalendarFeed(db, other.id, new Date())))).status).toBe(
    200,
  );
});
