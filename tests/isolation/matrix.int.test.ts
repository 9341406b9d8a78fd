// The isolation matrix, generated from every function's exported routes: for every route and
// method, user B (a valid token) on user A's resources gets 404 and changes nothing, no token gets
// 401, a revoked or expired token gets 401, a read-only token on a write route gets 403; operator
// routes refuse user tokens. A route without an entry in SCENARIOS fails the suite, so a new route
// cannot skip the matrix. Functions are served in-process over real HTTP on the worker's database.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { isTaskUpdate, taskEventSchema, type ListUpdate, type TaskUpdate } from "#core/events.ts";
import type { ListDto } from "#core/lists.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import type { BaseEnv } from "#platform/env.ts";
import type { AnyRouteDef } from "#platform/host.ts";
import { recordAuditEvent } from "#tasks/activity.ts";
import { taskEventMessages } from "#tasks/commands.ts";
import { listEventMessages } from "#tasks/lists.ts";
import { latestLiveUpdateId, liveUpdatesSince, recordLiveUpdate } from "#tasks/live-updates.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { chat, startAssistantAlone } from "#testing/assistant.ts";
import { workerDb } from "#testing/worker-db.ts";
import { FUNCTIONS } from "../fuzz/functions.ts";

const ADMIN = "isolation-admin-token-0123456789";

let db: Db;
let a: TestUser;
let b: TestUser;
let aReadOnly: TestUser;
let revoked: string;
let expired: string;
const running = new Map<string, StartedFunction<BaseEnv>>();
const closers: (() => Promise<void>)[] = [];

/** A's resources, created through the product's own routes. */
const mine = {
  task: null as unknown as TaskDto,
  list: null as unknown as ListDto,
  deletable: null as unknown as TaskDto,
  pushSubscriptionId: "",
  deletableSubscriptionId: "",
  tag: `a-only-${randomUUID().slice(0, 8)}`,
  webhookUrl: "https://hooks.example.com/a-secret-path",
  conversationId: "",
  deletableConversationId: "",
  /** A's reminder of mine.task, delivered by webhook (a ledger row). */
  deliveryId: "",
};

const urlOf = (route: AnyRouteDef) => {
  const fn = FUNCTIONS.find((f) => f.routes?.includes(route));
  return running.get(fn!.name)!.url;
};

function pushKeys() {
  const p256dh = Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString("base64url");
  return { p256dh, auth: randomBytes(16).toString("base64url") };
}

async function createTaskAs(user: TestUser, title: string): Promise<TaskDto> {
  const res = await api(running.get("create-task")!.url, "POST", "/v1/tasks", {
    auth: user.auth,
    body: { title, due_at: "2030-03-01T09:00:00Z", tags: [mine.tag], reminders: [{ offset_minutes: 30 }] },
  });
  expect(res.status).toBe(201);
  return res.body as TaskDto;
}

