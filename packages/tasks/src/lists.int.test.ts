// Lists and subtasks over real PostgreSQL: the commands' rules, their events in the outbox, and
// the list query's filters (docs/decisions/016-lists-and-subtasks.md).
import { beforeAll, expect, test } from "vitest";
import { Conflict, NotFound, OpenSubtasks, RuleViolation } from "#core/errors.ts";
import {
  listEventSchema,
  listUpdateSchema,
  taskEventSchema,
  taskUpdatesPayloadSchema,
} from "#core/events.ts";
import { createListSchema, updateListSchema } from "#core/lists.ts";
import { taskListQuerySchema } from "#core/task-query.ts";
import { createTaskSchema, updateTaskSchema } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { completeTask, createTask, deleteTask, updateTask, type CommandContext } from "./commands.ts";
import { createList, findListByName, listLists, updateList } from "./lists.ts";
import { listTasks } from "./queries.ts";
import { loadTaskDto } from "./records.ts";

const NOW = new Date("2026-12-07T10:00:00.000Z");

let db: Db;

beforeAll(async () => {
  db = await workerDb();
});

function ctxFor(who: TestUser, extra: Partial<CommandContext> = {}): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor: { type: "api_token", id: who.tokenId },
    userId: who.id,
    userTimeZone: "UTC",
    defaultReminderMinutes: [],
    now: NOW,
    ...extra,
  };
}

const newList = (who: TestUser, name: string, color?: string) =>
  createList(ctxFor(who), createListSchema.parse({ name, ...(color ? { color } : {}) }));
const changeList = (who: TestUser, id: string, input: Record<string, unknown>) =>
  updateList(ctxFor(who), id, updateListSchema.parse(input));
const newTask = async (who: TestUser, input: Record<string, unknown>) =>
  (await createTask(ctxFor(who), createTaskSchema.parse(input))).task;
const change = async (who: TestUser, id: string, input: Record<string, unknown>) =>
  (await updateTask(ctxFor(who), id, updateTaskSchema.parse(input))).task;
const query = (who: TestUser, params: Record<string, string>) =>
  listTasks(db, who.id, taskListQuerySchema.parse(params), NOW);
const titles = async (who: TestUser, params: Record<string, string>) =>
  (await query(who, params)).items.map((t) => t.title).sort();

/** The events about one list or task, oldest first. */
async function eventsAbout(id: string) {
  return db.$queryRaw<{ type: string; data: Record<string, unknown> }[]>`
    SELECT type, data FROM outbox WHERE subject = ${id} AND topic = 'task-events' ORDER BY seq`;
}

async function inboxOf(who: TestUser) {
  const lists = await listLists(db, who.id, "all");
  return lists.find((l) => l.is_inbox)!;
}

test("every user has exactly one Inbox, first among the lists, and a task without a list goes into it", async () => {
  const user = await createTestUser(db);
  const lists = await listLists(db, user.id, "all");
  expect(lists.map((l) => [l.name, l.is_inbox])).toEqual([["Inbox", true]]);
  const task = await newTask(user, { title: "Buy milk" });
  expect(task.list_id).toBe(lists[0]!.id);
  expect((await loadTaskDto(db, user.id, task.id))!.list_id).toBe(lists[0]!.id);
  // The created event carries the list the database chose.
  const [created] = await eventsAbout(task.id);
  expect(taskEventSchema.parse(created!.data).task_data.list_id).toBe(lists[0]!.id);
  expect((await listLists(db, user.id))[0]!.open_tasks).toBe(1);
});

