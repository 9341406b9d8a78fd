// Property-based fuzzing of every function's HTTP surface with malformed input (fast-check):
// every route of every function, every consumer route (CloudEvents in structured and binary mode,
// Dapr and Knative style) and the job callback route. Each function is served in-process over real
// HTTP on the worker's database. Properties: never a 5xx, the function still answers /healthz, and a
// rejected request (4xx, or a DROP for an event) writes no row anywhere.
//
// Seeded and reproducible: FUZZ_SEED=<n> reruns with another seed; a failure prints the seed and the
// shrunk counterexample (fast-check's `seed` and `path`).
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { encodeCursor } from "#core/task-query.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import type { BaseEnv } from "#platform/env.ts";
import type { AnyRouteDef } from "#platform/host.ts";
import { taskEventMessages } from "#tasks/commands.ts";
import {
  api,
  createTestUser,
  FROM_SIDECAR,
  fromKnative,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { startAssistantAlone } from "#testing/assistant.ts";
import { workerDb } from "#testing/worker-db.ts";
import { FUNCTIONS } from "./functions.ts";
import {
  arrivesIntact,
  POISON,
  POISONED_INSTANTS,
  POISONED_TEXT,
  poisonedRequestArb,
  poisonedRequests,
  poisonedVariants,
  requestUrl,
  type PoisonedRequest,
  type RouteRequest,
} from "./poison.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const ROUTE_RUNS = 80;
const EVENT_RUNS = 120;
const JOB_RUNS = 300;
const ADMIN = "fuzz-admin-token-0123456789abcdef";

let db: Db;
let user: TestUser;
let task: TaskDto;
let listId: string;
const running = new Map<string, StartedFunction<BaseEnv>>();
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await workerDb();
  user = await createTestUser(db);
  for (const def of FUNCTIONS) {
    const env = {
      ADMIN_TOKEN: ADMIN,
      TOKEN_RATE_LIMIT_PER_MINUTE: "1000000",
      DB_POOL_SIZE: "2",
      // No sidecar: the relay keeps events in the outbox (nothing here may depend on publishing).
      OUTBOX_SWEEP_INTERVAL_MS: "60000",
    };
    if (def.name === "assistant") {
      // Its conversations are Dapr state: it needs its sidecar (and no other app).
      const pair = await startAssistantAlone(env);
      closers.push(pair.close);
      running.set(def.name, pair.fn);
    } else running.set(def.name, await startFunction(def, env));
  }
  const created = await api(running.get("create-task")!.url, "POST", "/v1/tasks", {
    auth: user.auth,
    body: { title: "Fuzz target", due_at: "2030-01-01T09:00:00Z", tags: ["fuzz"] },
  });
  expect(created.status).toBe(201);
  task = created.body as TaskDto;
  const list = await api(running.get("create-task")!.url, "POST", "/v1/lists", {
    auth: user.auth,
    body: { name: "Fuzz list" },
  });
  expect(list.status).toBe(201);
  listId = list.body.id as string;
}, 60_000);

afterAll(async () => {
  await Promise.all([...running.values()].map((fn) => fn.close()));
  await Promise.all(closers.map((close) => close()));
});

/** Row counts of every table a request or an event could write to. */
async function snapshot(): Promise<string> {
  const [row] = await db.$queryRaw<Record<string, bigint>[]>`
    SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM api_tokens) AS api_tokens,
           (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM task_tags) AS task_tags,
           (SELECT count(*) FROM task_recurrence) AS task_recurrence,
           (SELECT count(*) FROM task_reminders) AS task_reminders,
           (SELECT count(*) FROM reminder_jobs) AS reminder_jobs,
           (SELECT count(*) FROM push_subscriptions) AS push_subscriptions,
           (SELECT count(*) FROM notification_channels) AS notification_channels,
           (SELECT count(*) FROM notification_deliveries) AS notification_deliveries,
           (SELECT count(*) FROM delivery_attempts) AS delivery_attempts,
           (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM processed_events) AS processed_events,
           (SELECT count(*) FROM audit_log) AS audit_log, (SELECT count(*) FROM task_lists) AS task_lists, (SELECT count(*) FROM dead_letters) AS dead_letters,
           (SELECT count(*) FROM live_updates) AS live_updates, (SELECT count(*) FROM saved_views) AS saved_views`;
  return JSON.stringify(row, (_key, value) => (typeof value === "bigint" ? Number(value) : value));
}

