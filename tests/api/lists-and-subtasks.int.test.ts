// Lists and subtasks through the public API over real HTTP: the command and query functions
// served as their index.ts serves them, on the worker's database (no sidecar: events stay in
// the outbox, which the command tests read).
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import type { BaseEnv } from "#platform/env.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { FUNCTIONS } from "../fuzz/functions.ts";

let db: Db;
let user: TestUser;
const running = new Map<string, StartedFunction<BaseEnv>>();
const url = (name: string) => running.get(name)!.url;

beforeAll(async () => {
  db = await workerDb();
  for (const name of ["create-task", "update-task", "complete-task", "delete-task", "query-tasks"])
    running.set(
      name,
      await startFunction(
        FUNCTIONS.find((f) => f.name === name)!,
        { OUTBOX_SWEEP_INTERVAL_MS: "60000" },
      ),
    );
  user = await createTestUser(db);
}, 60_000);
afterAll(async () => {
  await Promise.all([...running.values()].map((fn) => fn.close()));
});

const as = (method: string, fn: string, path: string, body?: unknown) =>
  api(url(fn), method, path, { auth: user.auth, ...(body === undefined ? {} : { body }) });

test("POST /v1/lists creates; a taken name is 409 naming name; a colour outside the palette is 400 naming color", async () => {
  const res = await as("POST", "create-task", "/v1/lists", { name: "Errands", color: "green" });
  expect(res.status).toBe(201);
  expect(res.headers.get("location")).toBe(`/v1/lists/${res.body.id}`);
  expect(res.body).toMatchObject({ name: "Errands", color: "green", is_inbox: false, archived: false });

  const taken = await as("POST", "create-task", "/v1/lists", { name: "errands" });
  expect(taken.status).toBe(409);
  expect(taken.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(taken.body.errors).toEqual([
    {
      pointer: "/body/name",
      field: "name",
      detail: 'you already have a list named "errands" (names are unique, ignoring case)',
    },
  ]);
  const colour = await as("POST", "create-task", "/v1/lists", { name: "Paint", color: "rgb(0,0,0)" });
  expect(colour.status).toBe(400);
  expect(colour.body.errors[0].field).toBe("color");
  const long = await as("POST", "create-task", "/v1/lists", { name: "x".repeat(61) });
  expect(long.body.errors[0]).toMatchObject({ field: "name", detail: "must be at most 60 characters" });

  const lists = await as("GET", "query-tasks", "/v1/lists");
  expect(lists.body.items.map((l: { name: string }) => l.name)).toEqual(["Inbox", "Errands"]);
  const inbox = lists.body.items[0];
  const archiveInbox = await as("PATCH", "update-task", `/v1/lists/${inbox.id}`, { archived: true });
  expect(archiveInbox.status).toBe(400);
  expect(archiveInbox.body.errors[0]).toMatchObject({
    field: "archived",
    detail: "the Inbox cannot be archived",
  });
  const missing = await as("GET", "query-tasks", "/v1/lists/00000000-0000-4000-8000-000000000000");
  expect(missing.status).toBe(404);
});

test("tasks in lists: created into one, filtered by list_id and list:, hidden while their list is archived", async () => {
  const list = (await as("POST", "create-task", "/v1/lists", { name: "Side project" })).body;
  const task = await as("POST", "create-task", "/v1/tasks", { title: "Landing page", list_id: list.id });
  expect(task.status).toBe(201);
  expect(task.body.list_id).toBe(list.id);
  const byId = await as("GET", "query-tasks", `/v1/tasks?list_id=${list.id}`);
  expect(byId.body.items.map((t: { title: string }) => t.title)).toEqual(["Landing page"]);
  const byName = await as("GET", "query-tasks", `/v1/tasks?q=${encodeURIComponent('list:"side project"')}`);
  expect(byName.body.items.map((t: { id: string }) => t.id)).toEqual([task.body.id]);

  const archived = await as("PATCH", "update-task", `/v1/lists/${list.id}`, { archived: true });
  expect(archived.body).toMatchObject({ archived: true, version: 2 });
  const all = await as("GET", "query-tasks", "/v1/tasks");
  expect(all.body.items.map((t: { id: string }) => t.id)).not.toContain(task.body.id);
  const refused = await as("POST", "create-task", "/v1/tasks", { title: "More", list_id: list.id });
  expect(refused.status).toBe(400);
  expect(refused.body.errors[0]).toMatchObject({ field: "list_id" });
  const bad = await as("GET", "query-tasks", "/v1/tasks?list_id=work");
  expect(bad.status).toBe(400);
  expect(bad.body.errors[0]).toMatchObject({ field: "list_id", detail: "must be a list id (UUID)" });
});

test("completing a parent with open subtasks is 409 open-subtasks until the request says complete or leave", async () => {
  const parent = (await as("POST", "create-task", "/v1/tasks", { title: "Move out" })).body;
  const kids = [];
  for (const title of ["Pack books", "Return keys"])
    kids.push((await as("POST", "create-task", "/v1/tasks", { title, parent_id: parent.id })).body);
  const asked = await as("POST", "complete-task", `/v1/tasks/${parent.id}/complete`, {});
  expect(asked.status).toBe(409);
  expect(asked.body).toMatchObject({
    type: "https://orbit.invalid/problems/open-subtasks",
    open_subtasks: 2,
    errors: [{ field: "subtasks" }],
  });
  const got = await as("GET", "query-tasks", `/v1/tasks/${parent.id}`);
  expect(got.body).toMatchObject({ status: "pending", subtasks: { done: 0, total: 2 } });

  const done = await as("POST", "complete-task", `/v1/tasks/${parent.id}/complete`, { subtasks: "complete" });
  expect(done.status).toBe(200);
  expect(done.body).toMatchObject({ status: "completed", subtasks: { done: 2, total: 2 } });
  expect([...done.body.completed_subtasks].sort()).toEqual(kids.map((k) => k.id).sort());
  // Undo as the web does it: reopen the parent and what the completion completed.
  for (const id of [parent.id, ...done.body.completed_subtasks])
    expect((await as("POST", "complete-task", `/v1/tasks/${id}/reopen`, {})).status).toBe(200);
  expect((await as("GET", "query-tasks", `/v1/tasks/${parent.id}`)).body.subtasks).toEqual({
    done: 0,
    total: 2,
  });

  const wrong = await as("POST", "complete-task", `/v1/tasks/${parent.id}/complete`, { subtasks: "some" });
  expect(wrong.status).toBe(400);
  expect(wrong.body.errors[0].field).toBe("subtasks");
  const onReopen = await as("POST", "complete-task", `/v1/tasks/${parent.id}/reopen`, { subtasks: "leave" });
  expect(onReopen.status).toBe(400);

  // Deleting the parent takes its subtasks with it.
  expect((await as("DELETE", "delete-task", `/v1/tasks/${parent.id}`)).status).toBe(204);
  expect((await as("GET", "query-tasks", `/v1/tasks/${kids[0].id}`)).status).toBe(404);
});

test("a subtask's rules over HTTP: no deeper than one level, no own parent, no list of its own", async () => {
  const parent = (await as("POST", "create-task", "/v1/tasks", { title: "Garden" })).body;
  const child = (await as("POST", "create-task", "/v1/tasks", { title: "Seeds", parent_id: parent.id })).body;
  const deeper = await as("POST", "create-task", "/v1/tasks", { title: "Tomatoes", parent_id: child.id });
  expect(deeper.status).toBe(400);
  expect(deeper.body.errors[0]).toMatchObject({ field: "parent_id" });
  const self = await as("PATCH", "update-task", `/v1/tasks/${parent.id}`, { parent_id: parent.id });
  expect(self.status).toBe(400);
  const unknownParent = await as("POST", "create-task", "/v1/tasks", {
    title: "Orphan",
    parent_id: "00000000-0000-4000-8000-000000000000",
  });
  expect(unknownParent.status).toBe(404);
  const top = await as("GET", "query-tasks", `/v1/tasks?top_level=true&q=garden`);
  expect(top.body.items.map((t: { title: string }) => t.title)).toEqual(["Garden"]);
  const subs = await as("GET", "query-tasks", `/v1/tasks?parent_id=${parent.id}`);
  expect(subs.body.items.map((t: { title: string }) => t.title)).toEqual(["Seeds"]);
});

test("lists keep an order: the Inbox first, new ones last, PATCH before/after moves one, concurrent moves stay a total order", async () => {
  const me = await createTestUser(db);
  const call = (method: string, fn: string, path: string, body?: unknown) =>
    api(url(fn), method, path, { auth: me.auth, ...(body === undefined ? {} : { body }) });
  const ids: Record<string, string> = {};
  for (const name of ["A", "B", "C", "D"])
    ids[name] = (await call("POST", "create-task", "/v1/lists", { name })).body.id;
  const order = async () => {
    const res = await call("GET", "query-tasks", "/v1/lists?status=all");
    return res.body.items.map((l: { name: string; position: number }) => `${l.name}${l.position}`);
  };
  expect(await order()).toEqual(["Inbox0", "A1", "B2", "C3", "D4"]);
  const inboxId = (await call("GET", "query-tasks", "/v1/lists")).body.items[0].id as string;
  const move = (name: string, body: Record<string, unknown>) =>
    call("PATCH", "update-task", `/v1/lists/${ids[name]}`, body);

  const d = await move("D", { before: ids.B });
  expect(d.status).toBe(200);
  expect(d.body).toMatchObject({ name: "D", position: 2, version: 2 });
  expect(await order()).toEqual(["Inbox0", "A1", "D2", "B3", "C4"]);
  await move("A", { after: ids.C });
  expect(await order()).toEqual(["Inbox0", "D1", "B2", "C3", "A4"]);
  // Right after the Inbox is the first place a list can take; an archived list keeps its place.
  await move("C", { after: inboxId });
  await move("B", { archived: true });
  expect(await order()).toEqual(["Inbox0", "C1", "D2", "B3", "A4"]);
  // Already there: nothing changes, no new version.
  const same = await move("D", { after: ids.C });
  expect(same.body).toMatchObject({ position: 2, version: 2 });
  // A move and a rename in one request, each its own event.
  await move("A", { before: ids.D, name: "A2" });
  expect(await order()).toEqual(["Inbox0", "C1", "A22", "D3", "B4"]);
  const events = await db.$queryRaw<{ type: string; data: { changes?: unknown } }[]>`
    SELECT type, data FROM outbox WHERE subject = ${ids.A} AND type LIKE '%moved' ORDER BY seq`;
  expect(events.map((e) => e.type)).toEqual([
    "orbit.list.moved",
    "orbit.list-update.moved",
    "orbit.list.moved",
    "orbit.list-update.moved",
  ]);
  expect(events[2]!.data.changes).toEqual({ position: { before: 4, after: 2 } });

  // Refusals name the field: the Inbox stays first, a list is not placed next to itself, one anchor.
  const refused = async (name: string, body: Record<string, unknown>, status: number, field: string) => {
    const res = await (name === "Inbox"
      ? call("PATCH", "update-task", `/v1/lists/${inboxId}`, body)
      : move(name, body));
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    if (status === 404) expect(res.body.detail).toBe(`No such list (${field}).`);
    else expect(res.body.errors[0].field, JSON.stringify(res.body)).toBe(field);
  };
  await refused("Inbox", { after: ids.C }, 400, "after");
  await refused("C", { before: inboxId }, 400, "before");
  await refused("C", { before: ids.C }, 400, "before");
  await refused("C", { before: ids.D, after: ids.D }, 400, "after");
  await refused("C", { after: "not-a-list" }, 400, "after");
  await refused("C", { after: "00000000-0000-4000-8000-000000000000" }, 404, "after");
  expect(await order()).toEqual(["Inbox0", "C1", "A22", "D3", "B4"]);

  // Concurrent moves (each after a random other list) serialise: the result is still one total
  // order, the Inbox first, every list once, positions 0…n.
  const names = ["C", "D", "B"];
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => {
      const name = names[i % names.length]!;
      const anchor = [inboxId, ...Object.values(ids)].filter((id) => id !== ids[name])[(i * 7) % 4]!;
      return move(name, { after: anchor }).then((res) => expect(res.status).toBe(200));
    }),
  );
  const final = (await call("GET", "query-tasks", "/v1/lists?status=all")).body.items as {
    name: string;
    position: number;
  }[];
  expect(final.map((l) => l.position)).toEqual([0, 1, 2, 3, 4]);
  expect(final[0]!.name).toBe("Inbox");
  expect(final.map((l) => l.name).sort()).toEqual(["A2", "B", "C", "D", "Inbox"]);
});
