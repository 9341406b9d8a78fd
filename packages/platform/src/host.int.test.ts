import { createServer } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { z } from "zod";
import {
  api,
  createTestUser,
  FROM_SIDECAR,
  fromKnative,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import type { BaseEnv } from "./env.ts";
import { route, subscription, type FunctionDef } from "./host.ts";
import { newSessionSecret } from "./tokens.ts";

// What the inline function's handlers saw, for assertions.
const handled: { subscription: unknown[]; jobs: { name: string; data: unknown }[] } = {
  subscription: [],
  jobs: [],
};

const probe: FunctionDef = {
  name: "host-probe",
  routes: [
    route({
      method: "GET",
      path: "/v1/things",
      auth: "read",
      async handle(request) {
        return { body: { user_id: request.principal?.userId, request_id: request.requestId } };
      },
    }),
    route({
      method: "POST",
      path: "/v1/things",
      auth: "write",
      body: z.strictObject({ name: z.string() }),
      async handle(request) {
        return { status: 201, body: request.body };
      },
    }),
    route({
      method: "PUT",
      path: "/v1/things/:id",
      auth: "none",
      params: z.object({ id: z.uuid() }),
      async handle(request) {
        return { body: request.params };
      },
    }),
    route({
      method: "POST",
      path: "/v1/tx",
      auth: "none",
      async handle(_request, ctx) {
        await ctx.db.$transaction(async (tx) => tx.$queryRaw`SELECT 1`);
        return { status: 204 };
      },
    }),
    route({
      method: "GET",
      path: "/v1/boom",
      auth: "none",
      async handle() {
        throw new Error("secret internals at /srv/app.ts:12");
      },
    }),
  ],
  subscriptions: [
    subscription({
      topic: "things",
      path: "/events/things",
      deadLetterTopic: "things-dlq",
      data: z.object({ n: z.number() }),
      async handle(event) {
        handled.subscription.push(event.data);
        if (event.data.n === 0) throw new Error("handler failed");
        if (event.data.n < 0) return "DROP";
        if (event.data.n === 1) return "RETRY";
        return undefined;
      },
    }),
  ],
  jobs: [
    {
      prefix: "reminder-",
      async handle(name, data) {
        handled.jobs.push({ name, data });
        if (name.endsWith("-fail")) throw new Error("job failed");
      },
    },
  ],
};

let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let user: TestUser;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function cloudEvent(data: unknown) {
  return {
    specversion: "1.0",
    id: crypto.randomUUID(),
    source: "create-task",
    type: "orbit.thing",
    datacontenttype: "application/json",
    topic: "things",
    pubsubname: "pubsub",
    data,
  };
}

function binaryHeaders(id = crypto.randomUUID()) {
  return {
    "ce-specversion": "1.0",
    "ce-id": id,
    "ce-source": "create-task",
    "ce-type": "orbit.thing",
  };
}

beforeAll(async () => {
  fn = await startFunction(probe);
  user = await createTestUser(await workerDb());
});
afterAll(async () => {
  await fn.close();
});

test("/healthz answers 200 without touching anything", async () => {
  const res = await api(fn.url, "GET", "/healthz");
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ status: "ok", service: "host-probe" });
});

test("/readyz answers 200 when the database answers", async () => {
  const res = await api(fn.url, "GET", "/readyz");
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ status: "ready", service: "host-probe" });
});

