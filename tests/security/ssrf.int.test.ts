// SSRF through the URLs users give us (issue 12, finding 2): a webhook URL or a push endpoint must
// never make the notifications function connect to what only it can reach (loopback, the pod
// network, the metadata service, cluster Services), when the URL is saved, when it is used long
// after (it may have been stored before the check existed; its DNS answer may have changed), or
// between the check and the connect (DNS rebinding). What answers is never shown to the user.
// The "internal service" is a server on this machine's loopback: any connection to it is the SSRF.
// DNS is a stub (packages/testing/src/resolver.ts), so rebinding is simulated exactly.
import { createECDH, randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { notificationsEnvSchema } from "#notifications/env.ts";
import type { BaseEnv } from "#platform/env.ts";
import { generateVapidKeys } from "#platform/web-push.ts";
import {
  api,
  createTestUser,
  startFunction,
  type AnyJson,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { PUBLIC_TEST_ADDRESS, stubResolver } from "#testing/resolver.ts";
import { workerDb } from "#testing/worker-db.ts";
import { notificationsFunction } from "../../functions/notifications/handler.ts";

const SECRET = "whsec_ssrf_0123456789";
/** What the internal service's error page gives away, were it ever shown. */
const INTERNAL_PAGE = "<h1>500</h1><pre>admin-console db_password=hunter2 at /internal/debug</pre>";

let db: Db;
const dns = stubResolver({
  // What the real nip.io answers: any a.b.c.d.nip.io resolves to a.b.c.d.
  "127.0.0.1.nip.io": ["127.0.0.1"],
  "fcm.googleapis.com": [PUBLIC_TEST_ADDRESS],
});
/** Production's policy: public addresses only. */
let strict: StartedFunction<BaseEnv>;
/** `make dev`'s and the tests' (OUTBOUND_ALLOW_LOOPBACK=true): loopback too, nothing else. */
let local: StartedFunction<BaseEnv>;
const internal: Server[] = [];
let port = 0;
let connections = 0;
const requests: { host: string | undefined; path: string | undefined }[] = [];

function internalService(): Server {
  const server = createServer((req, res) => {
    requests.push({ host: req.headers.host, path: req.url });
    res.writeHead(500, { "content-type": "text/html" }).end(INTERNAL_PAGE);
  });
  server.on("connection", () => (connections += 1));
  return server;
}

const listen = (server: Server, at: number, host: string) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject).listen(at, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });

beforeAll(async () => {
  db = await workerDb();
  // The same port on both loopbacks, so [::1], 0.0.0.0 and every spelling of 127.0.0.1 reach it.
  internal.push(internalService());
  port = await listen(internal[0]!, 0, "127.0.0.1");
  internal.push(internalService());
  await listen(internal[1]!, port, "::1");
  const def = {
    name: "notifications",
    env: notificationsEnvSchema,
    ...notificationsFunction({ vapid: generateVapidKeys("mailto:ssrf@orbit.test"), resolve: dns.resolve }),
  };
  const env = { WEBHOOK_TIMEOUT_MS: "2000", PUSH_TIMEOUT_MS: "2000" };
  strict = await startFunction(def, env);
  local = await startFunction(def, { ...env, OUTBOUND_ALLOW_LOOPBACK: "true" });
});
afterAll(async () => {
  await Promise.all([strict?.close(), local?.close()]);
  for (const server of internal) {
    server.closeAllConnections();
    server.close();
  }
});

/** Every way of naming something internal that the finding listed, and a few more. */
const INTERNAL_HOSTS = [
  "127.0.0.1",
  "[::1]",
  "169.254.169.254",
  "10.0.0.1",
  "kubernetes.default.svc",
  "127.0.0.1.nip.io",
  "[::ffff:127.0.0.1]",
  "0x7f000001",
  "2130706433",
  "0",
  "172.16.0.1",
  "192.168.0.1",
  "100.64.0.1",
  "[fd00::1]",
  "[fe80::1]",
  "224.0.0.1",
  "[64:ff9b::a00:1]",
  "localhost",
  "metadata.google.internal",
  "orbit-db.orbit.svc.cluster.local",
  "redis",
];

