// The MCP function through the SDK's own client over real HTTP, beside the real command functions
// and audit-log, each with its local Dapr sidecar: writes travel MCP → sidecar → command function
// → outbox → pub/sub → audit-log, as in production.
import { randomUUID } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { withActorHint, type Principal } from "#platform/auth.ts";
import type { FunctionDef } from "#platform/host.ts";
import { COMMAND_APPS } from "#tasks/client.ts";
import { api, createTestUser, type AnyJson, type TestUser } from "#testing/fixtures.ts";
import {
  PUBSUB_COMPONENT,
  resourcesFolder,
  startFunctionWithSidecar,
  type FunctionWithSidecar,
} from "#testing/sidecar-pair.ts";
import { waitFor } from "#testing/ports.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes as auditRoutes, subscriptions as auditSubscriptions } from "../audit-log/handler.ts";
import { routes as completeRoutes } from "../complete-task/handler.ts";
import { routes as createRoutes } from "../create-task/handler.ts";
import { routes as deleteRoutes } from "../delete-task/handler.ts";
import { routes as updateRoutes } from "../update-task/handler.ts";
import { routes } from "./handler.ts";

let db: Db;
let owner: TestUser;
let reader: TestUser;
let stranger: TestUser;
let mcp: FunctionWithSidecar<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const pairs: FunctionWithSidecar<any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
const clients: Client[] = [];

beforeAll(async () => {
  db = await workerDb();
  owner = await createTestUser(db);
  stranger = await createTestUser(db);
  // A read-only token of the owner.
  reader = await createTestUser(db, { scope: "read" });
  await db.apiToken.update({ where: { id: reader.tokenId }, data: { userId: owner.id } });
  const resourcesPath = await resourcesFolder({ "pubsub.yaml": PUBSUB_COMPONENT });
  const commands: [string, FunctionDef["routes"]][] = [
    [COMMAND_APPS.create, createRoutes],
    [COMMAND_APPS.update, updateRoutes],
    [COMMAND_APPS.complete, completeRoutes],
    [COMMAND_APPS.delete, deleteRoutes],
  ];
  const started = await Promise.all([
    // The real app-ids: the mcp function invokes them by name.
    ...commands.map(([name, r]) =>
      startFunctionWithSidecar({ name, routes: r, outbox: true }, { resourcesPath, appId: name }),
    ),
    startFunctionWithSidecar(
      { name: "audit-log", routes: auditRoutes, subscriptions: auditSubscriptions },
      { resourcesPath },
    ),
    startFunctionWithSidecar({ name: "mcp", routes }, { resourcesPath }),
  ]);
  pairs.push(...started);
  mcp = started.at(-1)!;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(pairs.map((p) => p.close()));
});