beforeAll(async () => {
  db = await workerDb();
  for (const def of FUNCTIONS.filter((d) => (d.routes ?? []).length > 0)) {
    const env = { ADMIN_TOKEN: ADMIN, OUTBOX_SWEEP_INTERVAL_MS: "60000" };
    if (def.name === "assistant") {
      // Its conversations are Dapr state: it runs beside its sidecar.
      const pair = await startAssistantAlone(env);
      closers.push(pair.close);
      running.set(def.name, pair.fn);
    } else running.set(def.name, await startFunction(def, env));
  }
  a = await createTestUser(db);
  b = await createTestUser(db);
  aReadOnly = { ...(await createTestUser(db, { scope: "read" })) };
  // A's read-only token belongs to A: same user, second token.
  await db.apiToken.update({ where: { id: aReadOnly.tokenId }, data: { userId: a.id } });
  const r = await createTestUser(db);
  await db.apiToken.update({ where: { id: r.tokenId }, data: { userId: a.id, revokedAt: new Date() } });
  revoked = r.auth;
  const e = await createTestUser(db);
  await db.apiToken.update({
    where: { id: e.tokenId },
    data: { userId: a.id, expiresAt: new Date(Date.now() - 1_000) },
  });
  expired = e.auth;

  const list = await api(running.get("create-task")!.url, "POST", "/v1/lists", {
    auth: a.auth,
    body: { name: `A's secret list ${randomUUID().slice(0, 8)}` },
  });
  expect(list.status).toBe(201);
  mine.list = list.body as ListDto;
  mine.task = await createTaskAs(a, "A's private task");
  mine.deletable = await createTaskAs(a, "A's task to delete");
  // A's reminder of that task, delivered by webhook, as the notification service records it.
  const delivery = await db.notificationDelivery.create({
    data: {
      reminderKey: `reminder-${mine.task.id}-o30@2030-03-01T08:30:00.000Z`,
      userId: a.id,
      taskId: mine.task.id,
      channel: "webhook",
      target: mine.webhookUrl,
      status: "sent",
      attempts: 1,
      sentAt: new Date(),
    },
  });
  mine.deliveryId = delivery.id;
  // A's audit trail, recorded as the audit-log consumer records it.
  const [message] = taskEventMessages("created", mine.task, {
    actor: { type: "user", id: a.id },
    now: new Date(),
  });
  await recordAuditEvent(db, randomUUID(), taskEventSchema.parse(message!.data));
  const subscribe = async () => {
    const sub = await api(running.get("notifications")!.url, "POST", "/v1/push-subscriptions", {
      auth: a.auth,
      body: { endpoint: `https://fcm.googleapis.com/fcm/send/${randomUUID()}`, keys: pushKeys() },
    });
    expect(sub.status).toBe(201);
    return sub.body.id as string;
  };
  mine.pushSubscriptionId = await subscribe();
  mine.deletableSubscriptionId = await subscribe();
  const channel = await api(running.get("notifications")!.url, "PUT", "/v1/channels/webhook", {
    auth: a.auth,
    body: { enabled: true, webhook_url: mine.webhookUrl, webhook_secret: "a-webhook-secret-0123456789" },
  });
  expect(channel.status).toBe(200);
  // A's conversations with the assistant ("help" needs no tool).
  const talk = async () => {
    const reply = await chat(running.get("assistant")!.url, a.auth, { message: "help" });
    expect(reply.status).toBe(200);
    return reply.events[0]!.data.id as string;
  };
  mine.conversationId = await talk();
  mine.deletableConversationId = await talk();
}, 60_000);

afterAll(async () => {
  await Promise.all([...running.values()].map((fn) => fn.close()));
  await Promise.all(closers.map((close) => close()));
});

/** Everything of A's a request could change, for before/after comparison. */
async function stateOfA(): Promise<string> {
  const [tasks, tags, subs, channels, audit, tokens, conversations, lists] = await Promise.all([
    db.task.findMany({ where: { userId: a.id }, orderBy: { id: "asc" } }),
    db.taskTag.findMany({ where: { userId: a.id }, orderBy: [{ taskId: "asc" }, { tag: "asc" }] }),
    db.pushSubscription.findMany({ where: { userId: a.id }, orderBy: { id: "asc" } }),
    db.notificationChannel.findMany({ where: { userId: a.id }, orderBy: { kind: "asc" } }),
    db.auditLog.count({ where: { userId: a.id } }),
    db.apiToken.findMany({
      where: { userId: a.id },
      select: { id: true, revokedAt: true },
      orderBy: { id: "asc" },
    }),
    // The assistant's state (its sidecar's store): A's conversations and their index.
    db.$queryRaw`SELECT key, etag FROM dapr_local.state WHERE key LIKE ${`%${a.id}%`} ORDER BY key`,
    db.taskList.findMany({ where: { userId: a.id }, orderBy: { id: "asc" } }),
  ]);
  return JSON.stringify({ tasks, tags, subs, channels, audit, tokens, conversations, lists }, (_k, v) =>
    typeof v === "bigint" ? String(v) : v,
  );
}

interface Request {
  path: string;
  body?: unknown;
}

/**
 * How each route is exercised. `foreign`: B's request names A's resource and must get 404. `own`:
 * the route has no resource id (a list, a create, the caller's own settings): B's answer must not
 * contain anything of A's. `owner` (optional): the same request as A succeeds, proving B's 404 is
 * about ownership and not a malformed request (run after B's, so a delete does not go first).
 */
type Scenario =
  | { kind: "foreign"; request: () => Request; ownerStatus: number; before?: () => Promise<void> }
  | { kind: "own"; request: () => Request; status: number; ownerSees?: () => string }
  | { kind: "admin" }
  | { kind: "public" }
  | { kind: "forwarded"; why: string }
  /** No user credential: a signed token in the body names the user and the task it may act on. */
  | { kind: "signed"; heldBy: string };

/** The token of A's emailed confirmation link. */
const EMAIL_TOKEN = "email-confirmation-token-of-user-a-00000000";