// ───── generators ─────

const text = fc.string({ unit: "grapheme", maxLength: 40 });
const junkScalar = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(""),
  fc.constant("x".repeat(5_000)),
  fc.constantFrom(
    "9999-99-99T99:99:99Z",
    "2026-02-30T10:00:00Z",
    "NaN",
    "-1",
    "1e309",
    "__proto__",
    "<script>",
  ),
  fc.constantFrom("'; DROP TABLE tasks; --", "\u0000", "\u202e", "😀".repeat(300), "\ud800"),
  // NUL, lone surrogates, and instants outside what PostgreSQL and Orbit store (poison.ts).
  fc.constantFrom(...POISON),
);
const junkValue = fc.oneof(
  { depthSize: "small" },
  junkScalar,
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(junkScalar, { maxLength: 5 }),
  fc.dictionary(text, junkScalar, { maxKeys: 5 }),
);

/** Top-level field names a route's body schema declares (zod object shapes), plus a few others. */
function bodyFields(r: AnyRouteDef): string[] {
  const shape = (r.body as { shape?: Record<string, unknown> } | undefined)?.shape;
  return [...Object.keys(shape ?? {}), "id", "user_id", "version"];
}

/** A body: valid-looking field names with values of the wrong types, or anything at all. */
function bodyArb(r: AnyRouteDef) {
  const fields = bodyFields(r);
  return fc.oneof(
    fc.dictionary(fc.constantFrom(...fields), junkValue, { maxKeys: fields.length }).map(JSON.stringify),
    junkValue.map((v) => JSON.stringify(v)),
    fc.constantFrom(
      "",
      "{",
      '{"title":',
      "[1,2",
      "nul",
      '{"title":"a",}',
      "\u0000",
      "{'title':'single quotes'}",
      `{"title":"${"x".repeat(70_000)}"}`,
      `${"[".repeat(5_000)}${"]".repeat(5_000)}`,
    ),
    text,
  );
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/merge-patch+json",
  "application/json; charset=latin1",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "",
];

function pathParamArb() {
  return fc.oneof(
    fc.constant(() => task.id),
    fc.uuid().map((v) => () => v),
    text.filter((s) => s.length > 0).map((v) => () => v),
    fc
      .constantFrom(
        "0",
        "-1",
        "1.5",
        "null",
        "..",
        "%",
        "x".repeat(3_000),
        "00000000-0000-0000-0000-00000000000g",
      )
      .map((v) => () => v),
  );
}

const queryArb = fc.array(
  fc.tuple(
    fc.oneof(
      text,
      fc.constantFrom("status", "q", "limit", "cursor", "tag", "sort", "due_before", "topic", "before"),
    ),
    fc.oneof(text, junkScalar.map(String)),
  ),
  {
    maxLength: 5,
  },
);

/** Lone surrogates become U+FFFD: a URL can only carry well-formed text. */
const wellFormed = (value: string) =>
  value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

function requestPath(template: string, params: (() => string)[], query: [string, string][]): string {
  let i = 0;
  const path = template.replace(/:[A-Za-z_]+/g, () => encodeURIComponent(wellFormed(params[i++]!())));
  const search = new URLSearchParams(query.map(([k, v]) => [wellFormed(k), wellFormed(v)])).toString();
  return search ? `${path}?${search}` : path;
}