test("lists: created with a palette colour, names unique per user ignoring case, each change one event", async () => {
  const user = await createTestUser(db);
  const other = await createTestUser(db);
  const work = await newList(user, "Work", "teal");
  expect(work).toMatchObject({ name: "Work", color: "teal", is_inbox: false, archived: false, version: 1 });
  // Another user may have a "Work" of their own.
  await expect(newList(other, "work")).resolves.toMatchObject({ name: "work" });
  await expect(newList(user, "WORK")).rejects.toBeInstanceOf(Conflict);
  await expect(newList(user, "inbox")).rejects.toMatchObject({ field: "name" });
  const side = await newList(user, "Side project");
  await expect(changeList(user, side.id, { name: "work" })).rejects.toBeInstanceOf(Conflict);
  await expect(changeList(user, work.id, { name: "Inbox" })).rejects.toBeInstanceOf(Conflict);

  const { list } = await changeList(user, work.id, { name: "Day job", color: "indigo" });
  expect(list).toMatchObject({ name: "Day job", color: "indigo", version: 2 });
  const events = (await eventsAbout(work.id)).map((e) => listEventSchema.parse(e.data));
  expect(events.map((e) => e.event_type)).toEqual(["list_created", "list_renamed", "list_recoloured"]);
  expect(events[1]!.changes).toEqual({ name: { before: "Work", after: "Day job" } });
  expect((await eventsAbout(work.id)).map((e) => e.type)).toEqual([
    "orbit.list.created",
    "orbit.list.renamed",
    "orbit.list.recoloured",
  ]);
  // Restating what the list already is changes nothing.
  expect((await changeList(user, work.id, { color: "indigo" })).changed).toBe(false);
  // Another user's list is not found, as an unknown id is.
  await expect(changeList(other, work.id, { name: "Mine" })).rejects.toBeInstanceOf(NotFound);
});

test("each list change also puts its update on task-updates, partitioned by user, in the same transaction", async () => {
  const user = await createTestUser(db);
  const rowsAbout = (id: string) =>
    db.$queryRaw<{ topic: string; type: string; partition_key: string; data: unknown; xmin: string }[]>`
      SELECT topic, type, partition_key, data, xmin::text AS xmin FROM outbox WHERE subject = ${id} ORDER BY seq`;
  const work = await newList(user, "Work");
  await changeList(user, work.id, { name: "Day job", color: "pink" });
  await changeList(user, work.id, { archived: true });
  const { list } = await changeList(user, work.id, { archived: false });
  const rows = await rowsAbout(work.id);
  const updates = rows.filter((r) => r.topic === "task-updates");
  expect(updates.map((r) => [r.type, r.partition_key])).toEqual(
    ["created", "renamed", "recoloured", "archived", "unarchived"].map((kind) => [
      `orbit.list-update.${kind}`,
      user.id,
    ]),
  );
  // One update beside each list event, parsed by the topic's schema as a list's update.
  expect(rows.filter((r) => r.topic === "task-events")).toHaveLength(updates.length);
  const parsed = updates.map((r) => listUpdateSchema.parse(taskUpdatesPayloadSchema.parse(r.data)));
  expect(parsed.map((u) => [u.event_type, u.changed_fields, u.list.name, u.list.archived])).toEqual([
    ["list_created", [], "Work", false],
    ["list_renamed", ["name"], "Day job", false],
    ["list_recoloured", ["color"], "Day job", false],
    ["list_archived", ["archived"], "Day job", true],
    ["list_unarchived", ["archived"], "Day job", false],
  ]);
  expect(parsed.at(-1)!.list).toEqual(list);
  // Each command's events and updates were written by one transaction (one xmin): the rename and
  // the recolour were one command; the list row's last write shares the unarchive's.
  const byTransaction = new Map<string, number>();
  for (const r of rows) byTransaction.set(r.xmin, (byTransaction.get(r.xmin) ?? 0) + 1);
  expect([...byTransaction.values()]).toEqual([2, 4, 2, 2]);
  const [row] = await db.$queryRaw<{ xmin: string }[]>`
    SELECT xmin::text AS xmin FROM task_lists WHERE id = ${work.id}::uuid`;
  expect(rows.filter((r) => r.xmin === row!.xmin).map((r) => r.type)).toEqual([
    "orbit.list.unarchived",
    "orbit.list-update.unarchived",
  ]);
  // A failure after enqueueing leaves neither the change nor any of its messages.
  const fail = ctxFor(user, {
    afterEnqueue: async () => {
      throw new Error("fault injected after enqueue");
    },
  });
  await expect(updateList(fail, work.id, updateListSchema.parse({ name: "Never" }))).rejects.toThrow(
    "fault injected",
  );
  await expect(createList(fail, createListSchema.parse({ name: "Never" }))).rejects.toThrow("fault injected");
  expect(await rowsAbout(work.id)).toHaveLength(rows.length);
  expect((await listLists(db, user.id, "all")).map((l) => l.name).sort()).toEqual(["Day job", "Inbox"]);
});

test("the Inbox cannot be archived; it may be renamed and recoloured", async () => {
  const user = await createTestUser(db);
  const inbox = await inboxOf(user);
  await expect(changeList(user, inbox.id, { archived: true })).rejects.toMatchObject({
    field: "archived",
  });
  await expect(changeList(user, inbox.id, { color: "pink" })).resolves.toMatchObject({
    list: { color: "pink", is_inbox: true },
  });
});