const SCENARIOS: Record<string, Scenario> = {
  "POST /v1/tasks": {
    kind: "own",
    request: () => ({ path: "/v1/tasks", body: { title: "B's task" } }),
    status: 201,
  },
  "GET /v1/tasks": {
    kind: "own",
    request: () => ({ path: `/v1/tasks?tags=${mine.tag}` }),
    status: 200,
    ownerSees: () => mine.task.id,
  },
  "GET /v1/tags": {
    kind: "own",
    request: () => ({ path: "/v1/tags" }),
    status: 200,
    ownerSees: () => mine.tag,
  },
  "POST /v1/lists": {
    kind: "own",
    request: () => ({ path: "/v1/lists", body: { name: `B's list ${randomUUID().slice(0, 8)}` } }),
    status: 201,
  },
  "GET /v1/lists": {
    kind: "own",
    request: () => ({ path: "/v1/lists" }),
    status: 200,
    ownerSees: () => mine.list.id,
  },
  "GET /v1/lists/:id": {
    kind: "foreign",
    request: () => ({ path: `/v1/lists/${mine.list.id}` }),
    ownerStatus: 200,
  },
  "PATCH /v1/lists/:id": {
    kind: "foreign",
    request: () => ({
      path: `/v1/lists/${mine.list.id}`,
      body: { name: `Taken over ${randomUUID().slice(0, 8)}` },
    }),
    ownerStatus: 200,
  },
  "GET /v1/tasks/:id": {
    kind: "foreign",
    request: () => ({ path: `/v1/tasks/${mine.task.id}` }),
    ownerStatus: 200,
  },
  "PATCH /v1/tasks/:id": {
    kind: "foreign",
    request: () => ({
      path: `/v1/tasks/${mine.task.id}`,
      body: { title: "Taken over", version: mine.task.version },
    }),
    ownerStatus: 200,
  },
  "POST /v1/tasks/:id/complete": {
    kind: "foreign",
    request: () => ({ path: `/v1/tasks/${mine.task.id}/complete` }),
    ownerStatus: 200,
  },
  "POST /v1/tasks/:id/reopen": {
    kind: "foreign",
    request: () => ({ path: `/v1/tasks/${mine.task.id}/reopen` }),
    ownerStatus: 200,
    // Reopening needs a completed task: complete it as A first.
    before: async () => {
      await api(running.get("complete-task")!.url, "POST", `/v1/tasks/${mine.task.id}/complete`, {
        auth: a.auth,
      });
    },
  },
  "DELETE /v1/tasks/:id": {
    kind: "foreign",
    request: () => ({ path: `/v1/tasks/${mine.deletable.id}` }),
    ownerStatus: 204,
  },
  "GET /v1/tasks/:id/activity": {
    kind: "foreign",
    request: () => ({ path: `/v1/tasks/${mine.task.id}/activity` }),
    ownerStatus: 200,
  },
  "GET /v1/activity": {
    kind: "own",
    request: () => ({ path: "/v1/activity" }),
    status: 200,
    ownerSees: () => mine.task.id,
  },
  "GET /v1/tasks/:id/reminders": {
    kind: "foreign",
    request: () => ({ path: `/v1/tasks/${mine.task.id}/reminders` }),
    ownerStatus: 200,
  },
  "GET /v1/push-subscriptions": {
    kind: "own",
    request: () => ({ path: "/v1/push-subscriptions" }),
    status: 200,
    ownerSees: () => mine.pushSubscriptionId,
  },
  "POST /v1/push-subscriptions": {
    kind: "own",
    request: () => ({
      path: "/v1/push-subscriptions",
      body: { endpoint: `https://fcm.googleapis.com/fcm/send/${randomUUID()}`, keys: pushKeys() },
    }),
    status: 201,
  },
  "DELETE /v1/push-subscriptions/:id": {
    kind: "foreign",
    request: () => ({ path: `/v1/push-subscriptions/${mine.deletableSubscriptionId}` }),
    ownerStatus: 204,
  },
  "GET /v1/channels": {
    kind: "own",
    request: () => ({ path: "/v1/channels" }),
    status: 200,
    ownerSees: () => mine.webhookUrl,
  },
  "PUT /v1/channels/:kind": {
    kind: "own",
    request: () => ({ path: "/v1/channels/webhook", body: { enabled: false } }),
    status: 200,
  },
  "POST /v1/channels/email/confirmation": {
    kind: "own",
    // B never turned email on: nothing to resend, and nothing of A's is touched.
    request: () => ({ path: "/v1/channels/email/confirmation", body: {} }),
    status: 409,
  },
  "POST /v1/channels/email/confirm": {
    kind: "foreign",
    request: () => ({ path: "/v1/channels/email/confirm", body: { token: EMAIL_TOKEN } }),
    ownerStatus: 200,
    // A's pending confirmation, as PUT /v1/channels/email leaves it once its link is mailed
    // (these functions run without a sidecar, so no mail can go out here).
    before: async () => {
      const pending = {
        enabled: true,
        emailPendingAddress: a.email,
        emailTokenHash: createHash("sha256").update(EMAIL_TOKEN).digest("hex"),
        emailTokenSentAt: new Date(),
        emailTokenExpiresAt: new Date(Date.now() + 3_600_000),
      };
      await db.notificationChannel.upsert({
        where: { userId_kind: { userId: a.id, kind: "email" } },
        create: { userId: a.id, kind: "email", ...pending },
        update: pending,
      });
    },
  },
  "POST /v1/notifications/test": {
    kind: "own",
    request: () => ({ path: "/v1/notifications/test", body: {} }),
    status: 200,
  },
  "POST /v1/tasks/:id/deliveries/:delivery_id/retry": {
    kind: "foreign",
    request: () => ({
      path: `/v1/tasks/${mine.task.id}/deliveries/${mine.deliveryId}/retry`,
      body: {},
    }),
    // A's delivery was sent already: A is refused for that (409 already_sent), never "not found".
    ownerStatus: 409,
  },
  "GET /v1/push/vapid-public-key": { kind: "public" },
  "GET /v1/dead-letters": { kind: "admin" },
  "GET /v1/dead-letters/:id": { kind: "admin" },
  "POST /v1/dead-letters/:id/replay": { kind: "admin" },
  "POST /v1/dead-letters/:id/resolve": { kind: "admin" },
  "POST /v1/reminder-actions": {
    kind: "signed",
    heldBy: "tests/security/reminder-actions.int.test.ts: another account's task reads as a deleted one",
  },
  "POST /v1/reminder-actions/preview": {
    kind: "signed",
    heldBy:
      "tests/security/reminder-actions.int.test.ts and functions/on-reminder-fired/reminder-actions.int.test.ts",
  },
  "POST /v1/chat": {
    kind: "foreign",
    request: () => ({ path: "/v1/chat", body: { conversationId: mine.conversationId, message: "help" } }),
    ownerStatus: 200,
  },
  "GET /v1/conversations": {
    kind: "own",
    request: () => ({ path: "/v1/conversations" }),
    status: 200,
    ownerSees: () => mine.conversationId,
  },
  "GET /v1/conversations/:id": {
    kind: "foreign",
    request: () => ({ path: `/v1/conversations/${mine.conversationId}` }),
    ownerStatus: 200,
  },
  "DELETE /v1/conversations/:id": {
    kind: "foreign",
    request: () => ({ path: `/v1/conversations/${mine.deletableConversationId}` }),
    ownerStatus: 204,
  },
  "POST /mcp": {
    kind: "forwarded",
    why: "MCP tools call the routes above through Dapr with the caller's own Authorization header",
  },
};