const hookUrl = (host: string) => `https://${host}:${port}/hook`;

function expectProblem(res: { status: number; headers: Headers; body: AnyJson }, field: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  expect(res.body.errors[0].pointer).toBe(`/body/${field}`);
}

async function storeWebhook(user: TestUser, url: string) {
  await db.notificationChannel.upsert({
    where: { userId_kind: { userId: user.id, kind: "webhook" } },
    create: { userId: user.id, kind: "webhook", enabled: true, webhookUrl: url, webhookSecret: SECRET },
    update: { enabled: true, webhookUrl: url, webhookSecret: SECRET },
  });
}

async function sendTest(fn: StartedFunction<BaseEnv>, user: TestUser) {
  const res = await api(fn.url, "POST", "/v1/notifications/test", { auth: user.auth, body: {} });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

test("every internal address is refused as a webhook URL when saved: 400 problem+json naming webhook_url", async () => {
  const before = connections;
  const user = await createTestUser(db);
  for (const host of INTERNAL_HOSTS) {
    const res = await api(strict.url, "PUT", "/v1/channels/webhook", {
      auth: user.auth,
      body: { enabled: true, webhook_url: hookUrl(host), webhook_secret: SECRET },
    });
    expectProblem(res, "webhook_url");
    expect(res.body.errors[0].detail, host).toMatch(/^must be a public address: /);
  }
  expect(await db.notificationChannel.count({ where: { userId: user.id } })).toBe(0);
  // Plain http, and a public https URL, as control: the policy refuses addresses, not webhooks.
  const http = await api(strict.url, "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: `http://127.0.0.1:${port}/hook`, webhook_secret: SECRET },
  });
  expectProblem(http, "webhook_url");
  const ok = await api(strict.url, "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: "https://fcm.googleapis.com/not-a-webhook", webhook_secret: SECRET },
  });
  expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  expect(connections).toBe(before);
});

test("a webhook URL stored before the check is refused at send time: nothing connects, the ledger says why", async () => {
  const before = connections;
  const user = await createTestUser(db);
  for (const host of INTERNAL_HOSTS) {
    await storeWebhook(user, hookUrl(host));
    const res = await sendTest(strict, user);
    expect(res.body.results, host).toHaveLength(1);
    const [result] = res.body.results;
    expect(result, host).toMatchObject({ channel: "webhook", status: "failed", http_status: null });
    expect(result.error, host).toMatch(/^refused: /);
    const ledger = await db.notificationDelivery.findFirstOrThrow({
      where: { reminderKey: res.body.reminder_key },
    });
    expect(ledger).toMatchObject({ status: "failed", httpStatus: null, lastError: result.error });
  }
  expect(connections).toBe(before);
});