async function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path, {
    method,
    headers,
    body: method === "GET" ? undefined : body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

async function stillHealthy(name: string): Promise<void> {
  const res = await fetch(`${running.get(name)!.url}/healthz`);
  expect(res.status).toBe(200);
}

const stats = { accepted: 0, rejected: 0 };

// ───── routes ─────

for (const def of FUNCTIONS.filter((d) => (d.routes ?? []).length > 0)) {
  test(`${def.name}: every route survives malformed input: no 5xx, no row written when rejected`, async () => {
    const base = running.get(def.name)!.url;
    for (const r of def.routes!) {
      const paramCount = (r.path.match(/:[A-Za-z_]+/g) ?? []).length;
      await fc.assert(
        fc.asyncProperty(
          fc.array(pathParamArb(), { minLength: paramCount, maxLength: paramCount }),
          queryArb,
          bodyArb(r),
          fc.constantFrom(...CONTENT_TYPES),
          async (params, query, body, contentType) => {
            const path = requestPath(r.path, params, query);
            const headers: Record<string, string> = {
              authorization: r.auth === "admin" ? `Bearer ${ADMIN}` : user.auth,
              accept: "application/json, text/event-stream",
            };
            if (contentType) headers["content-type"] = contentType;
            const before = await snapshot();
            const res = await send(base, r.method, path, headers, body);
            expect(res.status, `${r.method} ${path} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
            if (res.status >= 400) {
              stats.rejected += 1;
              expect(await snapshot(), `${r.method} ${path} (${res.status}) wrote a row`).toBe(before);
            } else {
              stats.accepted += 1;
            }
          },
        ),
        { numRuns: ROUTE_RUNS, seed: SEED },
      );
    }
    await stillHealthy(def.name);
  }, 120_000);
}

// ───── poisoned values in every command and query route ─────

/** A valid request of every command and query route; poison.ts poisons each of its strings. */
function routeRequests(): RouteRequest[] {
  const id = task.id;
  const taskBody = {
    title: "Poison target",
    description: "Milk, eggs",
    due_at: "2030-01-01T09:00:00Z",
    time_zone: "Europe/Berlin",
    tags: ["fuzz", "home"],
    reminders: [{ remind_at: "2029-12-31T09:00:00+01:00" }],
    recurrence: { pattern: "weekly", anchor: "completion", ends_at: "2031-01-01T00:00:00Z" },
  };
  const titleCursor = encodeCursor(
    { sort: "title", key: "fuzz target", due: "infinity", created: "2030-01-01T00:00:00.000Z", id },
    "asc",
    null,
  );
  const activityCursor = Buffer.from(
    JSON.stringify({ v: 1, k: "user", t: "2030-01-01T00:00:00.000Z", i: "1" }),
  ).toString("base64url");
  const tool = (name: string, args: Record<string, unknown>) => ({
    fn: "mcp",
    method: "POST" as const,
    path: "/mcp",
    body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } },
  });
  return [
    { fn: "create-task", method: "POST", path: "/v1/tasks", body: taskBody },
    { fn: "assistant", method: "POST", path: "/v1/chat", body: { message: "what's due today?" } },
    { fn: "update-task", method: "PATCH", path: "/v1/tasks/:id", params: { id }, body: taskBody },
    {
      fn: "complete-task",
      method: "POST",
      path: "/v1/tasks/:id/complete",
      params: { id },
      body: { subtasks: "complete" },
    },
    {
      fn: "create-task",
      method: "POST",
      path: "/v1/tasks",
      body: { title: "Sub", list_id: listId, parent_id: id },
    },
    {
      fn: "update-task",
      method: "PATCH",
      path: "/v1/tasks/:id",
      params: { id },
      body: { list_id: listId, parent_id: null },
    },
    { fn: "create-task", method: "POST", path: "/v1/lists", body: { name: "Poisoned list", color: "teal" } },
    {
      fn: "update-task",
      method: "PATCH",
      path: "/v1/lists/:id",
      params: { id: listId },
      body: { name: "Renamed list", color: "pink", archived: false },
    },
    {
      fn: "update-task",
      method: "PATCH",
      path: "/v1/lists/:id",
      params: { id: listId },
      // After the Inbox (the fuzz task's list): the first place a list can take.
      body: { after: task.list_id },
    },
    { fn: "query-tasks", method: "GET", path: "/v1/lists", query: { status: "all" } },
    { fn: "query-tasks", method: "GET", path: "/v1/lists/:id", params: { id: listId } },
    {
      fn: "query-tasks",
      method: "GET",
      path: "/v1/tasks",
      query: { q: 'list:"Fuzz list" milk', list_id: listId, parent_id: id, top_level: "true" },
    },
    { fn: "complete-task", method: "POST", path: "/v1/tasks/:id/reopen", params: { id }, body: {} },
    {
      fn: "delete-task",
      method: "DELETE",
      path: "/v1/tasks/:id",
      params: { id },
      query: { scope: "occurrence" },
    },
    {
      fn: "query-tasks",
      method: "GET",
      path: "/v1/tasks",
      query: {
        q: "milk",
        tags: "fuzz,home",
        due_from: "2029-01-01T00:00:00Z",
        due_to: "2031-01-01T00:00:00+01:00",
      },
    },
    { fn: "query-tasks", method: "GET", path: "/v1/tasks", query: { sort: "title", cursor: titleCursor } },
    { fn: "query-tasks", method: "GET", path: "/v1/tasks/:id", params: { id } },
    { fn: "audit-log", method: "GET", path: "/v1/activity", query: { limit: "5", cursor: activityCursor } },
    { fn: "audit-log", method: "GET", path: "/v1/tasks/:id/activity", params: { id }, query: { limit: "5" } },
    { fn: "notifications", method: "GET", path: "/v1/tasks/:id/reminders", params: { id } },
    {
      fn: "notifications",
      method: "POST",
      path: "/v1/tasks/:id/deliveries/:delivery_id/retry",
      // No such delivery: accepted as far as its input goes (404), so only a poisoned id is a 400.
      params: { id, delivery_id: randomUUID() },
      body: {},
    },
    {
      fn: "notifications",
      method: "PUT",
      path: "/v1/channels/:kind",
      params: { kind: "webhook" },
      body: {
        enabled: false,
        webhook_url: "https://hooks.example.com/orbit",
        webhook_secret: "0123456789abcdef0123",
      },
    },
    {
      fn: "notifications",
      method: "PUT",
      path: "/v1/channels/:kind",
      params: { kind: "email" },
      body: { enabled: false, email_address: "fuzz@example.com" },
    },
    tool("add_tasks", { tasks: [taskBody] }),
    tool("update_tasks", {
      updates: [{ id, changes: { title: "Renamed", due_at: "2030-02-01T09:00:00Z" } }],
    }),
    tool("reschedule_task", { id, due_at: "2030-03-01T09:00:00Z" }),
    tool("find_tasks", { q: "milk", tags: ["fuzz"], due_from: "2029-01-01T00:00:00Z", cursor: titleCursor }),
    tool("find_activity", { task_id: id, cursor: activityCursor }),
  ];
}

/**
 * Cursors are opaque, but a client can forge one: keys inside them, poisoned, reach the SQL as any
 * parameter would (query-tasks' due and title keys, audit-log's instant).
 */
function forgedCursorRequests(): PoisonedRequest[] {
  const encode = (payload: object) => Buffer.from(JSON.stringify(payload)).toString("base64url");
  const id = task.id;
  return [
    ...POISONED_TEXT.map((value) => ({
      fn: "query-tasks",
      method: "GET" as const,
      path: "/v1/tasks",
      query: { sort: "title", cursor: encode({ v: 1, s: "title", o: "asc", k: value, i: id }) },
      at: ["query", "cursor"],
      value,
    })),
    ...POISONED_INSTANTS.map((value) => ({
      fn: "query-tasks",
      method: "GET" as const,
      path: "/v1/tasks",
      query: { sort: "created", cursor: encode({ v: 1, s: "created", o: "desc", k: value, i: id }) },
      at: ["query", "cursor"],
      value,
    })),
    ...POISONED_INSTANTS.map((value) => ({
      fn: "audit-log",
      method: "GET" as const,
      path: "/v1/activity",
      query: { cursor: encode({ v: 1, k: "user", t: value, i: "1" }) },
      at: ["query", "cursor"],
      value,
    })),
  ];
}

/** Whether a field error's JSON Pointer names the poisoned member (or the item that holds it). */
function names(error: { pointer: string }, at: (string | number)[]): boolean {
  const pointer = `/${at.join("/")}`;
  return (
    error.pointer.split("/").length > 2 &&
    (pointer === error.pointer || pointer.startsWith(`${error.pointer}/`))
  );
}

const POISON_RUNS = 150;

for (const name of [
  "create-task",
  "update-task",
  "complete-task",
  "delete-task",
  "query-tasks",
  "audit-log",
  "notifications",
  "mcp",
  "assistant",
]) {
  test(`${name}: a NUL, a lone surrogate or an instant out of range in any field is a 4xx naming it, never a 5xx or a row`, async () => {
    const requests = [
      ...poisonedRequests(routeRequests().filter((r) => r.fn === name)),
      ...forgedCursorRequests().filter((r) => r.fn === name),
    ];
    expect(requests.length).toBeGreaterThan(0);
    const base = running.get(name)!.url;
    const seen = new Set<PoisonedRequest>();
    await fc.assert(
      fc.asyncProperty(poisonedRequestArb(requests), async (request) => {
        seen.add(request);
        const where = `${request.method} ${request.path} ${request.at.join(".")}=${JSON.stringify(request.value)}`;
        const before = await snapshot();
        const res = await send(
          base,
          request.method,
          requestUrl(request),
          {
            authorization: user.auth,
            accept: "application/json, text/event-stream",
            ...(request.body === undefined ? {} : { "content-type": "application/json" }),
          },
          request.body === undefined ? undefined : JSON.stringify(request.body),
        );
        expect(res.status, `${where} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
        if (name === "mcp") {
          // A tool argument: a tool error that names it. (A poisoned envelope is a JSON-RPC error.)
          if (request.at[2] === "arguments") {
            expect(res.status, `${where} → ${res.text.slice(0, 300)}`).toBe(200);
            const reply = JSON.parse(res.text) as {
              result?: { isError: boolean; content: { text: string }[] };
            };
            expect(reply.result?.isError, `${where} → ${res.text.slice(0, 300)}`).toBe(true);
            // "Invalid arguments: q: …", "… Invalid arguments for tool add_tasks: … at tasks[0].title".
            const field = request.at.filter((key) => typeof key === "string").at(-1) as string;
            expect(reply.result!.content[0]!.text, where).toMatch(
              new RegExp(`Invalid arguments.*(^|[^\\w])${field}([^\\w]|$)`, "s"),
            );
          }
        } else if (arrivesIntact(request)) {
          expect(res.status, `${where} → ${res.text.slice(0, 300)}`).toBe(400);
          const problem = JSON.parse(res.text) as { errors: { pointer: string }[] };
          expect(
            problem.errors.some((error) => names(error, request.at)),
            `${where} → ${res.text.slice(0, 300)}`,
          ).toBe(true);
        }
        if (res.status >= 400 || name === "mcp")
          expect(await snapshot(), `${where} wrote a row`).toBe(before);
      }),
      // Every poisoned request once (the examples run first), then random ones again.
      { numRuns: requests.length + POISON_RUNS, seed: SEED, examples: requests.map((request) => [request]) },
    );
    expect(seen.size).toBe(requests.length);
    await stillHealthy(name);
  }, 120_000);
}

// ───── consumers ─────

function validTaskEvent(): { type: string; data: Record<string, unknown> } {
  const now = new Date();
  const dto: TaskDto = { ...task, id: randomUUID(), title: "Fuzzed event", version: 1 };
  const [message] = taskEventMessages("completed", dto, { actor: { type: "system", id: "fuzz" }, now });
  return { type: message!.type, data: message!.data as Record<string, unknown> };
}

/** Event data: valid task event data with one member replaced by junk, or junk altogether. */
const eventDataArb = fc.oneof(
  junkValue,
  fc.tuple(fc.nat(), junkValue).map(([pick, junk]) => {
    const { data } = validTaskEvent();
    const keys = Object.keys(data);
    return { ...data, [keys[pick % keys.length]!]: junk };
  }),
  fc.tuple(fc.nat(), junkValue).map(([pick, junk]) => {
    const { data } = validTaskEvent();
    const inner = data.task_data as Record<string, unknown>;
    const keys = Object.keys(inner);
    return { ...data, task_data: { ...inner, [keys[pick % keys.length]!]: junk } };
  }),
);

const attributesArb = fc.record(
  {
    specversion: fc.oneof(fc.constant("1.0"), junkScalar),
    id: fc.oneof(fc.uuid(), junkScalar),
    source: fc.oneof(fc.constant("fuzz"), junkScalar),
    type: fc.oneof(
      fc.constantFrom("orbit.task.completed", "orbit.task.created", "orbit.reminder"),
      junkScalar,
    ),
    datacontenttype: fc.oneof(fc.constant("application/json"), text),
    data_base64: fc.oneof(fc.base64String(), text),
  },
  { requiredKeys: [] },
);

const deliveryArb = fc.oneof(
  // Structured mode: the envelope as the body.
  fc.record({
    mode: fc.constant("structured" as const),
    attributes: attributesArb,
    data: eventDataArb,
    withData: fc.boolean(),
    rawBody: fc.option(fc.constantFrom("", "{", "[]", "null", '"event"', "{}"), { nil: undefined }),
  }),
  // Binary mode: ce-* headers, the data as the body.
  fc.record({
    mode: fc.constant("binary" as const),
    attributes: attributesArb,
    data: eventDataArb,
    withData: fc.boolean(),
    rawBody: fc.option(fc.constantFrom("", "{", "not json", "\u0000"), { nil: undefined }),
  }),
);

const headerSafe = (value: unknown) =>
  String(typeof value === "string" ? value : JSON.stringify(value)).replace(/[^\x20-\x7e]/g, "?");

const consumers = FUNCTIONS.flatMap((def) => (def.subscriptions ?? []).map((sub) => ({ def, sub })));

for (const { def, sub } of consumers) {
  test(`${def.name} ${sub.path}: malformed CloudEvents answer SUCCESS or DROP, never a crash, no row for invalid data`, async () => {
    const base = running.get(def.name)!.url;
    await fc.assert(
      fc.asyncProperty(deliveryArb, fc.boolean(), async (delivery, fromDapr) => {
        // Authenticated as its real senders are (the sidecar's app token, a Knative source's OIDC
        // token): what is fuzzed here is the content, tests/security/delivery-auth.e2e.test.ts the sender.
        const headers: Record<string, string> = fromDapr ? { ...FROM_SIDECAR } : await fromKnative();
        if (fromDapr) headers.pubsubname = "pubsub";
        let body: string;
        if (delivery.mode === "structured") {
          headers["content-type"] = "application/cloudevents+json";
          const envelope: Record<string, unknown> = { ...delivery.attributes, topic: sub.topic };
          if (delivery.withData) envelope.data = delivery.data;
          body = delivery.rawBody ?? JSON.stringify(envelope);
        } else {
          for (const [key, value] of Object.entries(delivery.attributes))
            headers[`ce-${key}`] = headerSafe(value);
          headers["content-type"] = delivery.withData ? "application/json" : "text/plain";
          body = delivery.rawBody ?? JSON.stringify(delivery.data);
        }
        const before = await snapshot();
        const res = await send(base, "POST", sub.path, headers, body);
        const verdict = fromDapr
          ? res.status === 200
            ? (JSON.parse(res.text) as { status: string }).status
            : `HTTP ${res.status}`
          : res.status === 204
            ? "SUCCESS"
            : res.status === 422
              ? "DROP"
              : res.status >= 400 && res.status < 500
                ? "REJECTED"
                : `HTTP ${res.status}`;
        expect(["SUCCESS", "DROP", "REJECTED"], `${verdict}: ${res.text.slice(0, 300)}`).toContain(verdict);
        if (verdict !== "SUCCESS") {
          expect(await snapshot(), `a ${verdict} wrote a row`).toBe(before);
        } else if (
          !sub.topic.endsWith("-dlq") &&
          delivery.mode === "structured" &&
          delivery.withData &&
          delivery.rawBody === undefined
        ) {
          // Accepted data must be the topic's data (the consumer validated it, not guessed).
          const parsed = sub.data.safeParse(delivery.data);
          expect(parsed.success, `SUCCESS for data the schema rejects: ${body.slice(0, 300)}`).toBe(true);
        }
      }),
      { numRuns: EVENT_RUNS, seed: SEED },
    );
    await stillHealthy(def.name);
  }, 120_000);
}

// Every consumer of task-events and reminders, each member of a valid event poisoned in turn
// (poison.ts): the topic's schema refuses it, so it is a DROP (to the dead-letter topic), never a
// RETRY that would fail the same way at every redelivery, and never a row.
function validEvents(topic: string): { type: string; data: unknown }[] {
  if (topic === "reminders")
    return [
      {
        type: "orbit.reminder.due",
        data: {
          task_id: task.id,
          user_id: user.id,
          title: "Poisoned reminder",
          due_at: "2030-01-01T09:00:00.000Z",
          remind_at: "2030-01-01T08:45:00.000Z",
          job_name: `reminder-${task.id}-o15`,
        },
      },
    ];
  return (["created", "completed"] as const).map((type) => {
    const dto: TaskDto = { ...task, id: randomUUID(), title: "Poisoned event", version: 1 };
    const [message] = taskEventMessages(
      type,
      dto,
      { actor: { type: "user", id: user.id }, now: new Date() },
      {
        title: { before: "Before", after: "Poisoned event" },
      },
    );
    return { type: message!.type, data: message!.data };
  });
}

for (const { def, sub } of consumers.filter(({ sub }) => ["task-events", "reminders"].includes(sub.topic))) {
  test(`${def.name} ${sub.path}: an event with a NUL, a lone surrogate or an instant out of range in any member is a DROP`, async () => {
    const base = running.get(def.name)!.url;
    const variants = validEvents(sub.topic).flatMap((event) =>
      poisonedVariants(event.data).map((variant) => ({ type: event.type, ...variant })),
    );
    const seen = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...variants), async (variant) => {
        seen.add(variant);
        const before = await snapshot();
        const res = await send(
          base,
          "POST",
          sub.path,
          { ...FROM_SIDECAR, pubsubname: "pubsub", "content-type": "application/cloudevents+json" },
          JSON.stringify({
            specversion: "1.0",
            id: randomUUID(),
            source: "fuzz",
            type: variant.type,
            topic: sub.topic,
            datacontenttype: "application/json",
            data: variant.request,
          }),
        );
        const where = `${variant.path.join(".")}=${JSON.stringify(variant.value)}`;
        expect({ where, status: res.status, body: res.text }).toEqual({
          where,
          status: 200,
          body: JSON.stringify({ status: "DROP" }),
        });
        expect(await snapshot(), `${where} wrote a row`).toBe(before);
      }),
      { numRuns: variants.length, seed: SEED, examples: variants.map((variant) => [variant]) },
    );
    expect(seen.size).toBe(variants.length);
    await stillHealthy(def.name);
  }, 120_000);
}