const ROUTES = FUNCTIONS.flatMap((def) => (def.routes ?? []).map((route) => ({ fn: def.name, route })));
const keyOf = (route: AnyRouteDef) => `${route.method} ${route.path}`;

/** A request the route would accept from its owner, for the credential checks. */
function sampleRequest(route: AnyRouteDef): Request {
  const scenario = SCENARIOS[keyOf(route)];
  if (scenario && (scenario.kind === "foreign" || scenario.kind === "own")) return scenario.request();
  return {
    path: route.path.replace(/:id/g, "1").replace(/:kind/g, "email"),
    body: route.method === "GET" ? undefined : {},
  };
}

function call(route: AnyRouteDef, auth: string | undefined, request: Request = sampleRequest(route)) {
  return api(urlOf(route), route.method, request.path, {
    auth,
    body: request.body ?? (route.method === "GET" || route.method === "DELETE" ? undefined : {}),
    headers: route.path === "/mcp" ? { accept: "application/json, text/event-stream" } : {},
  });
}

test("every route of every function has a scenario in the matrix", () => {
  expect(ROUTES.length).toBeGreaterThan(20);
  expect(ROUTES.map((r) => keyOf(r.route)).filter((key) => !(key in SCENARIOS))).toEqual([]);
});

test.each(
  ROUTES.filter((r) => r.route.auth === "read" || r.route.auth === "write").map(
    (r) => [keyOf(r.route), r.route] as const,
  ),
)("%s: no token, a malformed, revoked or expired token → 401; nothing changes", async (_key, route) => {
  const before = await stateOfA();
  for (const auth of [
    undefined,
    "Bearer",
    "Basic dXNlcjpwYXNz",
    "Bearer orbit_not-a-real-token",
    revoked,
    expired,
  ]) {
    const res = await call(route, auth);
    expect(res.status, `${auth ?? "no token"}: ${JSON.stringify(res.body)}`).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  }
  expect(await stateOfA()).toBe(before);
});

