// Who may deliver (issue 12, finding 1). The delivery routes, /dapr/*, /events/* and /job/*, were
// open to anyone who could reach a function: an anonymous CloudEvent with a victim's user_id wrote
// a forged entry into their activity feed, and a forged reminder reached their webhook signed with
// their own secret. Now each route takes only its sidecar's Dapr app API token (or, in the Knative
// Eventing overlay, a KafkaSource's OIDC token). Proven against real processes: audit-log,
// notifications and on-reminder-fired as bundled, each beside its sidecar (the local one, or
// daprd with ORBIT_DAPR_RUNTIME=daprd), and the web app as remix-serve runs its build.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, request, type Server } from "node:http";
import path from "node:path";
import webPush from "web-push";
import { afterAll, beforeAll, expect, test } from "vitest";
import { cloudEventType, TOPICS } from "#core/events.ts";
import type { Db } from "#db/client.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import { createTask, type CommandContext } from "#tasks/commands.ts";
import {
  api,
  createTestUser,
  FROM_SIDECAR,
  fromKnative,
  startFunction,
  TEST_OIDC_SUBJECT,
  type TestUser,
} from "#testing/fixtures.ts";
import { sharedOidcIssuer } from "#testing/oidc-issuer.ts";
import { freePort, waitFor } from "#testing/ports.ts";
import { bundled, Topology } from "#testing/topology.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";
import {
  routes as auditRoutes,
  subscriptions as auditSubscriptions,
} from "../../functions/audit-log/handler.ts";
import { ensureWebBuild } from "../../scripts/web-build.ts";

const UNAUTHORIZED = "https://orbit.invalid/problems/unauthorized";

let db: Db;
let topology: Topology;
let webDir: string;
let hooks: Server;
const hookRequests: { url: string | undefined; headers: Record<string, unknown> }[] = [];
let hookUrl: string;

