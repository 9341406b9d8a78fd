import { afterAll, beforeAll, expect, test } from "vitest";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { startPublishRecorder, type PublishRecorder } from "#testing/publish-recorder.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes } from "./handler.ts";

let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let sidecar: PublishRecorder;
let user: TestUser;

beforeAll(async () => {
  sidecar = await startPublishRecorder();
  fn = await startFunction(
    { name: "create-task", routes, outbox: true },
    { DAPR_HTTP_PORT: String(sidecar.port) },
  );
  user = await createTestUser(await workerDb());
});
afterAll(async () => {
  await fn.close();
  await sidecar.close();
});

test("creates a task and publishes its events as CloudEvents after commit", async () => {
  const res = await api(fn.url, "POST", "/v1/tasks", {
    auth: user.auth,
    body: {
      title: "Buy groceries",
      priority: "high",
      tags: ["Home", "home", "errands"],
      due_at: "2026-12-01T09:00:00+01:00",
    },
  });
  expect(res.status).toBe(201);
  expect(res.headers.get("location")).toBe(`/v1/tasks/${res.body.id}`);
  expect(res.body).toMatchObject({
    title: "Buy groceries",
    priority: "high",
    status: "pending",
    tags: ["Home", "errands"],
    version: 1,
  });
  expect(res.body.due_at).toBe("2026-12-01T08:00:00.000Z");
  expect(res.body.reminders).toEqual([expect.objectContaining({ offset_minutes: 15 })]);
  const published = await sidecar.waitFor(2);
  const taskEvent = published.find((p) => p.topic === "task-events")!;
  expect(taskEvent.contentType).toBe("application/cloudevents+json");
  expect(taskEvent.query["metadata.partitionKey"]).toBe(res.body.id);
  expect(taskEvent.body).toMatchObject({
    specversion: "1.0",
    source: "create-task",
    type: "orbit.task.created",
    subject: res.body.id,
    data: {
      version: "1.0",
      event_type: "created",
      task_id: res.body.id,
      user_id: user.id,
      task_data: { title: "Buy groceries" },
    },
  });
  expect(published.find((p) => p.topic === "task-updates")!.body.data.event_type).toBe("task_created");
});