test.each(ROUTES.filter((r) => r.route.auth === "write").map((r) => [keyOf(r.route), r.route] as const))(
  "%s: a read-only token → 403; nothing changes",
  async (_key, route) => {
    const before = await stateOfA();
    const res = await call(route, aReadOnly.auth);
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.type).toBe("https://orbit.invalid/problems/forbidden");
    expect(await stateOfA()).toBe(before);
  },
);

test.each(ROUTES.filter((r) => r.route.auth === "admin").map((r) => [keyOf(r.route), r.route] as const))(
  "%s (operator route): no token or any user's token → 401",
  async (_key, route) => {
    for (const auth of [undefined, a.auth, b.auth, `Bearer ${ADMIN}x`]) {
      const res = await call(route, auth);
      expect(res.status, `${auth ?? "no token"}: ${JSON.stringify(res.body)}`).toBe(401);
    }
  },
);

const foreignRoutes = ROUTES.filter((r) => SCENARIOS[keyOf(r.route)]?.kind === "foreign");
test.each(foreignRoutes.map((r) => [keyOf(r.route), r.route] as const))(
  "%s: user B on A's resource → 404 (not 403, not A's data); nothing of A's changes; A itself succeeds",
  async (key, route) => {
    const scenario = SCENARIOS[key] as Extract<Scenario, { kind: "foreign" }>;
    await scenario.before?.();
    const before = await stateOfA();
    const res = await call(route, b.auth, scenario.request());
    expect(res.status, JSON.stringify(res.body)).toBe(404);
    expect(res.body.type).toBe("https://orbit.invalid/problems/not-found");
    expect(JSON.stringify(res.body)).not.toContain(mine.task.title);
    expect(await stateOfA()).toBe(before);
    // The same request is fine for its owner: B's 404 is about whose resource it is.
    const owner = await call(route, a.auth, scenario.request());
    expect(owner.status, JSON.stringify(owner.body)).toBe(scenario.ownerStatus);
    if (owner.body?.version) mine.task = { ...mine.task, version: owner.body.version as number };
  },
);