test("DNS rebinding across time: public when saved, 127.0.0.1 when sent, so refused and never connected", async () => {
  const before = connections;
  const user = await createTestUser(db);
  dns.answer("rebind.example.com", [PUBLIC_TEST_ADDRESS], ["127.0.0.1"]);
  const saved = await api(strict.url, "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: hookUrl("rebind.example.com"), webhook_secret: SECRET },
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  const res = await sendTest(strict, user);
  expect(res.body.results[0]).toMatchObject({
    status: "failed",
    http_status: null,
    error: "refused: rebind.example.com resolves to 127.0.0.1, a loopback address",
  });
  expect(connections).toBe(before);
});

test("DNS rebinding within a send: the connection goes to the address checked, never to a second answer", async () => {
  // Loopback allowed, so the checked address is one this test can watch: saved and checked at
  // send as 127.0.0.1; any lookup after that would answer 10.0.0.1.
  const user = await createTestUser(db);
  dns.answer("pinned.example.com", ["127.0.0.1"], ["127.0.0.1"], ["10.0.0.1"]);
  const url = `http://pinned.example.com:${port}/pinned`;
  const saved = await api(local.url, "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: url, webhook_secret: SECRET },
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  const res = await sendTest(local, user);
  expect(res.body.results[0]).toMatchObject({ status: "failed", http_status: 500 });
  expect(requests.filter((r) => r.path === "/pinned")).toEqual([
    { host: `pinned.example.com:${port}`, path: "/pinned" },
  ]);
  expect(dns.calls.filter((host) => host === "pinned.example.com")).toHaveLength(2);
});

test("the test endpoint reports what answered by its status only, never its body", async () => {
  const user = await createTestUser(db);
  const saved = await api(local.url, "PUT", "/v1/channels/webhook", {
    auth: user.auth,
    body: { webhook_url: `http://127.0.0.1:${port}/echo`, webhook_secret: SECRET },
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  const res = await sendTest(local, user);
  expect(res.body.results[0]).toMatchObject({
    status: "failed",
    http_status: 500,
    error: "the receiver answered HTTP 500",
  });
  expect(requests.some((r) => r.path === "/echo")).toBe(true);
  const ledger = await db.notificationDelivery.findFirstOrThrow({
    where: { reminderKey: res.body.reminder_key },
    include: { attemptLog: true },
  });
  for (const text of [JSON.stringify(res.body), ledger.lastError, ...ledger.attemptLog.map((a) => a.error)]) {
    expect(text).not.toContain("admin-console");
    expect(text).not.toContain("<h1>");
  }
});

function pushKeys() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url") };
}

test("push endpoints are accepted only on the browser push services' hosts, at public addresses: 400 naming endpoint", async () => {
  const before = connections;
  const user = await createTestUser(db);
  const subscribe = (endpoint: string) =>
    api(strict.url, "POST", "/v1/push-subscriptions", {
      auth: user.auth,
      body: { endpoint, keys: pushKeys() },
    });
  for (const endpoint of [
    `https://127.0.0.1:${port}/push/x`,
    "https://169.254.169.254/latest/meta-data/",
    "https://kubernetes.default.svc/api",
    "https://push.example.com/x",
    "https://fcm.googleapis.com.evil.example/fcm/send/x",
    "https://evilfcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.com@127.0.0.1/fcm/send/x",
    ...INTERNAL_HOSTS.map((host) => `${hookUrl(host)}/push`),
  ])
    expectProblem(await subscribe(endpoint), "endpoint");
  expect(await db.pushSubscription.count({ where: { userId: user.id } })).toBe(0);

  expect((await subscribe(`https://fcm.googleapis.com/fcm/send/${randomUUID()}`)).status).toBe(201);
  // An allowed host is still resolved and its addresses checked.
  dns.answer("fcm.googleapis.com", ["10.0.0.1"]);
  try {
    const res = await subscribe(`https://fcm.googleapis.com/fcm/send/${randomUUID()}`);
    expectProblem(res, "endpoint");
    expect(res.body.errors[0].detail).toBe(
      "must be a public address: fcm.googleapis.com resolves to 10.0.0.1, a private address",
    );
  } finally {
    dns.answer("fcm.googleapis.com", [PUBLIC_TEST_ADDRESS]);
  }
  expect(connections).toBe(before);
});

test("a push subscription stored before the check is refused at send time and never contacted", async () => {
  const before = connections;
  const user = await createTestUser(db);
  const endpoints = [`https://127.0.0.1:${port}/push/stored`, `https://[::1]:${port}/push/stored`];
  for (const endpoint of endpoints)
    await db.pushSubscription.create({ data: { userId: user.id, endpoint, ...pushKeys() } });
  const res = await sendTest(strict, user);
  expect(res.body.results).toHaveLength(2);
  for (const result of res.body.results) {
    expect(result).toMatchObject({ channel: "push", status: "failed", http_status: null });
    expect(result.error).toMatch(/^refused: /);
  }
  expect(connections).toBe(before);
});