test("archiving hides a list and its tasks from the default views; list: and list_id still find them; unarchiving brings them back", async () => {
  const user = await createTestUser(db);
  const garden = await newList(user, "Garden");
  await newTask(user, { title: "Prune roses", list_id: garden.id });
  await newTask(user, { title: "Call plumber" });
  expect(await titles(user, {})).toEqual(["Call plumber", "Prune roses"]);

  await changeList(user, garden.id, { archived: true });
  expect(await titles(user, {})).toEqual(["Call plumber"]);
  expect((await listLists(db, user.id)).map((l) => l.name)).toEqual(["Inbox"]);
  expect((await listLists(db, user.id, "archived")).map((l) => l.name)).toEqual(["Garden"]);
  expect(await titles(user, { q: "list:garden" })).toEqual(["Prune roses"]);
  expect(await titles(user, { list_id: garden.id })).toEqual(["Prune roses"]);
  // Nothing is created in, or moved into, an archived list.
  await expect(newTask(user, { title: "Mow", list_id: garden.id })).rejects.toMatchObject({
    field: "list_id",
    detail: 'the list "Garden" is archived: unarchive it first',
  });

  // A new active "Garden" takes the name; the archived one must come back with another.
  await newList(user, "garden");
  await expect(changeList(user, garden.id, { archived: false })).rejects.toBeInstanceOf(Conflict);
  await changeList(user, garden.id, { archived: false, name: "Old garden" });
  expect(await titles(user, {})).toEqual(["Call plumber", "Prune roses"]);
  expect(await findListByName(db, user.id, "OLD GARDEN")).toMatchObject({ id: garden.id });
  const types = (await eventsAbout(garden.id)).map((e) => e.type);
  expect(types).toEqual([
    "orbit.list.created",
    "orbit.list.archived",
    "orbit.list.renamed",
    "orbit.list.unarchived",
  ]);
});

test('search takes list:Name and list:"Two words", ignoring case, with words beside it', async () => {
  const user = await createTestUser(db);
  const side = await newList(user, "Side project");
  await newTask(user, { title: "Write landing page", list_id: side.id });
  await newTask(user, { title: "Write tax letter" });
  expect(await titles(user, { q: 'list:"side PROJECT" write' })).toEqual(["Write landing page"]);
  expect(await titles(user, { q: "write" })).toEqual(["Write landing page", "Write tax letter"]);
  expect(await titles(user, { q: "list:Nowhere" })).toEqual([]);
});

test("a task moves between lists with an update event naming the list before and after", async () => {
  const user = await createTestUser(db);
  const inbox = await inboxOf(user);
  const work = await newList(user, "Work");
  const task = await newTask(user, { title: "Report" });
  const moved = await change(user, task.id, { list_id: work.id });
  expect(moved.list_id).toBe(work.id);
  const events = (await eventsAbout(task.id)).map((e) => taskEventSchema.parse(e.data));
  expect(events.at(-1)!.changes).toEqual({ list_id: { before: inbox.id, after: work.id } });
  const other = await createTestUser(db);
  const theirs = await newList(other, "Theirs");
  await expect(change(user, task.id, { list_id: theirs.id })).rejects.toBeInstanceOf(NotFound);
});

