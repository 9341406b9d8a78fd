// Issue 12, finding 9: an event the sidecar refuses permanently (HTTP 4xx) must not hold back its
// task's later events for ever. Through real HTTP: create-task and update-task publish through a
// sidecar stand-in that refuses one event; after OUTBOX_MAX_PERMANENT_ATTEMPTS refusals the event
// is parked, an operator sees it in the dead-letters function's GET /v1/dead-letters, and the
// task's next event is published.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { startPublishRecorder, type PublishRecorder } from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes as createTaskRoutes } from "../../functions/create-task/handler.ts";
import { routes as deadLetterRoutes } from "../../functions/dead-letters/handler.ts";
import { routes as updateTaskRoutes } from "../../functions/update-task/handler.ts";
import { WAIT_MS } from "#testing/wait.ts";

const ADMIN = "test-admin-token-0123456789abcdef";
const MAX_ATTEMPTS = 3;
/* eslint-disable @typescript-eslint/no-explicit-any */
let createTask: StartedFunction<any>;
let updateTask: StartedFunction<any>;
let deadLetters: StartedFunction<any>;
/* eslint-enable @typescript-eslint/no-explicit-any */
let sidecar: PublishRecorder;
let db: Db;
let user: TestUser;

beforeAll(async () => {
  db = await workerDb();
  sidecar = await startPublishRecorder();
  const env = {
    DAPR_HTTP_PORT: String(sidecar.port),
    OUTBOX_MAX_PERMANENT_ATTEMPTS: String(MAX_ATTEMPTS),
  };
  createTask = await startFunction({ name: "create-task", routes: createTaskRoutes, outbox: true }, env);
  updateTask = await startFunction({ name: "update-task", routes: updateTaskRoutes, outbox: true }, env);
  deadLetters = await startFunction(
    { name: "dead-letters", routes: deadLetterRoutes },
    { DAPR_HTTP_PORT: String(sidecar.port), ADMIN_TOKEN: ADMIN },
  );
  user = await createTestUser(db);
});
afterAll(async () => {
  await Promise.all([createTask?.close(), updateTask?.close(), deadLetters?.close()]);
  await sidecar?.close();
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a publish refused with 4xx is parked after OUTBOX_MAX_PERMANENT_ATTEMPTS, listed in GET /v1/dead-letters, and the task's next event is published", async () => {
  const title = `poison ${randomUUID()}`;
  // The sidecar refuses the task's created event for good (as daprd answers 403 for a topic the
  // app is not allowed to publish to), and accepts everything else.
  const accept = sidecar.refuseEvents(
    (event) => event.type === "orbit.task.created" && event.data?.task_data?.title === title,
    403,
  );

  const created = await api(createTask.url, "POST", "/v1/tasks", { auth: user.auth, body: { title } });
  expect(created.status).toBe(201);
  const taskId: string = created.body.id;
  const updated = await api(updateTask.url, "PATCH", `/v1/tasks/${taskId}`, {
    auth: user.auth,
    body: { title: `${title} (renamed)`, version: created.body.version },
  });
  expect(updated.status).toBe(200);

  const forTask = () =>
    sidecar.published.filter((p) => p.topic === "task-events" && p.body.subject === taskId);
  await until(() => forTask().length >= 1, "the task's next event to be published");
  expect(forTask().map((p) => p.body.type)).toEqual(["orbit.task.updated"]);

  const [row] = await db.outboxEvent.findMany({ where: { subject: taskId, type: "orbit.task.created" } });
  expect(row).toMatchObject({ status: "parked", attempts: MAX_ATTEMPTS, refusals: MAX_ATTEMPTS });
  expect(sidecar.refusals.get(row!.eventId)).toBe(MAX_ATTEMPTS);

  const list = await api(deadLetters.url, "GET", "/v1/dead-letters?topic=task-events", {
    auth: `Bearer ${ADMIN}`,
  });
  expect(list.status).toBe(200);
  const item = list.body.items.find((i: { event_id: string }) => i.event_id === row!.eventId);
  expect(item).toMatchObject({
    topic: "task-events",
    consumer: "create-task",
    type: "orbit.task.created",
    attempts: MAX_ATTEMPTS,
    resolved_at: null,
    envelope: { id: row!.eventId, subject: taskId, data: { task_data: { title } } },
  });
  expect(item.error).toMatch(/refused to publish this event 3 times.*HTTP 403/);

  // Once the cause is fixed the operator replays it: published with its original id.
  accept();
  const replayed = await api(deadLetters.url, "POST", `/v1/dead-letters/${item.id}/replay`, {
    auth: `Bearer ${ADMIN}`,
    body: {},
  });
  expect(replayed.status).toBe(200);
  expect(replayed.body.resolved_at).not.toBeNull();
  expect(forTask().map((p) => [p.body.type, p.body.id])).toEqual([
    ["orbit.task.updated", expect.any(String)],
    ["orbit.task.created", row!.eventId],
  ]);
});
