// Security basics of the API functions: passwords stored as scrypt hashes (never the text), no
// token or webhook secret in any log line (real processes at LOG_LEVEL=debug, their whole stdout and
// stderr), the per-token rate limit, and problem responses that never carry a stack or SQL.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { signUp } from "../../packages/accounts/src/accounts.ts";
import type { Db } from "#db/client.ts";
import { verifyPassword } from "#platform/passwords.ts";
import { api, createTestUser, startFunction, type TestUser } from "#testing/fixtures.ts";
import { Topology } from "#testing/topology.ts";
import { freePort, waitFor } from "#testing/ports.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";
import { routes as createTaskRoutes } from "../../functions/create-task/handler.ts";
import { routes as queryTaskRoutes } from "../../functions/query-tasks/handler.ts";

let db: Db;

beforeAll(async () => {
  db = await workerDb();
});

test("passwords are stored as scrypt hashes with a memory-hard cost, salted, never as the text", async () => {
  const password = `correct horse ${randomUUID()}`;
  const stored: string[] = [];
  for (let i = 0; i < 2; i++) {
    const result = await signUp(db, {
      email: `sec-${randomUUID()}@example.test`,
      password,
      time_zone: "UTC",
    });
    expect(result.ok).toBe(true);
    const user = await db.user.findUniqueOrThrow({ where: { id: (result as { userId: string }).userId } });
    stored.push(user.passwordHash);
  }
  for (const hash of stored) {
    expect(hash).not.toContain(password);
    const [scheme, n, r, p, salt, key] = hash.split("$");
    expect(scheme).toBe("scrypt");
    // 128·N·r bytes of memory per hash: at least 32 MiB (OWASP's scrypt floor is N=2^15, r=8, p=1... 2^17).
    expect(128 * Number(n) * Number(r)).toBeGreaterThanOrEqual(32 * 1024 * 1024);
    expect(Number(p)).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(salt!, "base64")).toHaveLength(16);
    expect(Buffer.from(key!, "base64")).toHaveLength(32);
    expect(await verifyPassword(password, hash)).toBe(true);
    expect(await verifyPassword(`${password}x`, hash)).toBe(false);
  }
  // A fresh salt per user: the same password never gives the same hash.
  expect(stored[0]).not.toBe(stored[1]);
}, 30_000);

test("a token over TOKEN_RATE_LIMIT_PER_MINUTE gets 429 with Retry-After; another token is unaffected", async () => {
  const fn = await startFunction(
    { name: "query-tasks", routes: queryTaskRoutes },
    { TOKEN_RATE_LIMIT_PER_MINUTE: "5" },
  );
  try {
    const [busy, other] = [await createTestUser(db), await createTestUser(db)];
    for (let i = 0; i < 5; i++)
      expect((await api(fn.url, "GET", "/v1/tags", { auth: busy.auth })).status).toBe(200);
    const limited = await api(fn.url, "GET", "/v1/tags", { auth: busy.auth });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body.type).toBe("https://orbit.invalid/problems/rate-limited");
    expect((await api(fn.url, "GET", "/v1/tags", { auth: other.auth })).status).toBe(200);
  } finally {
    await fn.close();
  }
});

const LEAKS = [
  /\bat .+\.(ts|js|mjs):\d+/, // a stack frame
  /"stack"/,
  /node_modules|\/work\/|packages\/|functions\//,
  /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/,
  /prisma|postgres|pg_|sqlstate|relation "|violates|constraint|RAISE|P\d{4}/i,
  /ECONNREFUSED|127\.0\.0\.1:\d+/,
];

function expectNoLeak(what: string, res: { status: number; headers: Headers; body: unknown }) {
  expect(res.headers.get("content-type"), what).toMatch(/^application\/problem\+json/);
  const text = JSON.stringify(res.body);
  for (const pattern of LEAKS) expect(text, `${what}: ${text}`).not.toMatch(pattern);
}