test("subtasks: one level, in the parent's list, with progress on the parent", async () => {
  const user = await createTestUser(db);
  const work = await newList(user, "Work");
  const parent = await newTask(user, { title: "Launch", list_id: work.id });
  const a = await newTask(user, { title: "Write copy", parent_id: parent.id });
  const b = await newTask(user, { title: "Ship it", parent_id: parent.id });
  expect(a).toMatchObject({ parent_id: parent.id, list_id: work.id });
  await completeTask(ctxFor(user), a.id);
  expect((await loadTaskDto(db, user.id, parent.id))!.subtasks).toEqual({ done: 1, total: 2 });
  const listed = await query(user, { top_level: "true" });
  expect(listed.items.map((t) => [t.title, t.subtasks])).toEqual([["Launch", { done: 1, total: 2 }]]);
  expect((await query(user, { parent_id: parent.id })).items.map((t) => t.title).sort()).toEqual([
    "Ship it",
    "Write copy",
  ]);
  // A search finds a subtask too.
  expect(await titles(user, { q: "ship" })).toEqual(["Ship it"]);

  await expect(newTask(user, { title: "Deeper", parent_id: b.id })).rejects.toMatchObject({
    field: "parent_id",
    detail: "is a subtask itself: subtasks go one level deep",
  });
  const other = await newTask(user, { title: "Other" });
  await expect(change(user, parent.id, { parent_id: other.id })).rejects.toMatchObject({
    field: "parent_id",
  });
  await expect(change(user, other.id, { parent_id: other.id })).rejects.toMatchObject({
    detail: "a task cannot be its own parent",
  });
  await expect(
    newTask(user, { title: "Elsewhere", parent_id: parent.id, list_id: (await inboxOf(user)).id }),
  ).rejects.toMatchObject({ field: "list_id" });
  await expect(change(user, a.id, { list_id: (await inboxOf(user)).id })).rejects.toBeInstanceOf(
    RuleViolation,
  );
  // Another user's task as a parent is unknown.
  const stranger = await createTestUser(db);
  await expect(newTask(stranger, { title: "Mine", parent_id: parent.id })).rejects.toBeInstanceOf(NotFound);
  // Made a subtask: the task adopts its parent's list; made its own again: it stays there.
  const adopted = await change(user, other.id, { parent_id: parent.id });
  expect(adopted).toMatchObject({ parent_id: parent.id, list_id: work.id });
  expect(await change(user, other.id, { parent_id: null })).toMatchObject({
    parent_id: null,
    list_id: work.id,
  });
});

test("a moved parent takes its subtasks along, each with its own event", async () => {
  const user = await createTestUser(db);
  const home = await newList(user, "Home");
  const parent = await newTask(user, { title: "Move house" });
  const child = await newTask(user, { title: "Book van", parent_id: parent.id });
  await change(user, parent.id, { list_id: home.id });
  const moved = (await loadTaskDto(db, user.id, child.id))!;
  expect(moved).toMatchObject({ list_id: home.id, version: 2 });
  const last = taskEventSchema.parse((await eventsAbout(child.id)).at(-1)!.data);
  expect(last).toMatchObject({ event_type: "updated", reason: "parent_moved" });
  expect(last.changes.list_id).toEqual({ before: parent.list_id, after: home.id });
});

test("completing a parent with open subtasks asks; complete completes them too, leave leaves them", async () => {
  const user = await createTestUser(db);
  const parent = await newTask(user, { title: "Trip" });
  const a = await newTask(user, { title: "Pack", parent_id: parent.id });
  const b = await newTask(user, { title: "Tickets", parent_id: parent.id });
  await completeTask(ctxFor(user), a.id);
  const refused = completeTask(ctxFor(user), parent.id);
  await expect(refused).rejects.toBeInstanceOf(OpenSubtasks);
  await expect(refused).rejects.toMatchObject({ open: 1 });
  expect((await loadTaskDto(db, user.id, parent.id))!.status).toBe("pending");

  const done = await completeTask(ctxFor(user), parent.id, undefined, "complete");
  expect(done.completedSubtasks).toEqual([b.id]);
  expect(done.task).toMatchObject({ status: "completed", subtasks: { done: 2, total: 2 } });
  const bEvents = (await eventsAbout(b.id)).map((e) => taskEventSchema.parse(e.data));
  expect(bEvents.at(-1)).toMatchObject({ event_type: "completed", reason: "parent_completed" });

  const other = await newTask(user, { title: "Party" });
  const open = await newTask(user, { title: "Invite", parent_id: other.id });
  const left = await completeTask(ctxFor(user), other.id, undefined, "leave");
  expect(left.task.status).toBe("completed");
  expect(left.completedSubtasks).toEqual([]);
  expect((await loadTaskDto(db, user.id, open.id))!.status).toBe("pending");
});

test("deleting a parent deletes its subtasks, each with its own deleted event", async () => {
  const user = await createTestUser(db);
  const parent = await newTask(user, { title: "Old plan" });
  const child = await newTask(user, { title: "Step", parent_id: parent.id });
  await deleteTask(ctxFor(user), parent.id);
  expect(await loadTaskDto(db, user.id, child.id)).toBeNull();
  const last = taskEventSchema.parse((await eventsAbout(child.id)).at(-1)!.data);
  expect(last).toMatchObject({ event_type: "deleted", reason: "parent_deleted" });
});
