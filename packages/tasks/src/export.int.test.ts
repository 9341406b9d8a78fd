// The export on a real PostgreSQL: everything of the user's, nothing of anyone else's, no secret,
// every task exactly once across pages (also when many share a created_at), and valid JSON and
// CSV whatever the text holds.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "#core/csv.ts";
import { TASK_CSV_COLUMNS } from "#core/export-format.ts";
import { createTaskSchema } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { createSession } from "#accounts/sessions.ts";
import { completeTask, createTask, type CommandContext } from "./commands.ts";
import { exportJson, exportTasksCsv } from "./export.ts";

const NOW = new Date("2026-11-23T10:00:00.000Z");
const WEBHOOK_SECRET = "whsec-do-not-export-0123456789";

let db: Db;
let alice: TestUser;
let bob: TestUser;
let aliceTaskIds: string[];
let sessionSecret: string;

const ctxFor = (who: TestUser): CommandContext => ({
  db,
  pubsub: "pubsub",
  actor: { type: "user", id: who.id },
  userId: who.id,
  userTimeZone: "Europe/Berlin",
  defaultReminderMinutes: [15],
  // One instant for every task: the pages must break the ties by id.
  now: NOW,
});
const create = async (who: TestUser, input: Record<string, unknown>) =>
  (await createTask(ctxFor(who), createTaskSchema.parse(input))).task;

async function text(chunks: AsyncIterable<string>): Promise<{ text: string; chunks: string[] }> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return { text: all.join(""), chunks: all };
}

async function exported(userId: string, pageSize?: number) {
  const chunks = await exportJson(db, userId, NOW, pageSize);
  if (!chunks) throw new Error("no such user");
  const out = await text(chunks);
  return { ...out, json: JSON.parse(out.text) };
}

beforeAll(async () => {
  db = await workerDb();
  alice = await createTestUser(db, { timeZone: "Europe/Berlin" });
  bob = await createTestUser(db);
  const tasks = [
    await create(alice, {
      title: "Renew passport",
      description: 'Photos, the old passport\nand the form "A"',
      priority: "high",
      tags: ["errands", "admin"],
      due_at: "2026-12-12T17:00:00+01:00",
    }),
    await create(alice, {
      title: "Water the plants",
      due_at: "2026-11-30T09:00:00+01:00",
      recurrence: { pattern: "weekly", weekdays: [1] },
      reminders: [{ offset_minutes: 60 }, { remind_at: "2026-11-30T07:00:00Z" }],
    }),
    await create(alice, { title: '=HYPERLINK("https://evil.example","x")' }),
    await create(alice, { title: "+1 555 call back" }),
    await create(alice, { title: "Done already" }),
  ];
  await completeTask({ ...ctxFor(alice), now: new Date(NOW.getTime() + 60_000) }, tasks[4]!.id);
  aliceTaskIds = tasks.map((task) => task.id);
  await create(bob, { title: "Bob's private task", tags: ["bobs"] });

  await db.notificationChannel.create({
    data: {
      userId: alice.id,
      kind: "webhook",
      webhookUrl: "https://hooks.example/orbit",
      webhookSecret: WEBHOOK_SECRET,
    },
  });
  await db.pushSubscription.create({
    data: {
      userId: alice.id,
      endpoint: `https://push.example/send/${randomUUID()}`,
      p256dh: "BPUSHKEY-do-not-export",
      auth: "AUTHKEY-do-not-export",
      userAgent: "Chromium",
    },
  });
  await db.savedView.create({ data: { userId: alice.id, name: "Errands", query: "tags=errands" } });
  await db.savedView.create({ data: { userId: bob.id, name: "Bob's view", query: "tags=bobs" } });
  await db.user.update({
    where: { id: alice.id },
    data: { passwordHash: "scrypt$16384$8$1$c2FsdA$aGFzaC1kby1ub3QtZXhwb3J0" },
  });
  sessionSecret = (await createSession(db, alice.id, "Chromium", NOW)).secret;
  // Activity: three rows of Alice's (two on one instant), one of Bob's.
  const audit = (userId: string, taskId: string, action: string, at: string) => ({
    eventId: randomUUID(),
    userId,
    taskId,
    action,
    title: "t",
    actorType: "user" as const,
    actorId: userId,
    occurredAt: new Date(at),
  });
  await db.auditLog.createMany({
    data: [
      audit(alice.id, tasks[0]!.id, "created", "2026-11-23T10:00:00Z"),
      audit(alice.id, tasks[1]!.id, "created", "2026-11-23T10:00:00Z"),
      audit(alice.id, tasks[4]!.id, "completed", "2026-11-23T10:01:00Z"),
      audit(bob.id, randomUUID(), "created", "2026-11-23T10:00:00Z"),
    ],
  });
});