test("problem responses never carry a stack trace or SQL: a failing statement, an unreachable database, bad input", async () => {
  const user = await createTestUser(db);
  const fn = await startFunction({ name: "create-task", routes: createTaskRoutes, outbox: true });
  // The database is unreachable: a closed port on loopback.
  const deadDb = new URL(await workerDatabaseUrl());
  deadDb.port = String(await freePort());
  const down = await startFunction(
    { name: "create-task", routes: createTaskRoutes, outbox: true },
    { DATABASE_URL: deadDb.toString() },
  );
  // A statement failing inside PostgreSQL for one probe title only (no mock: a real error with SQL
  // details in its message, which must stay in the log).
  const probe = `leak-probe-${randomUUID()}`;
  const fnName = `sec_${randomUUID().replaceAll("-", "")}`;
  await db.$executeRawUnsafe(`
    CREATE FUNCTION ${fnName}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.title = '${probe}' THEN RAISE EXCEPTION 'relation "secret_table" violates SELECT * FROM users'; END IF; RETURN NEW; END $$`);
  await db.$executeRawUnsafe(
    `CREATE TRIGGER ${fnName} BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION ${fnName}()`,
  );
  try {
    const failing = await api(fn.url, "POST", "/v1/tasks", { auth: user.auth, body: { title: probe } });
    expect(failing.status).toBe(500);
    expectNoLeak("a statement failing", failing);
    expect(JSON.stringify(failing.body)).not.toContain("secret_table");

    const unreachable = await api(down.url, "POST", "/v1/tasks", { auth: user.auth, body: { title: "x" } });
    expect(unreachable.status).toBe(503);
    expectNoLeak("the database unreachable", unreachable);

    const created = await api(fn.url, "POST", "/v1/tasks", { auth: user.auth, body: { title: "ok" } });
    expect(created.status).toBe(201);
    const cases: [string, string, string, Parameters<typeof api>[3]][] = [
      [
        "malformed JSON",
        "POST",
        "/v1/tasks",
        { auth: user.auth, rawBody: '{"title":', headers: { "content-type": "application/json" } },
      ],
      [
        "wrong types",
        "POST",
        "/v1/tasks",
        { auth: user.auth, body: { title: 42, due_at: "soon", tags: "x" } },
      ],
      ["too large", "POST", "/v1/tasks", { auth: user.auth, body: { title: "x".repeat(100_000) } }],
      [
        "wrong content type",
        "POST",
        "/v1/tasks",
        { auth: user.auth, rawBody: "title=x", headers: { "content-type": "text/plain" } },
      ],
      ["unknown route", "GET", "/v1/nothing", { auth: user.auth }],
      ["wrong method", "PUT", "/v1/tasks", { auth: user.auth }],
      ["bad token", "POST", "/v1/tasks", { auth: "Bearer orbit_0000", body: { title: "x" } }],
    ];
    for (const [what, method, path, options] of cases) {
      const res = await api(fn.url, method, path, options);
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      expectNoLeak(what, res);
    }
  } finally {
    await db.$executeRawUnsafe(`DROP TRIGGER ${fnName} ON tasks`);
    await db.$executeRawUnsafe(`DROP FUNCTION ${fnName}()`);
    await Promise.all([fn.close(), down.close()]);
  }
});

// ───── secrets and logs, over real processes ─────

let topology: Topology;
let receiver: Server;
const received: { headers: IncomingMessage["headers"]; body: string }[] = [];

afterAll(async () => {
  await topology?.stop();
  receiver?.close();
});

test("no API token and no webhook secret appears in any log line, even at LOG_LEVEL=debug", async () => {
  // The user's webhook endpoint: outside our reach in production, a loopback stand-in here.
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  const receiverPort = await freePort();
  await new Promise<void>((resolve) => receiver.listen(receiverPort, "127.0.0.1", resolve));

  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["create-task", "notifications"],
    // The webhook receiver is on this machine.
    env: { LOG_LEVEL: "debug", OUTBOUND_ALLOW_LOOPBACK: "true" },
  });
  const user: TestUser = await createTestUser(db);
  const webhookSecret = `whsec-${randomUUID()}-${randomUUID()}`;
  const url = (app: string) => topology.app(app).url;

  const created = await api(url("create-task"), "POST", "/v1/tasks", {
    auth: user.auth,
    body: { title: "Logged" },
  });
  expect(created.status).toBe(201);
  expect((await api(url("notifications"), "GET", "/v1/channels", { auth: user.auth })).status).toBe(200);
  // The token in places a careless log line would pick up: a rejected request, a query string, a header.
  await api(url("notifications"), "GET", `/v1/channels?token=${encodeURIComponent(user.token)}`, {
    auth: user.auth,
  });
  await api(url("notifications"), "GET", "/v1/channels", { auth: `Bearer ${user.token}x` });
  await api(url("create-task"), "POST", "/v1/tasks", {
    auth: user.auth,
    headers: { "x-api-key": user.token, cookie: `session=${user.token}` },
    body: { title: 7 },
  });
  const channel = await api(url("notifications"), "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: {
      enabled: true,
      webhook_url: `http://127.0.0.1:${receiverPort}/hook`,
      webhook_secret: webhookSecret,
    },
  });
  expect(channel.status, JSON.stringify(channel.body)).toBe(200);
  expect(JSON.stringify(channel.body)).not.toContain(webhookSecret);
  // A rejected update that carries the secret, then a real signed delivery made with it.
  await api(url("notifications"), "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: "ftp://nope", webhook_secret: webhookSecret },
  });
  const sent = await api(url("notifications"), "POST", "/v1/notifications/test", {
    auth: user.auth,
    body: {},
  });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  await waitFor("the webhook delivery", async () => received.length > 0);
  expect(JSON.stringify(received)).not.toContain(webhookSecret);

  const logs = ["create-task", "notifications"].map((app) => topology.logs(app)).join("\n");
  // The debug logs are there (the check below is about something), and they carry neither secret.
  expect(logs).toMatch(/"level":"debug"/);
  expect(logs).toMatch(/"msg":"request"/);
  expect(logs.includes(user.token)).toBe(false);
  expect(logs.includes(user.token.slice(12))).toBe(false);
  expect(logs.includes(webhookSecret)).toBe(false);
}, 90_000);
