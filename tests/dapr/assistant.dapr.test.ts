// The assistant beside real daprd (`make test-dapr`) with the real state.postgresql v2 component:
// a chat turn streams back through real service invocation event by event, and its conversation is
// saved and loaded through daprd's State API with ETags (a stale ETag is refused, which is what
// makes a concurrent turn a 409). The model is a scripted stand-in for a provider, which is
// outside our reach (#testing/scripted-model.ts); it writes its text slowly, so the test can see
// the first words arrive through both sidecars long before the turn ends.
import { afterAll, beforeAll, expect, test } from "vitest";
import { parseSse } from "#core/assistant/contract.ts";
import type { Db } from "#db/client.ts";
import { startAssistantWorld, toolTurnEvents, type AssistantWorld } from "#testing/assistant.ts";
import { api, createTestUser, type AnyJson } from "#testing/fixtures.ts";
import { waitFor } from "#testing/ports.ts";
import { RUNTIME } from "#testing/runtime.ts";
import { startScriptedModel, type ScriptedModel } from "#testing/scripted-model.ts";
import { workerDb } from "#testing/worker-db.ts";

let db: Db;
let model: ScriptedModel;
let world: AssistantWorld;

beforeAll(async () => {
  // Never passes without the real runtime: `make test-dapr` sets it.
  expect(RUNTIME).toBe("daprd");
  db = await workerDb();
  model = await startScriptedModel();
  world = await startAssistantWorld({
    model: { base_url: model.baseUrl, model: "scripted-1", api_key: "sk-test" },
  });
  // Both sidecars being up is not yet invocation between them: one clean-clone run's first turn
  // got daprd's 500 from mcp's sidecar. Ready once a call through it reaches the assistant.
  await waitFor(
    "mcp's sidecar to reach the assistant",
    async () => (await fetch(`${world.mcp.daprUrl}/v1.0/invoke/assistant/method/readyz`)).status === 200,
  );
});
afterAll(async () => {
  await world?.close();
  await model?.close();
});

test("a turn streams through real service invocation; the conversation is kept in state.postgresql v2 with ETags", async () => {
  const user = await createTestUser(db);
  model.script([
    {
      toolCalls: [
        { name: "add_tasks", arguments: { tasks: [{ title: "Water the plants", tags: ["home"] }] } },
      ],
    },
    { text: ["Added ", "“Water the plants” ", "to your list, ", "tagged #home."], delayMs: 400 },
  ]);
  // Through mcp's sidecar (any sidecar of the app graph), as the web app's sidecar would call it.
  const started = Date.now();
  const response = await fetch(`${world.mcp.daprUrl}/v1.0/invoke/assistant/method/v1/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: user.auth },
    body: JSON.stringify({ message: "add water the plants #home" }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  const arrivals: { at: number; text: string }[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of response.body! as unknown as AsyncIterable<Uint8Array>)
    arrivals.push({ at: Date.now() - started, text: decoder.decode(chunk, { stream: true }) });
  const events = parseSse(arrivals.map((a) => a.text).join(""));
  expect(events.map((e) => e.event)).toEqual(toolTurnEvents(4));
  const firstText = arrivals.find((a) => a.text.includes("event: text"))!.at;
  const done = arrivals.find((a) => a.text.includes("event: done"))!.at;
  // Four pieces 400 ms apart: the first arrived at least a second before the end, not all at once.
  expect(done - firstText).toBeGreaterThanOrEqual(1_000);

  // The conversation through daprd's State API: the value, its ETag, and a stale ETag refused.
  const id = (events[0]!.data as AnyJson).id as string;
  const key = `conversation.${user.id}.${id}`;
  const read = await fetch(`${world.assistant.daprUrl}/v1.0/state/statestore/${key}`);
  expect(read.status).toBe(200);
  const etag = read.headers.get("etag")!;
  expect(etag).toMatch(/^[0-9a-f-]{36}$/);
  const doc = (await read.json()) as AnyJson;
  expect([doc.userId, doc.messageCount, doc.turn, doc.messages[1].text]).toEqual([
    user.id,
    2,
    null,
    "Added “Water the plants” to your list, tagged #home.",
  ]);
  const save = (withEtag: string) =>
    fetch(`${world.assistant.daprUrl}/v1.0/state/statestore`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ key, value: doc, etag: withEtag, options: { concurrency: "first-write" } }]),
    });
  expect((await save("00000000-0000-4000-8000-000000000000")).status).toBe(409);
  // The row is daprd's, in the component's own table (tablePrefix dapr_).
  const rows = await db.$queryRawUnsafe<{ key: string }[]>(
    `SELECT key FROM dapr_state WHERE key = $1`,
    `assistant||${key}`,
  );
  expect(rows).toHaveLength(1);

  // Loaded back by the assistant, and a second turn continues it under the new ETag.
  model.script([{ text: ["Nothing else is due today."] }]);
  const next = await fetch(`${world.mcp.daprUrl}/v1.0/invoke/assistant/method/v1/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: user.auth },
    body: JSON.stringify({ conversationId: id, message: "anything else today?" }),
  });
  expect(parseSse(await next.text()).map((e) => e.event)).toEqual(["conversation", "text", "done"]);
  const stored = await api(world.assistant.fn.url, "GET", `/v1/conversations/${id}`, { auth: user.auth });
  expect(stored.body.messages).toHaveLength(4);
  const reread = await fetch(`${world.assistant.daprUrl}/v1.0/state/statestore/${key}`);
  expect(reread.headers.get("etag")).not.toBe(etag);
  expect(await db.task.count({ where: { userId: user.id, title: "Water the plants" } })).toBe(1);
});