test("with the database unreachable: /readyz is 503 at once and a route is 503 with Retry-After", async () => {
  const port = await closedPort();
  const down = await startFunction(probe, { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/orbit` });
  try {
    const started = Date.now();
    const ready = await api(down.url, "GET", "/readyz");
    expect(ready.status).toBe(503);
    // At once: well within the pool's 5 s connection timeout (the bounds leave room for a busy machine).
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(ready.body.status).toBe("database unreachable");

    const res = await api(down.url, "POST", "/v1/things", { auth: user.auth, body: { name: "x" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(res.body).toMatchObject({ status: 503, title: "Service unavailable" });
    // Also when the first query of the request is a transaction (no token lookup before it).
    const tx = await api(down.url, "POST", "/v1/tx");
    expect(tx.status).toBe(503);
    expect(tx.headers.get("retry-after")).toBe("2");
    expect(Date.now() - started).toBeLessThan(8_000);

    // Liveness does not depend on the database: the process is fine, only not ready.
    expect((await api(down.url, "GET", "/healthz")).status).toBe(200);
  } finally {
    await down.close();
  }
});

test("an unknown route is a 404 problem", async () => {
  const res = await api(fn.url, "GET", "/v2/nothing");
  expect(res.status).toBe(404);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 404, instance: "/v2/nothing" });
});

test("a known path with the wrong method is a 405 naming the allowed methods", async () => {
  const res = await api(fn.url, "DELETE", "/v1/things");
  expect(res.status).toBe(405);
  expect(res.headers.get("allow")).toBe("GET, POST");
  expect(res.body).toMatchObject({ status: 405 });
  const withParam = await api(fn.url, "GET", `/v1/things/${crypto.randomUUID()}`);
  expect(withParam.status).toBe(405);
  expect(withParam.headers.get("allow")).toBe("PUT");
});

test("a thrown error is a 500 problem that shows nothing of the error", async () => {
  const res = await api(fn.url, "GET", "/v1/boom");
  expect(res.status).toBe(500);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 500, title: "Internal error" });
  expect(JSON.stringify(res.body)).not.toMatch(/secret internals|app\.ts|at /);
});

test("the request id is echoed, or made up when the caller sends none", async () => {
  const given = await api(fn.url, "GET", "/v1/things", {
    auth: user.auth,
    headers: { "x-request-id": "req-abc-123" },
  });
  expect(given.headers.get("x-request-id")).toBe("req-abc-123");
  expect(given.body.request_id).toBe("req-abc-123");
  const made = await api(fn.url, "GET", "/healthz");
  expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
});

test("no token is a 401 with WWW-Authenticate; a malformed header too", async () => {
  const none = await api(fn.url, "GET", "/v1/things");
  expect(none.status).toBe(401);
  expect(none.headers.get("www-authenticate")).toBe('Bearer realm="orbit"');
  const basic = await api(fn.url, "GET", "/v1/things", { auth: "Basic dXNlcjpwdw==" });
  expect(basic.status).toBe(401);
  const unknown = await api(fn.url, "GET", "/v1/things", { auth: "Bearer orb_not-a-real-token" });
  expect(unknown.status).toBe(401);
  expect(unknown.headers.get("www-authenticate")).toBe('Bearer realm="orbit"');
});

test("a read-only token may read but not write (403)", async () => {
  const reader = await createTestUser(await workerDb(), { scope: "read" });
  expect((await api(fn.url, "GET", "/v1/things", { auth: reader.auth })).status).toBe(200);
  const res = await api(fn.url, "POST", "/v1/things", { auth: reader.auth, body: { name: "x" } });
  expect(res.status).toBe(403);
  expect(res.body).toMatchObject({ status: 403 });
});

test("the rate limit answers 429 with Retry-After once a token used up its minute", async () => {
  const limited = await startFunction(probe, { TOKEN_RATE_LIMIT_PER_MINUTE: "3" });
  try {
    // A fresh token: the count is shared by every instance of the function, this file's other one too.
    const [busy, other] = [await createTestUser(await workerDb()), await createTestUser(await workerDb())];
    for (let i = 0; i < 3; i++) {
      expect((await api(limited.url, "GET", "/v1/things", { auth: busy.auth })).status).toBe(200);
    }
    const res = await api(limited.url, "GET", "/v1/things", { auth: busy.auth });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.body).toMatchObject({ status: 429 });
    // The limit is per token: another caller is unaffected.
    expect((await api(limited.url, "GET", "/v1/things", { auth: other.auth })).status).toBe(200);
  } finally {
    await limited.close();
  }
});

test("two instances of a function share one rate limit per token; another function counts its own", async () => {
  const limits = { TOKEN_RATE_LIMIT_PER_MINUTE: "4" };
  const [a, b] = [await startFunction(probe, limits), await startFunction(probe, limits)];
  const elsewhere = await startFunction({ ...probe, name: "host-probe-other" }, limits);
  try {
    const caller = await createTestUser(await workerDb());
    const get = (instance: StartedFunction<BaseEnv>) =>
      api(instance.url, "GET", "/v1/things", { auth: caller.auth }).then((res) => res.status);
    // Alternating between the instances: four in all, not four each.
    expect([await get(a), await get(b), await get(a), await get(b)]).toEqual([200, 200, 200, 200]);
    expect([await get(a), await get(b)]).toEqual([429, 429]);
    // A new instance (a cold start) starts from the shared count, not from zero.
    const c = await startFunction(probe, limits);
    try {
      expect(await get(c)).toBe(429);
    } finally {
      await c.close();
    }
    // Parallel requests cannot all pass a check made before any of them was counted.
    const fresh = await createTestUser(await workerDb());
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api([a, b][i % 2]!.url, "GET", "/v1/things", { auth: fresh.auth }).then((res) => res.status),
      ),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(4);
    expect(statuses.filter((status) => status === 429)).toHaveLength(6);
    // The limit is per function: the same token has its own budget at another one.
    expect(await get(elsewhere)).toBe(200);
  } finally {
    await Promise.all([a.close(), b.close(), elsewhere.close()]);
  }
});

test("/dapr/subscribe lists the subscriptions with their dead-letter topics", async () => {
  const res = await api(fn.url, "GET", "/dapr/subscribe", { headers: FROM_SIDECAR });
  expect(res.body).toEqual([
    {
      pubsubname: "pubsub",
      topic: "things",
      routes: { default: "/events/things" },
      deadLetterTopic: "things-dlq",
    },
  ]);
});

test("structured delivery (Dapr): SUCCESS, RETRY when asked or when the handler throws, DROP for bad data", async () => {
  const deliver = (data: unknown) =>
    api(fn.url, "POST", "/events/things", {
      rawBody: JSON.stringify(cloudEvent(data)),
      headers: { "content-type": "application/cloudevents+json", pubsubname: "pubsub", ...FROM_SIDECAR },
    });
  const ok = await deliver({ n: 5 });
  expect(ok.status).toBe(200);
  expect(ok.body).toEqual({ status: "SUCCESS" });
  expect(handled.subscription).toContainEqual({ n: 5 });

  expect((await deliver({ n: 1 })).body).toEqual({ status: "RETRY" });
  const thrown = await deliver({ n: 0 });
  expect(thrown.status).toBe(200);
  expect(thrown.body).toEqual({ status: "RETRY" });
  expect((await deliver({ n: -1 })).body).toEqual({ status: "DROP" });

  const before = handled.subscription.length;
  const bad = await deliver({ n: "not a number" });
  expect(bad.body).toEqual({ status: "DROP" });
  expect(handled.subscription).toHaveLength(before);

  const notEvent = await api(fn.url, "POST", "/events/things", {
    body: { hello: "world" },
    headers: { pubsubname: "pubsub", ...FROM_SIDECAR },
  });
  expect(notEvent.body).toEqual({ status: "DROP" });
});

test("binary delivery (Knative): 204 done, 503 retry, 4xx for data that can never succeed", async () => {
  const deliver = async (data: unknown, headers: Record<string, string> = {}) =>
    api(fn.url, "POST", "/events/things", {
      body: data,
      headers: { ...binaryHeaders(), ...(await fromKnative()), ...headers },
    });
  const ok = await deliver({ n: 7 });
  expect(ok.status).toBe(204);
  expect(handled.subscription).toContainEqual({ n: 7 });
  expect((await deliver({ n: 0 })).status).toBe(503);
  expect((await deliver({ n: 1 })).status).toBe(503);
  const bad = await deliver({ n: "x" });
  expect(bad.status).toBeGreaterThanOrEqual(400);
  expect(bad.status).toBeLessThan(500);
  expect(bad.status).not.toBe(404); // Knative retries a 404

  // A non-JSON data content type is accepted as text, and then fails this topic's schema.
  const text = await api(fn.url, "POST", "/events/things", {
    rawBody: "plain text",
    headers: { ...binaryHeaders(), ...(await fromKnative()), "content-type": "text/plain" },
  });
  expect(text.status).toBe(422);
});

test("job callbacks: 200 when handled, 404 with no handler, 500 when the handler throws", async () => {
  const ok = await api(fn.url, "POST", "/job/reminder-abc", {
    body: { task_id: "t-1" },
    headers: FROM_SIDECAR,
  });
  expect(ok.status).toBe(200);
  expect(handled.jobs).toContainEqual({ name: "reminder-abc", data: { task_id: "t-1" } });

  // Dapr's scheduler may not declare a JSON content type; the body is JSON regardless.
  const untyped = await api(fn.url, "POST", "/job/reminder-untyped", {
    rawBody: JSON.stringify({ n: 1 }),
    headers: { "content-type": "application/octet-stream", ...FROM_SIDECAR },
  });
  expect(untyped.status).toBe(200);
  expect(handled.jobs).toContainEqual({ name: "reminder-untyped", data: { n: 1 } });

  const unknown = await api(fn.url, "POST", "/job/cleanup-daily", { body: {}, headers: FROM_SIDECAR });
  expect(unknown.status).toBe(404);
  expect(unknown.headers.get("content-type")).toMatch(/^application\/problem\+json/);

  const failed = await api(fn.url, "POST", "/job/reminder-x-fail", { body: {}, headers: FROM_SIDECAR });
  expect(failed.status).toBe(500);
  expect(JSON.stringify(failed.body)).not.toContain("job failed");
});

test("a web session authenticates like a token, as the user, and an expired one is refused", async () => {
  const db = await workerDb();
  const user = await createTestUser(db);
  const live = newSessionSecret();
  const expired = newSessionSecret();
  await db.session.createMany({
    data: [
      { userId: user.id, tokenHash: live.hash, csrfSecret: "x", expiresAt: new Date(Date.now() + 60_000) },
      { userId: user.id, tokenHash: expired.hash, csrfSecret: "x", expiresAt: new Date(Date.now() - 1_000) },
    ],
  });
  const whoami = route({
    method: "GET",
    path: "/whoami",
    auth: "write",
    handle: async ({ principal }) => ({ body: { user: principal!.userId, actor: principal!.actor } }),
  });
  const fn = await startFunction({ name: "session-test", routes: [whoami] });
  try {
    const ok = await api(fn.url, "GET", "/whoami", { headers: { authorization: `Session ${live.secret}` } });
    expect(ok.body).toEqual({ user: user.id, actor: { type: "user", id: user.id } });
    expect(
      (await api(fn.url, "GET", "/whoami", { headers: { authorization: `Session ${expired.secret}` } }))
        .status,
    ).toBe(401);
    expect((await api(fn.url, "GET", "/whoami", { headers: { authorization: "Session nope" } })).status).toBe(
      401,
    );
  } finally {
    await fn.close();
  }
});