// ───── the job callback route ─────

// POST /job/:name (on-reminder-fired). The scheduler treats a non-2xx answer as a failed trigger and
// applies its failure policy (retries), so junk must never look like a failure worth retrying:
//   200: handled or ignored (an unknown reminder job, a stale or repeated trigger);
//   404: no handler for the name (counts as delivered: it must not be retried forever);
//   400/413/415: a body the host could not read (malformed JSON, too large).
// A 5xx is only for real failures a retry can fix (503: the database or the sidecar unreachable),
// which junk input never is.
const JOB_ALLOWED = [200, 400, 404, 413, 415];

test("on-reminder-fired POST /job/:name: junk names and bodies never 5xx, never a row", async () => {
  const base = running.get("on-reminder-fired")!.url;
  const nameArb = fc.oneof(
    text.filter((s) => s.length > 0),
    fc.uuid().map((id) => `reminder-${id}-o0`),
    fc
      .tuple(fc.constant(task.id), fc.constantFrom("o", "a", "x"), fc.integer())
      .map(([id, k, n]) => `reminder-${id}-${k}${n}`),
    fc.constantFrom("reminder-", "reminder-not-a-uuid-o1", "x".repeat(2_000), "..", "%2e%2e"),
  );
  const bodyArb = fc.oneof(
    junkValue.map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          task_id: fc.oneof(fc.uuid(), junkScalar),
          job_name: junkScalar,
          remind_at: junkScalar,
          due_at: junkScalar,
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    fc.constantFrom("", "{", "not json", `"${"x".repeat(70_000)}"`),
  );
  await fc.assert(
    fc.asyncProperty(
      nameArb,
      bodyArb,
      fc.constantFrom("application/json", "text/plain", ""),
      async (name, body, contentType) => {
        const before = await snapshot();
        const headers: Record<string, string> = {
          ...FROM_SIDECAR,
          ...(contentType ? { "content-type": contentType } : {}),
        };
        const res = await send(base, "POST", `/job/${encodeURIComponent(wellFormed(name))}`, headers, body);
        expect(JOB_ALLOWED, `${name} → ${res.status} ${res.text.slice(0, 300)}`).toContain(res.status);
        expect(await snapshot()).toBe(before);
      },
    ),
    { numRuns: JOB_RUNS, seed: SEED },
  );
  await stillHealthy("on-reminder-fired");
}, 120_000);

test("the fuzzed functions are every function in functions/", () => {
  const folders = readdirSync(join(REPO_ROOT, "functions"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  expect(FUNCTIONS.map((f) => f.name).sort()).toEqual(folders.sort());
});

test("the fuzz runs exercised both sides: requests were rejected and some were accepted", () => {
  expect(stats.rejected).toBeGreaterThan(500);
  expect(stats.accepted).toBeGreaterThan(0);
});