const ownRoutes = ROUTES.filter((r) => SCENARIOS[keyOf(r.route)]?.kind === "own");
test.each(ownRoutes.map((r) => [keyOf(r.route), r.route] as const))(
  "%s: user B's answer carries nothing of A's, and A's data does not change",
  async (key, route) => {
    const scenario = SCENARIOS[key] as Extract<Scenario, { kind: "own" }>;
    const before = await stateOfA();
    const res = await call(route, b.auth, scenario.request());
    expect(res.status, JSON.stringify(res.body)).toBe(scenario.status);
    const text = JSON.stringify(res.body);
    for (const secret of [
      a.id,
      mine.list.id,
      mine.list.name,
      mine.task.id,
      mine.deletable.id,
      mine.tag,
      mine.webhookUrl,
      mine.pushSubscriptionId,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(await stateOfA()).toBe(before);
    // The same read as A does show A's data: B's answer is empty of it because it is B's, not by accident.
    if (scenario.ownerSees) {
      const owner = await call(route, a.auth, scenario.request());
      expect(JSON.stringify(owner.body)).toContain(scenario.ownerSees());
    }
  },
);

test("B cannot use A's list or task as a list or parent: create, move, filter and subtasks all answer as for an unknown id", async () => {
  const before = await stateOfA();
  const create = running.get("create-task")!.url;
  const update = running.get("update-task")!.url;
  const query = running.get("query-tasks")!.url;
  const intoList = await api(create, "POST", "/v1/tasks", {
    auth: b.auth,
    body: { title: "x", list_id: mine.list.id },
  });
  expect(intoList.status, JSON.stringify(intoList.body)).toBe(404);
  const underTask = await api(create, "POST", "/v1/tasks", {
    auth: b.auth,
    body: { title: "x", parent_id: mine.task.id },
  });
  expect(underTask.status, JSON.stringify(underTask.body)).toBe(404);
  const unknown = await api(create, "POST", "/v1/tasks", {
    auth: b.auth,
    body: { title: "x", list_id: randomUUID() },
  });
  // A's list and a made-up id get the same answer: existence does not leak.
  expect(intoList.body).toEqual(unknown.body);
  const own = await api(create, "POST", "/v1/tasks", { auth: b.auth, body: { title: "B's own" } });
  const moved = await api(update, "PATCH", `/v1/tasks/${own.body.id}`, {
    auth: b.auth,
    body: { list_id: mine.list.id },
  });
  expect(moved.status).toBe(404);
  // B's own list placed next to A's: as next to an unknown list (A's order is untouched, below).
  const ownList = await api(create, "POST", "/v1/lists", { auth: b.auth, body: { name: "B's list" } });
  for (const where of ["before", "after"]) {
    const nextToA = await api(update, "PATCH", `/v1/lists/${ownList.body.id}`, {
      auth: b.auth,
      body: { [where]: mine.list.id },
    });
    const nextToUnknown = await api(update, "PATCH", `/v1/lists/${ownList.body.id}`, {
      auth: b.auth,
      body: { [where]: randomUUID() },
    });
    expect(nextToA.status, JSON.stringify(nextToA.body)).toBe(404);
    expect(nextToA.body).toEqual(nextToUnknown.body);
  }
  const adopted = await api(update, "PATCH", `/v1/tasks/${own.body.id}`, {
    auth: b.auth,
    body: { parent_id: mine.task.id },
  });
  expect(adopted.status).toBe(404);
  for (const path of [
    `/v1/tasks?list_id=${mine.list.id}`,
    `/v1/tasks?parent_id=${mine.task.id}`,
    `/v1/tasks?q=${encodeURIComponent(`list:"${mine.list.name}"`)}`,
  ]) {
    const res = await api(query, "GET", path, { auth: b.auth });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  }
  expect(await stateOfA()).toBe(before);
});

test("the SSE stream's source (live updates after an id) carries only the reader's own updates, tasks' and lists', from any resume point", async () => {
  // web/app/routes/live.ts streams liveUpdatesSince(user, lastId); the end-to-end stream check belongs
  // with the web suite (tests/web), which runs the web app and a browser.
  const ctx = { actor: { type: "system", id: "isolation" }, now: new Date() } as const;
  const updateOf = (task: TaskDto) =>
    taskEventMessages("created", task, ctx).find((m) => m.topic === "task-updates")!.data as TaskUpdate;
  const listUpdateOf = (list: ListDto) =>
    listEventMessages("list_renamed", list, ctx).find((m) => m.topic === "task-updates")!.data as ListUpdate;
  const bTask = { ...mine.task, id: randomUUID(), user_id: b.id, title: "B's own" };
  const bList = { ...mine.list, id: randomUUID(), user_id: b.id, name: "B's list" };
  const aIds: bigint[] = [];
  for (let i = 0; i < 8; i++) {
    const owner = i % 2 === 0 ? a.id : b.id;
    const update =
      i < 6
        ? updateOf(owner === a.id ? { ...mine.task, title: `A secret ${i}` } : { ...bTask, title: `B ${i}` })
        : listUpdateOf(owner === a.id ? { ...mine.list, name: `A secret list ${i}` } : bList);
    expect(await recordLiveUpdate(db, randomUUID(), update)).toBe(true);
    if (owner === a.id) aIds.push(await latestLiveUpdateId(db, a.id));
  }
  for (const resumeAt of [0n, ...aIds]) {
    const rows = await liveUpdatesSince(db, b.id, resumeAt);
    expect(
      rows.every(
        (r) =>
          r.payload.user_id === b.id &&
          (isTaskUpdate(r.payload) ? r.payload.task?.id === bTask.id : r.payload.list.id === bList.id),
      ),
    ).toBe(true);
    expect(JSON.stringify(rows, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(
      "A secret",
    );
  }
  expect(await liveUpdatesSince(db, b.id, 0n)).toHaveLength(4);
  expect(await liveUpdatesSince(db, a.id, 0n)).toHaveLength(4);
});