async function connect(user: TestUser): Promise<Client> {
  const client = new Client({ name: "orbit-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${mcp.fn.url}/mcp`), {
    requestInit: { headers: { authorization: user.auth } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  return (await client.callTool({ name, arguments: args })) as CallToolResult & {
    structuredContent?: AnyJson;
  };
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

async function addTask(client: Client, task: Record<string, unknown>): Promise<AnyJson> {
  const result = await call(client, "add_tasks", { tasks: [task] });
  expect(result.isError, text(result)).toBe(false);
  return result.structuredContent.results[0].task;
}

test("tools/list names every tool with its zod-derived input schema", async () => {
  const client = await connect(owner);
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual([
    "add_tasks",
    "complete_tasks",
    "create_list",
    "delete_tasks",
    "find_activity",
    "find_tasks",
    "get_task",
    "list_lists",
    "list_tags",
    "move_task",
    "reschedule_task",
    "skip_occurrence",
    "update_list",
    "update_tasks",
  ]);
  const add = tools.find((t) => t.name === "add_tasks")!;
  const item = (add.inputSchema.properties as AnyJson).tasks.items;
  expect(item.required).toEqual(["title"]);
  expect(item.properties.priority.enum).toEqual(["high", "medium", "low", "none"]);
  const find = tools.find((t) => t.name === "find_tasks")!;
  expect(Object.keys(find.inputSchema.properties as object)).toEqual(
    expect.arrayContaining(["q", "status", "tags", "sort", "cursor"]),
  );
  expect(tools.find((t) => t.name === "get_task")!.annotations?.readOnlyHint).toBe(true);
});

test("add_tasks creates several tasks in one call", async () => {
  const client = await connect(owner);
  const result = await call(client, "add_tasks", {
    tasks: [
      { title: "Buy milk", tags: ["home"], priority: "high" },
      { title: "Call mom", due_at: "2030-01-05T10:00:00+01:00", time_zone: "Europe/Berlin" },
    ],
  });
  expect(result.isError).toBe(false);
  const results = result.structuredContent.results;
  expect(results.map((r: AnyJson) => r.ok)).toEqual([true, true]);
  expect(results[0].task).toMatchObject({
    title: "Buy milk",
    priority: "high",
    tags: ["home"],
    user_id: owner.id,
  });
  expect(results[1].task).toMatchObject({ due_at: "2030-01-05T09:00:00.000Z", time_zone: "Europe/Berlin" });
  expect(text(result)).toContain("Created 2 of 2.");
});

test("add_tasks input the schema refuses is a tool error naming the field", async () => {
  const client = await connect(owner);
  const result = await call(client, "add_tasks", { tasks: [{ title: "   " }] });
  expect(result.isError).toBe(true);
  expect(text(result)).toContain("must not be empty");
  expect(text(result)).toContain("tasks[0].title");
});

test("a NUL, an unpaired surrogate or year 0 in any tool's input is a tool error naming the field, nothing written", async () => {
  const client = await connect(owner);
  const before = await db.task.count({ where: { userId: owner.id } });
  const NUL = "must not contain a NUL character (U+0000)";
  const LONE = "must be well-formed Unicode (it has an unpaired surrogate)";
  const RANGE = "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z";
  const refused = async (name: string, args: Record<string, unknown>, ...wanted: string[]) => {
    const result = await call(client, name, args);
    expect(result.isError, `${name} ${JSON.stringify(args)}: ${text(result)}`).toBe(true);
    for (const part of wanted) expect(text(result)).toContain(part);
  };
  await refused("add_tasks", { tasks: [{ title: "milk\u0000" }] }, "tasks[0].title", NUL);
  await refused(
    "add_tasks",
    { tasks: [{ title: "ok", description: "\ud800" }] },
    "tasks[0].description",
    LONE,
  );
  await refused(
    "add_tasks",
    { tasks: [{ title: "ok", due_at: "0000-01-01T00:00:00Z" }] },
    "tasks[0].due_at",
    RANGE,
  );
  const task = await addTask(client, { title: "Target" });
  await refused("update_tasks", { updates: [{ id: task.id, changes: { title: "\udc00" } }] }, "title", LONE);
  await refused("reschedule_task", { id: task.id, due_at: "0000-01-01T00:00:00Z" }, "due_at", RANGE);
  await refused("find_tasks", { q: "milk\u0000" }, `Invalid arguments: q: ${NUL}`);
  await refused("find_tasks", { q: "\ud800" }, `Invalid arguments: q: ${LONE}`);
  await refused("find_tasks", { due_from: "0000-01-01T00:00:00Z" }, `Invalid arguments: due_from: ${RANGE}`);
  const forged = Buffer.from(JSON.stringify({ v: 1, k: "user", t: "0000-01-01T00:00:00Z", i: "1" })).toString(
    "base64url",
  );
  await refused("find_activity", { cursor: forged }, "Invalid arguments: cursor:");
  expect(await db.task.count({ where: { userId: owner.id } })).toBe(before + 1);
  expect((await db.task.findUniqueOrThrow({ where: { id: task.id } })).title).toBe("Target");
});

test("find_tasks searches, filters, sorts and pages with a cursor; list_tags counts tags", async () => {
  const client = await connect(owner);
  const tag = `t${randomUUID().slice(0, 8)}`;
  for (const title of ["Alpha report", "Beta report", "Gamma note"])
    await addTask(client, { title, tags: [tag], priority: title.startsWith("Gamma") ? "low" : "high" });
  const first = await call(client, "find_tasks", { tags: [tag], sort: "title", limit: 2 });
  expect(first.isError).toBe(false);
  expect(first.structuredContent.items.map((t: AnyJson) => t.title)).toEqual(["Alpha report", "Beta report"]);
  const second = await call(client, "find_tasks", {
    tags: [tag],
    sort: "title",
    limit: 2,
    cursor: first.structuredContent.next_cursor,
  });
  expect(second.structuredContent.items.map((t: AnyJson) => t.title)).toEqual(["Gamma note"]);
  expect(second.structuredContent.next_cursor).toBeNull();
  const search = await call(client, "find_tasks", { q: "report", tags: [tag], priorities: ["high"] });
  expect(search.structuredContent.items).toHaveLength(2);
  const bad = await call(client, "find_tasks", { sort: "relevance" });
  expect(bad.isError).toBe(true);
  expect(text(bad)).toBe("Invalid arguments: sort: relevance needs a search text (q)");
  const tags = await call(client, "list_tags");
  expect(tags.structuredContent.items).toContainEqual({ tag, count: 3 });
});

test("get_task, update_tasks (with version), reschedule_task keeping the recurrence", async () => {
  const client = await connect(owner);
  const task = await addTask(client, {
    title: "Weekly review",
    due_at: "2030-01-07T09:00:00Z",
    recurrence: { pattern: "weekly", weekdays: [1] },
  });
  const got = await call(client, "get_task", { id: task.id });
  expect(got.structuredContent.task).toMatchObject({ id: task.id, version: 1 });

  const updated = await call(client, "update_tasks", {
    updates: [{ id: task.id, changes: { title: "Weekly review (team)", version: 1 } }],
  });
  expect(updated.structuredContent.results[0].task).toMatchObject({
    title: "Weekly review (team)",
    version: 2,
  });
  const stale = await call(client, "update_tasks", {
    updates: [{ id: task.id, changes: { priority: "low", version: 1 } }],
  });
  expect(stale.isError).toBe(true);
  expect(stale.structuredContent.results[0].error).toMatch(/^Version conflict: The task is at version 2/);

  const moved = await call(client, "reschedule_task", { id: task.id, due_at: "2030-01-14T09:00:00+00:00" });
  expect(moved.isError, text(moved)).toBe(false);
  expect(moved.structuredContent.task.due_at).toBe("2030-01-14T09:00:00.000Z");
  expect(moved.structuredContent.task.recurrence).toMatchObject({
    pattern: "weekly",
    weekdays: [1],
    active: true,
  });
});

test("skip_occurrence skips an open occurrence of a series and refuses a task that does not repeat", async () => {
  const client = await connect(owner);
  const task = await addTask(client, {
    title: "Water plants",
    due_at: "2030-01-07T09:00:00Z",
    recurrence: { pattern: "weekly", weekdays: [1] },
  });
  const once = await addTask(client, { title: "Once" });
  const refused = await call(client, "skip_occurrence", { id: once.id });
  expect([refused.isError, text(refused)]).toEqual([
    true,
    "Only an open occurrence of a repeating task can be skipped.",
  ]);
  const skipped = await call(client, "skip_occurrence", { id: task.id });
  expect(skipped.isError, text(skipped)).toBe(false);
  expect((await call(client, "get_task", { id: task.id })).isError).toBe(true);
  // The skip is the series' "occurrence_skipped" delete, which on-task-completed answers with the
  // next occurrence (functions/on-task-completed tests that half).
  const db = await workerDb();
  const events = await db.outboxEvent.findMany({ where: { subject: task.id, type: "orbit.task.deleted" } });
  expect(events.map((e) => (e.data as { reason?: string }).reason)).toEqual(["occurrence_skipped"]);
});

test("complete_tasks completes and reopens in batches, reporting a failed item by index", async () => {
  const client = await connect(owner);
  const a = await addTask(client, { title: "Task A" });
  const b = await addTask(client, { title: "Task B" });
  const done = await call(client, "complete_tasks", { tasks: [{ id: a.id }, { id: b.id, version: 1 }] });
  expect(done.structuredContent.results.map((r: AnyJson) => r.task.status)).toEqual([
    "completed",
    "completed",
  ]);
  const reopened = await call(client, "complete_tasks", { tasks: [{ id: a.id }], reopen: true });
  expect(reopened.structuredContent.results[0].task.status).toBe("pending");
  const missing = randomUUID();
  const partial = await call(client, "complete_tasks", { tasks: [{ id: b.id }, { id: missing }] });
  expect(partial.isError).toBe(false);
  expect(partial.structuredContent.results.map((r: AnyJson) => r.ok)).toEqual([true, false]);
  expect(text(partial)).toContain("Completed 1 of 2.\n[1] failed: Not found: No such task.");
});

test("lists and subtasks: list_lists, create_list, add into a list with a subtask, find by list, move_task, complete asks", async () => {
  const client = await connect(owner);
  const name = `Work ${randomUUID().slice(0, 6)}`;
  const created = await call(client, "create_list", { name, color: "teal" });
  expect(created.isError, text(created)).toBe(false);
  const list = created.structuredContent.list;
  expect(list).toMatchObject({ name, color: "teal", is_inbox: false });
  const again = await call(client, "create_list", { name: name.toUpperCase() });
  expect(again.isError).toBe(true);
  expect(text(again)).toContain("name: you already have a list named");

  const parent = await addTask(client, { title: "Quarterly report", list_id: list.id });
  const child = await addTask(client, { title: "Collect numbers", parent_id: parent.id });
  expect(child).toMatchObject({ parent_id: parent.id, list_id: list.id });

  const later = (await call(client, "create_list", { name: `${name} later` })).structuredContent.list;
  const lists = await call(client, "list_lists");
  const listed = lists.structuredContent.items;
  expect(listed[0]).toMatchObject({ name: "Inbox", is_inbox: true });
  // In the user's order: a new list last; moved before the other, it comes first after the Inbox.
  expect(listed.slice(-2).map((l: AnyJson) => l.id)).toEqual([list.id, later.id]);
  const move = await call(client, "update_list", { id: later.id, before: list.id });
  expect(move.isError, text(move)).toBe(false);
  const reordered = (await call(client, "list_lists")).structuredContent.items;
  expect(reordered.slice(-2).map((l: AnyJson) => l.id)).toEqual([later.id, list.id]);
  expect(listed.find((l: AnyJson) => l.id === list.id)).toMatchObject({ open_tasks: 2 });

  const found = await call(client, "find_tasks", { list: name, top_level: true });
  expect(found.structuredContent.items.map((t: AnyJson) => [t.title, t.subtasks])).toEqual([
    ["Quarterly report", { done: 0, total: 1 }],
  ]);

  const asked = await call(client, "complete_tasks", { tasks: [{ id: parent.id }] });
  expect(asked.isError).toBe(true);
  expect(text(asked)).toContain('subtasks: must be "complete" or "leave"');
  const done = await call(client, "complete_tasks", { tasks: [{ id: parent.id }], subtasks: "complete" });
  expect(done.isError, text(done)).toBe(false);
  expect((await db.task.findUniqueOrThrow({ where: { id: child.id } })).status).toBe("completed");

  const inbox = listed[0];
  const moved = await call(client, "move_task", { id: parent.id, list_id: inbox.id });
  expect(moved.isError, text(moved)).toBe(false);
  expect(moved.structuredContent.task.list_id).toBe(inbox.id);
  expect((await db.task.findUniqueOrThrow({ where: { id: child.id } })).listId).toBe(inbox.id);
  // Another user's list is no list: not found, as an unknown one.
  const theirs = await call(await connect(stranger), "list_lists");
  const strangerInbox = theirs.structuredContent.items[0].id;
  const refused = await call(client, "move_task", { id: parent.id, list_id: strangerInbox });
  expect(refused.isError).toBe(true);
  expect(text(refused)).toContain("No such list");
  const theirsChanged = await call(client, "update_list", { id: strangerInbox, name: "Mine now" });
  expect(theirsChanged.isError).toBe(true);
  expect(text(theirsChanged)).toContain("No such list");
  expect((await db.taskList.findUniqueOrThrow({ where: { id: strangerInbox } })).name).toBe("Inbox");

  // update_list renames, recolours and archives; the Inbox is never archived; before or after, not both.
  const renamed = await call(client, "update_list", { id: later.id, name: `${name} someday`, color: "pink" });
  expect(renamed.isError, text(renamed)).toBe(false);
  expect(renamed.structuredContent.list).toMatchObject({ name: `${name} someday`, color: "pink" });
  const archived = await call(client, "update_list", { id: later.id, archived: true });
  expect(archived.structuredContent.list).toMatchObject({ archived: true });
  expect((await call(client, "list_lists", { archived: true })).structuredContent.items).toEqual([
    expect.objectContaining({ id: later.id }),
  ]);
  const inboxArchived = await call(client, "update_list", { id: inbox.id, archived: true });
  expect(inboxArchived.isError).toBe(true);
  expect(text(inboxArchived)).toMatch(/inbox/i);
  const garbage: [Record<string, unknown>, string][] = [
    [{ id: "not-a-list", name: "x" }, "must be a list id (UUID) at id"],
    [{ id: list.id, name: "bad\u0000name" }, "must not contain a NUL character (U+0000) at name"],
    [
      { id: list.id, color: "rose" },
      "must be one of slate, red, orange, amber, green, teal, blue, indigo, purple, pink at color",
    ],
    [{ id: list.id, before: "nowhere" }, "must be a list id (UUID) at before"],
  ];
  for (const [args, field] of garbage) {
    const refused = await call(client, "update_list", args);
    expect(refused.isError, JSON.stringify(args)).toBe(true);
    expect(text(refused), JSON.stringify(args)).toContain(field);
  }
  const both = await call(client, "update_list", { id: list.id, before: inbox.id, after: later.id });
  expect(both.isError).toBe(true);
  expect(text(both)).toContain("before or after, not both");
  // A change based on a stale read is refused.
  const recoloured = await call(client, "update_list", { id: list.id, color: "amber" });
  expect(recoloured.structuredContent.list.version).toBeGreaterThan(1);
  const stale = await call(client, "update_list", { id: list.id, name: "Stale", version: 1 });
  expect(stale.isError).toBe(true);
  expect((await db.taskList.findUniqueOrThrow({ where: { id: list.id } })).name).toBe(name);
});

test("delete_tasks deletes; a deleted task is then not found", async () => {
  const client = await connect(owner);
  const task = await addTask(client, { title: "Temporary" });
  const deleted = await call(client, "delete_tasks", { ids: [task.id] });
  expect(deleted.structuredContent.results).toEqual([{ ok: true, task: null }]);
  const gone = await call(client, "get_task", { id: task.id });
  expect(gone.isError).toBe(true);
  expect(text(gone)).toBe(`Not found: no task with id ${task.id}.`);
  const again = await call(client, "delete_tasks", { ids: [task.id] });
  expect(again.isError).toBe(true);
  expect(again.structuredContent.results[0].error).toBe("Not found: No such task.");
});

test("a read-only token can read but every write tool answers with a scope error", async () => {
  const ownerClient = await connect(owner);
  const task = await addTask(ownerClient, { title: "Owned" });
  const client = await connect(reader);
  expect((await call(client, "get_task", { id: task.id })).structuredContent.task.title).toBe("Owned");
  const inbox = (await call(client, "list_lists")).structuredContent.items[0].id;
  const writes: [string, Record<string, unknown>][] = [
    ["create_list", { name: "Nope" }],
    ["update_list", { id: inbox, name: "Nope" }],
    ["move_task", { id: task.id, list_id: inbox }],
    ["add_tasks", { tasks: [{ title: "Nope" }] }],
    ["update_tasks", { updates: [{ id: task.id, changes: { title: "Nope" } }] }],
    ["complete_tasks", { tasks: [{ id: task.id }] }],
    ["reschedule_task", { id: task.id, due_at: "2030-01-01T00:00:00Z" }],
    ["delete_tasks", { ids: [task.id] }],
    ["skip_occurrence", { id: task.id }],
  ];
  for (const [name, args] of writes) {
    const result = await call(client, name, args);
    expect(result.isError, name).toBe(true);
    expect(text(result), name).toBe(
      `This API token is read-only: ${name} changes tasks and needs a token with the read_write scope.`,
    );
  }
  expect(await db.task.count({ where: { userId: owner.id, title: "Nope" } })).toBe(0);
  expect(await db.taskList.count({ where: { name: "Nope" } })).toBe(0);
});

test("another user's task is not found by any tool", async () => {
  const task = await addTask(await connect(owner), { title: "Private" });
  const client = await connect(stranger);
  const notFound = `Not found: no task with id ${task.id}.`;
  expect(text(await call(client, "get_task", { id: task.id }))).toBe(notFound);
  expect(text(await call(client, "find_activity", { task_id: task.id }))).toBe(notFound);
  expect((await call(client, "find_tasks", { q: "Private" })).structuredContent.items).toEqual([]);
  for (const [name, args] of [
    ["update_tasks", { updates: [{ id: task.id, changes: { title: "Mine" } }] }],
    ["complete_tasks", { tasks: [{ id: task.id }] }],
    ["delete_tasks", { ids: [task.id] }],
  ] as const) {
    const result = await call(client, name, args);
    expect(result.isError, name).toBe(true);
    expect(result.structuredContent.results[0].error, name).toBe("Not found: No such task.");
  }
  const reschedule = await call(client, "reschedule_task", { id: task.id, due_at: "2030-01-01T00:00:00Z" });
  expect(text(reschedule)).toBe("Not found: No such task.");
  const row = await db.task.findUniqueOrThrow({ where: { id: task.id } });
  expect(row).toMatchObject({ title: "Private", status: "pending", version: 1 });
});

test("the audit trail records an MCP write with actor agent (the token's id)", async () => {
  const client = await connect(owner);
  const task = await addTask(client, { title: "Audited" });
  await call(client, "complete_tasks", { tasks: [{ id: task.id }] });
  const activity = await waitFor(
    "two audit rows",
    async () => {
      const page = (await call(client, "find_activity", { task_id: task.id })).structuredContent;
      return page?.items?.length === 2 ? page : null;
    },
    15_000,
  );
  expect(activity.items.map((i: AnyJson) => [i.action, i.actor])).toEqual([
    ["created", { type: "agent", id: owner.tokenId }],
    ["completed", { type: "agent", id: owner.tokenId }],
  ]);
  const feed = await call(client, "find_activity", { limit: 1 });
  expect(feed.structuredContent.items).toHaveLength(1);
  expect(feed.structuredContent.next_cursor).toEqual(expect.any(String));
});

test("the endpoint needs a token; GET and DELETE are 405 (stateless server)", async () => {
  const anonymous = await api(mcp.fn.url, "POST", "/mcp", {
    body: { jsonrpc: "2.0", id: 1, method: "tools/list" },
    headers: { accept: "application/json, text/event-stream" },
  });
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.type).toBe("https://orbit.invalid/problems/unauthorized");
  for (const method of ["GET", "DELETE"]) {
    const response = await api(mcp.fn.url, method, "/mcp", { auth: owner.auth });
    expect(response.status, method).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  }
});

test("a single JSON-RPC call needs no session (the README's curl example)", async () => {
  const response = await api(mcp.fn.url, "POST", "/mcp", {
    auth: owner.auth,
    headers: { accept: "application/json, text/event-stream" },
    body: { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "list_tags", arguments: {} } },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(response.headers.get("mcp-session-id")).toBeNull();
  expect(response.body).toMatchObject({ jsonrpc: "2.0", id: 7, result: { isError: false } });
  expect(response.body.result.structuredContent.items).toContainEqual({
    tag: "home",
    count: expect.any(Number),
  });
});

test("X-Orbit-Actor relabels an API token or a session as agent, nothing else, and only as agent", async () => {
  const session: Principal = {
    userId: owner.id,
    timeZone: "UTC",
    defaultReminderMinutes: [],
    scope: "read_write",
    actor: { type: "user", id: owner.id },
    rateKey: "session:x",
  };
  // The assistant calls MCP with the web session it was given: its changes are the agent's.
  expect(withActorHint(session, "agent").actor).toEqual({ type: "agent", id: owner.id });
  const action = { ...session, actor: { type: "reminder_action" as const, id: "push:j1" } };
  expect(withActorHint(action, "agent").actor).toEqual(action.actor);
  expect(withActorHint({ ...session, actor: { type: "api_token", id: "t1" } }, "agent").actor).toEqual({
    type: "agent",
    id: "t1",
  });
  const create = pairs[0]!;
  const bad = await api(create.fn.url, "POST", "/v1/tasks", {
    auth: owner.auth,
    body: { title: "x" },
    headers: { "x-orbit-actor": "system" },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.errors).toEqual([
    { pointer: "/headers/x-orbit-actor", field: "X-Orbit-Actor", detail: 'must be "agent"' },
  ]);
});
