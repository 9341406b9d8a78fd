// Conversation state survives a restart of the assistant: every app its own OS process (bundled as
// in production) beside its own sidecar process, conversations in the sidecar's state store in
// PostgreSQL. The assistant and its sidecar are SIGKILLed mid-conversation, with a delete waiting
// for the user's yes, and started again: the conversation and its pending confirmation are there,
// and the yes runs the delete that was confirmed.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { chat, replyText } from "#testing/assistant.ts";
import { api, createTestUser, type AnyJson } from "#testing/fixtures.ts";
import { Topology } from "#testing/topology.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";

let db: Db;
let topology: Topology;

beforeAll(async () => {
  db = await workerDb();
  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["create-task", "update-task", "complete-task", "delete-task", "mcp", "assistant"],
  });
}, 300_000);
afterAll(async () => {
  await topology?.stop();
});

test("a conversation, its pending confirmation included, survives SIGKILL of the assistant and its sidecar", async () => {
  const user = await createTestUser(db);
  const assistant = () => topology.app("assistant").url;
  const added = await chat(assistant(), user.auth, { message: "add buy milk tomorrow 5pm #home" });
  expect(added.status).toBe(200);
  const id = added.events[0]!.data.id as string;
  const task = added.events.find((e) => e.event === "tasks")!.data.tasks[0] as AnyJson;
  const ask = await chat(assistant(), user.auth, { conversationId: id, message: "delete the milk task" });
  expect(ask.events.find((e) => e.event === "confirm")?.data).toEqual({ summary: "Delete “buy milk”?" });

  await topology.kill("assistant", "app");
  await topology.kill("assistant", "sidecar");
  await topology.restartPair("assistant");

  const stored = await api(assistant(), "GET", `/v1/conversations/${id}`, { auth: user.auth });
  expect(stored.status).toBe(200);
  expect(stored.body.messages.map((m: AnyJson) => m.role)).toEqual([
    "user",
    "assistant",
    "user",
    "assistant",
  ]);
  expect(stored.body.messages[3].text).toBe("Delete “buy milk”? Answer yes or no.");
  expect((await api(assistant(), "GET", "/v1/conversations", { auth: user.auth })).body.items).toEqual([
    { id, title: "add buy milk tomorrow 5pm #home", updatedAt: expect.any(String), messageCount: 4 },
  ]);
  expect(await db.task.count({ where: { id: task.id } })).toBe(1);

  const yes = await chat(assistant(), user.auth, { conversationId: id, message: "yes" });
  expect(replyText(yes)).toBe("Deleted “buy milk”.");
  expect(await db.task.count({ where: { id: task.id } })).toBe(0);
}, 300_000);