beforeAll(async () => {
  db = await workerDb();
  hooks = createServer((req, res) => {
    hookRequests.push({ url: req.url, headers: req.headers });
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => hooks.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/hook`;
  // The web app as remix-serve runs its build (web/build, made once per change of its sources).
  webDir = (await ensureWebBuild()).webDir;
  const vapid = webPush.generateVAPIDKeys();
  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["audit-log", "notifications", "on-reminder-fired"],
    env: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: "mailto:tests@example.test",
      // The webhook receiver below is on this machine (notifications' outbound policy).
      OUTBOUND_ALLOW_LOOPBACK: "true",
    },
    customApps: [
      {
        appId: "web",
        argv: [path.join(REPO_ROOT, "node_modules/.bin/remix-serve"), "build/server/index.js"],
        cwd: webDir,
        env: { NODE_ENV: "production", COOKIE_SECURE: "false", DB_POOL_SIZE: "2" },
      },
    ],
  });
}, 300_000);

afterAll(async () => {
  await topology?.stop();
  hooks?.closeAllConnections();
  hooks?.close();
});

function commandCtx(user: TestUser): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    // No create-task runs here, and a relay takes another app's rows only after 10 s
    // (packages/platform/src/outbox.ts): victimTask removes them long before, so no relay can
    // publish them first (with source "" any relay would, at once).
    source: "create-task",
    actor: { type: "user", id: user.id },
    userId: user.id,
    userTimeZone: "UTC",
    defaultReminderMinutes: [],
    now: new Date(),
  };
}

/**
 * A real task of `victim` and the payloads its creation produced (task-events, task-updates), the
 * outbox rows removed at once so no relay publishes them: every delivery here is the test's own.
 */
async function victimTask(victim: TestUser, dueAt = new Date(Date.now() + 86_400_000)) {
  const created = await createTask(commandCtx(victim), {
    title: "Victim's task",
    description: "",
    priority: "low",
    due_at: dueAt,
    tags: [],
    reminders: [],
    recurrence: null,
  });
  const rows = await db.outboxEvent.findMany({ where: { eventId: { in: created.eventIds } } });
  await db.outboxEvent.deleteMany({ where: { eventId: { in: created.eventIds } } });
  const row = (topic: string) => rows.find((r) => r.topic === topic)!;
  return { task: created.task, taskEvent: row(TOPICS.taskEvents), taskUpdate: row(TOPICS.taskUpdates) };
}

/** A structured-mode CloudEvent, as daprd delivers one (and as the attacker posted it). */
function envelope(topic: string, type: string, data: unknown, id: string = randomUUID()) {
  return JSON.stringify({
    specversion: "1.0",
    id,
    source: "create-task",
    type,
    topic,
    pubsubname: "pubsub",
    datacontenttype: "application/json",
    data,
  });
}

interface Answer {
  status: number;
  type: string | null;
  body: { type?: string; status?: string } | null;
  headers: Headers;
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json", pubsubname: "pubsub", ...headers },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: text ? (JSON.parse(text) as Answer["body"]) : null,
    headers: response.headers,
  };
}

function expectRefused(answer: Answer, what: string) {
  expect(answer.status, what).toBe(401);
  expect(answer.type, what).toMatch(/^application\/problem\+json/);
  expect(answer.body?.type, what).toBe(UNAUTHORIZED);
}

/** Tokens that are not the app's: none, empty, wrong, one character off, longer, shorter. */
function wrongTokens(): Record<string, string>[] {
  const token = topology.appToken;
  const last = token.at(-1) === "0" ? "1" : "0";
  return [
    {},
    { "dapr-api-token": "" },
    { "dapr-api-token": "x".repeat(token.length) },
    { "dapr-api-token": token.slice(0, -1) + last },
    { "dapr-api-token": `${token}0` },
    { "dapr-api-token": token.slice(0, 32) },
  ];
}

test("a forged task event reaches no activity feed: anonymous and wrong-token posts to audit-log get a 401 problem; the sidecar's token is accepted", async () => {
  const [victim, attacker] = [await createTestUser(db), await createTestUser(db)];
  const { taskEvent } = await victimTask(victim);
  const base = topology.app("audit-log").url;
  const forged = envelope(TOPICS.taskEvents, taskEvent.type, {
    ...(taskEvent.data as object),
    title: "forged",
  });

  for (const headers of wrongTokens())
    expectRefused(await post(`${base}/events/task-events`, forged, headers), JSON.stringify(headers));
  // Every spelling Express routes to the handler is guarded, and so is binary mode (as Knative sends).
  for (const route of ["/EVENTS/task-events", "/events/task-events/", "/Events/Task-Events/"])
    expectRefused(await post(`${base}${route}`, forged), route);
  const binary = await fetch(`${base}/events/task-events`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-id": randomUUID(),
      "ce-source": "create-task",
      "ce-type": taskEvent.type,
    },
    body: JSON.stringify(taskEvent.data),
  });
  expect(binary.status).toBe(401);
  // A user's API token is no sender's credential: neither the attacker's nor the victim's own.
  for (const user of [attacker, victim])
    expectRefused(
      await post(`${base}/events/task-events`, forged, { authorization: user.auth }),
      "user token",
    );
  expect(await db.auditLog.count({ where: { userId: victim.id } })).toBe(0);

  // The same event from the sidecar (its token) is taken: the refusals were about the sender.
  const genuine = await post(
    `${base}/events/task-events`,
    envelope(TOPICS.taskEvents, taskEvent.type, taskEvent.data, taskEvent.eventId),
    {
      "dapr-api-token": topology.appToken,
    },
  );
  expect(genuine.status).toBe(200);
  expect(genuine.body).toEqual({ status: "SUCCESS" });
  expect(await db.auditLog.count({ where: { userId: victim.id } })).toBe(1);
});

test("a forged reminder reaches no webhook: notifications refuses it without the app token and records no delivery", async () => {
  const victim = await createTestUser(db);
  const { task } = await victimTask(victim);
  await db.notificationChannel.create({
    data: {
      userId: victim.id,
      kind: "webhook",
      webhookUrl: hookUrl,
      webhookSecret: "the victim's own secret",
    },
  });
  const reminder = (jobName: string) =>
    envelope(TOPICS.reminders, cloudEventType.reminder(), {
      task_id: task.id,
      user_id: victim.id,
      title: "Click here to verify your account",
      due_at: new Date(Date.now() + 3_600_000).toISOString(),
      remind_at: new Date().toISOString(),
      job_name: jobName,
    });
  const base = topology.app("notifications").url;
  const forgedJob = `reminder-${task.id}-o15`;
  for (const headers of wrongTokens())
    expectRefused(
      await post(`${base}/events/reminders`, reminder(forgedJob), headers),
      JSON.stringify(headers),
    );
  expect(hookRequests).toEqual([]);
  expect(await db.notificationDelivery.count({ where: { userId: victim.id } })).toBe(0);

  // From the sidecar, the reminder is delivered: the webhook is called once, and recorded.
  const genuine = await post(`${base}/events/reminders`, reminder(`reminder-${task.id}-o30`), {
    "dapr-api-token": topology.appToken,
  });
  expect(genuine.status).toBe(200);
  expect(genuine.body).toEqual({ status: "SUCCESS" });
  expect(hookRequests).toHaveLength(1);
  const deliveries = await db.notificationDelivery.findMany({ where: { userId: victim.id } });
  expect(deliveries.map((d) => [d.channel, d.target, d.status, d.reminderKey.split("@")[0]])).toEqual([
    ["webhook", hookUrl, "sent", `reminder-${task.id}-o30`],
  ]);
});

test("a forged job trigger fires nothing: on-reminder-fired refuses /job/* without the app token; its sidecar's is accepted", async () => {
  const victim = await createTestUser(db);
  const dueAt = new Date(Date.now() + 3_600_000);
  const { task } = await victimTask(victim, dueAt);
  const jobName = `reminder-${task.id}-o60`;
  const remindAt = new Date(Date.now() - 1_000);
  await db.reminderJob.create({ data: { jobName, taskId: task.id, userId: victim.id, dueAt, remindAt } });
  const base = topology.app("on-reminder-fired").url;
  const data = JSON.stringify({
    task_id: task.id,
    job_name: jobName,
    remind_at: remindAt.toISOString(),
    due_at: dueAt.toISOString(),
  });
  const trigger = (route: string, headers: Record<string, string>) =>
    post(`${base}${route}`, data, { "content-type": "application/json", ...headers });
  for (const headers of wrongTokens())
    expectRefused(await trigger(`/job/${jobName}`, headers), JSON.stringify(headers));
  expectRefused(await trigger(`/JOB/${jobName}/`, {}), "/JOB/…/");
  const reminders = () => db.outboxEvent.count({ where: { topic: TOPICS.reminders, subject: task.id } });
  expect(await reminders()).toBe(0);
  expect((await db.reminderJob.findUniqueOrThrow({ where: { jobName } })).status).toBe("scheduled");

  const genuine = await trigger(`/job/${jobName}`, { "dapr-api-token": topology.appToken });
  expect(genuine.status).toBe(200);
  expect((await db.reminderJob.findUniqueOrThrow({ where: { jobName } })).status).toBe("fired");
  expect(await reminders()).toBe(1);
});

test("/dapr/subscribe answers only the sidecar; health probes, which daprd sends without the token, stay open", async () => {
  for (const appId of ["audit-log", "notifications", "on-reminder-fired", "web"]) {
    const { url } = topology.app(appId);
    const anonymous = await fetch(`${url}/dapr/subscribe`);
    expect(anonymous.status, appId).toBe(401);
    expect(anonymous.headers.get("content-type"), appId).toMatch(/^application\/problem\+json/);
    const wrong = await fetch(`${url}/dapr/subscribe`, { headers: { "dapr-api-token": "x".repeat(64) } });
    expect(wrong.status, appId).toBe(401);
    const sidecar = await fetch(`${url}/dapr/subscribe`, {
      headers: { "dapr-api-token": topology.appToken },
    });
    expect(sidecar.status, appId).toBe(200);
    expect(((await sidecar.json()) as unknown[]).length, appId).toBeGreaterThan(0);
    for (const probe of ["/healthz", "/readyz"])
      expect((await fetch(`${url}${probe}`)).status, `${appId}${probe}`).toBe(200);
    // daprd's start-up question for actors: the sidecar's token only, and "none" (404) for us.
    expect((await fetch(`${url}/dapr/config`)).status, `${appId} /dapr/config`).toBe(401);
    const config = await fetch(`${url}/dapr/config`, { headers: { "dapr-api-token": topology.appToken } });
    expect(config.status, `${appId} /dapr/config`).toBe(404);
  }
});

test("service invocation still needs the user's own token: the app token its sidecar adds authenticates no one", async () => {
  const user = await createTestUser(db);
  const { daprUrl } = topology.app("audit-log");
  const invoke = (headers: Record<string, string>) =>
    fetch(`${daprUrl}/v1.0/invoke/audit-log/method/v1/activity`, { headers });
  expect((await invoke({})).status).toBe(401);
  expect((await invoke({ "dapr-api-token": topology.appToken })).status).toBe(401);
  const res = await invoke({ authorization: user.auth });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ items: [] });
});

test("the web app's /events/task-updates: anonymous and wrong-token posts get a 401 problem and store nothing; over 1 MiB is a 413", async () => {
  const victim = await createTestUser(db);
  const { taskUpdate } = await victimTask(victim);
  const base = topology.app("web").url;
  const update = (id: string = randomUUID()) =>
    envelope(TOPICS.taskUpdates, taskUpdate.type, taskUpdate.data, id);
  for (const headers of wrongTokens())
    expectRefused(await post(`${base}/events/task-updates`, update(), headers), JSON.stringify(headers));
  expectRefused(await post(`${base}/Events/Task-Updates/`, update()), "/Events/Task-Updates/");
  expect(await db.liveUpdate.count({ where: { userId: victim.id } })).toBe(0);

  const sidecar = { "dapr-api-token": topology.appToken };
  const stored = await post(`${base}/events/task-updates`, update(taskUpdate.eventId), sidecar);
  expect(stored.status).toBe(200);
  expect(stored.body).toEqual({ status: "SUCCESS" });
  expect(await db.liveUpdate.count({ where: { userId: victim.id } })).toBe(1);

  // Larger than 1 MiB: refused whether the length is declared or the body is streamed in chunks.
  const huge = JSON.stringify({ padding: "x".repeat(1024 * 1024) });
  const declared = await post(`${base}/events/task-updates`, huge, sidecar);
  expect(declared.status).toBe(413);
  expect(declared.type).toMatch(/^application\/problem\+json/);
  expect(declared.body?.type).toBe("https://orbit.invalid/problems/payload-too-large");
  // Streamed with no declared length (as a chunked request): answered once 1 MiB has been read.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request(`${base}/events/task-updates`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json", ...sidecar },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The server may close the connection once it has answered, while this side still writes.
    req.on("error", (error) => setTimeout(() => reject(error), 1_000));
    req.write(huge.slice(0, 600_000));
    req.end(huge.slice(600_000));
  });
  expect(chunked).toBe(413);
  // The anonymous sender learns nothing about sizes: the token is checked before the body is read.
  expectRefused(await post(`${base}/events/task-updates`, huge), "anonymous, oversized");
  expect(await db.liveUpdate.count({ where: { userId: victim.id } })).toBe(1);
});

test("fail closed: in production a function without APP_API_TOKEN does not start, and the web app is never ready", async () => {
  const entry = await bundled("audit-log", "functions/audit-log/index.ts");
  const run = (env: Record<string, string>) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [entry], {
        env: { PATH: process.env.PATH, NODE_ENV: "production", DATABASE_URL: topology.databaseUrl, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.on("exit", (code) => resolve({ code, output }));
    });
  const missing = await run({ PORT: String(await freePort()) });
  expect(missing.code).toBe(78);
  expect(missing.output).toContain("APP_API_TOKEN: is required in production");
  const short = await run({ PORT: String(await freePort()), APP_API_TOKEN: "short" });
  expect(short.code).toBe(78);
  expect(short.output).toContain("APP_API_TOKEN: must be at least 32 characters");

  const port = await freePort();
  const web = spawn(path.join(REPO_ROOT, "node_modules/.bin/remix-serve"), ["build/server/index.js"], {
    cwd: webDir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      PORT: String(port),
      DATABASE_URL: topology.databaseUrl,
      DB_POOL_SIZE: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  web.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  web.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      "the unconfigured web app to answer /healthz",
      async () => (await fetch(`${url}/healthz`)).ok,
      20_000,
    );
    expect((await fetch(`${url}/readyz`)).status).toBe(500);
    const delivery = await fetch(`${url}/events/task-updates`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json", "dapr-api-token": "x".repeat(64) },
      body: envelope(TOPICS.taskUpdates, "x", {}),
    });
    expect(delivery.status).toBe(500);
    await waitFor("the log to name the missing variable", async () => output.includes("APP_API_TOKEN"));
  } finally {
    web.kill("SIGTERM");
  }
});

test("Knative's deliveries (eventing overlay) need the KafkaSource's OIDC token for this function's audience", async () => {
  const fn = await startFunction({
    name: "audit-log",
    routes: auditRoutes,
    subscriptions: auditSubscriptions,
  });
  const issuer = await sharedOidcIssuer();
  try {
    const victim = await createTestUser(db);
    const { taskEvent } = await victimTask(victim);
    const deliver = (headers: Record<string, string>, id: string = randomUUID()) =>
      fetch(`${fn.url}/events/task-events`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "ce-specversion": "1.0",
          "ce-id": id,
          "ce-source": "create-task",
          "ce-type": taskEvent.type,
          ...headers,
        },
        body: JSON.stringify(taskEvent.data),
      });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const refusals = {
      anonymous: {},
      "another function's audience": bearer(
        issuer.mint({ aud: "orbit.dev/deliveries/notifications", sub: TEST_OIDC_SUBJECT }),
      ),
      "another namespace": bearer(
        issuer.mint({
          aud: "orbit.test/deliveries",
          sub: "system:serviceaccount:tenant-a:kafkasource-oidc-test",
        }),
      ),
      expired: bearer(
        issuer.mint({
          aud: "orbit.test/deliveries",
          sub: TEST_OIDC_SUBJECT,
          exp: Math.floor(Date.now() / 1000) - 600,
        }),
      ),
      "a user's API token": { authorization: victim.auth },
    };
    for (const [what, headers] of Object.entries(refusals))
      expect((await deliver(headers)).status, what).toBe(401);
    expect(await db.auditLog.count({ where: { userId: victim.id } })).toBe(0);

    const accepted = await deliver(await fromKnative(), taskEvent.eventId);
    expect(accepted.status).toBe(204);
    expect(await db.auditLog.count({ where: { userId: victim.id } })).toBe(1);
    // The sidecar's token still works for what the sidecar calls.
    expect((await api(fn.url, "GET", "/dapr/subscribe", { headers: FROM_SIDECAR })).status).toBe(200);
  } finally {
    await fn.close();
  }
});