describe("given a user with tasks, settings, channels and activity, and another user", () => {
  it("when their JSON is exported, then it holds their account, settings, views, channels and every task", async () => {
    const { json } = await exported(alice.id);
    expect(json).toMatchObject({
      format: "orbit-export",
      version: 1,
      exported_at: NOW.toISOString(),
      account: {
        email: alice.email,
        time_zone: "Europe/Berlin",
        default_reminder_minutes: [15],
        past_reminder_policy: "send_now",
      },
      saved_views: [{ name: "Errands", query: "tags=errands", position: 0 }],
      lists: [{ name: "Inbox", is_inbox: true, archived: false }],
      push_subscriptions: [{ user_agent: "Chromium", last_success_at: null }],
      api_tokens: [{ name: "test", scope: "read_write", revoked_at: null }],
    });
    expect(json.notification_channels).toContainEqual(
      expect.objectContaining({
        kind: "webhook",
        webhook_url: "https://hooks.example/orbit",
        has_secret: true,
      }),
    );
    expect(json.tasks.map((task: { id: string }) => task.id).sort()).toEqual([...aliceTaskIds].sort());
    // Each task names its list (and, for a subtask, its parent).
    for (const task of json.tasks) expect(task).toMatchObject({ list_id: json.lists[0].id, parent_id: null });
    const water = json.tasks.find((task: { title: string }) => task.title === "Water the plants");
    expect(water).toMatchObject({
      due_at: "2026-11-30T08:00:00.000Z",
      recurrence: { pattern: "weekly", weekdays: [1], active: true },
      reminders: [
        { offset_minutes: null, remind_at: "2026-11-30T07:00:00.000Z" },
        { offset_minutes: 60, remind_at: null },
      ],
    });
    expect(json.tasks.find((task: { title: string }) => task.title === "Done already")).toMatchObject({
      status: "completed",
      completed_at: "2026-11-23T10:01:00.000Z",
    });
    expect(json.activity.map((item: { action: string }) => item.action)).toEqual([
      "completed",
      "created",
      "created",
    ]);
  });

  it("then nothing of the other user's is in it, and no secret: password, token, session, webhook or push keys", async () => {
    const { text: json } = await exported(alice.id);
    const [token, session, push] = await Promise.all([
      db.apiToken.findUniqueOrThrow({ where: { id: alice.tokenId } }),
      db.session.findFirstOrThrow({ where: { userId: alice.id } }),
      db.pushSubscription.findFirstOrThrow({ where: { userId: alice.id } }),
    ]);
    for (const secret of [
      "Bob's private task",
      "Bob's view",
      bob.id,
      "scrypt$",
      alice.token,
      token.tokenHash,
      sessionSecret,
      session.tokenHash,
      session.csrfSecret,
      WEBHOOK_SECRET,
      push.endpoint,
      push.p256dh,
      push.auth,
    ])
      expect(json, `the export holds ${secret}`).not.toContain(secret);
    // The check above can fail: the same export of Bob's names his task.
    expect((await exported(bob.id)).text).toContain("Bob's private task");
  });

  it("when the pages are smaller than the list, then every task and activity item comes exactly once, in order", async () => {
    const whole = await exported(alice.id);
    const paged = await exported(alice.id, 2);
    expect(paged.json).toEqual(whole.json);
    // created_at is the same for all of them: the order is (created_at, id).
    expect(paged.json.tasks.map((task: { id: string }) => task.id)).toEqual([...aliceTaskIds].sort());
    // Written a page at a time: the head, 3 pages of tasks, the activity's opening, 2 pages, the end.
    expect(paged.chunks).toHaveLength(1 + 3 + 1 + 2 + 1);
  });

  it("when the tasks are exported as CSV, then it is RFC 4180 with formulas defused and text intact", async () => {
    const { text: csv } = await text(exportTasksCsv(db, alice.id, 2));
    const parsed = parseCsv(csv);
    if (!parsed.ok) throw new Error(parsed.message);
    const [header, ...rows] = parsed.records.map((record) => record.fields);
    expect(header).toEqual([...TASK_CSV_COLUMNS]);
    expect(rows).toHaveLength(aliceTaskIds.length);
    const byTitle = (start: string) => rows.find((row) => row[1]!.startsWith(start))!;
    expect(byTitle("Renew")).toEqual([
      expect.any(String),
      "Renew passport",
      'Photos, the old passport\nand the form "A"',
      "pending",
      "high",
      "2026-12-12T17:00:00.000+01:00",
      "Europe/Berlin",
      "admin errands",
      "",
      "15 min before",
      "",
      "2026-11-23T10:00:00.000Z",
      "2026-11-23T10:00:00.000Z",
      "Inbox",
      "",
    ]);
    expect(byTitle("Water").slice(8, 10)).toEqual([
      "Weekly on Mon",
      "2026-11-30T08:00:00.000+01:00; 60 min before",
    ]);
    expect(byTitle("'=HYPERLINK")[1]).toBe(`'=HYPERLINK("https://evil.example","x")`);
    expect(byTitle("'+1")[1]).toBe("'+1 555 call back");
    expect(csv).not.toContain("Bob's private task");
    expect(csv.endsWith("\r\n")).toBe(true);
  });

  it("when a user has nothing yet, then the export is valid JSON with empty lists; a user who is gone has none", async () => {
    const empty = await createTestUser(db);
    const { json } = await exported(empty.id);
    expect(json).toMatchObject({ tasks: [], activity: [], saved_views: [] });
    expect(await exportJson(db, randomUUID(), NOW)).toBeNull();
  });
});

describe("given a user with many tasks", () => {
  it("when they are exported, then each page is written as it is read, never the whole list at once", async () => {
    const many = await createTestUser(db);
    const count = 10_000;
    await db.$executeRaw`
      INSERT INTO tasks (id, user_id, title, created_at, updated_at)
      SELECT gen_random_uuid(), ${many.id}::uuid, 'Task ' || n, ${NOW}::timestamptz + n * interval '1 ms', ${NOW}::timestamptz
      FROM generate_series(1, ${count}) AS n`;
    const started = Date.now();
    const chunks = await exportJson(db, many.id, NOW, 500);
    let tasks = 0;
    let largest = 0;
    let previous = "";
    for await (const chunk of chunks!) {
      largest = Math.max(largest, chunk.length);
      tasks += (chunk.match(/"title":"Task \d+"/g) ?? []).length;
      previous = chunk;
    }
    expect(previous).toBe("]\n}\n");
    expect(tasks).toBe(count);
    // One page of 500 small tasks is well under 300 kB; the whole list is over 5 MB.
    expect(largest).toBeLessThan(300_000);
    console.log(`exported ${count} tasks in ${Date.now() - started} ms, largest chunk ${largest} characters`);
  });
});
