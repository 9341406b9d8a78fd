// The command client against a stand-in sidecar: what it sends (app-id, method, path, headers,
// body) and how each kind of answer becomes a reply. The real round trip is in
// functions/mcp/handler.int.test.ts and tests/web/browser.e2e.test.ts.
import { expect, test } from "vitest";
import { SidecarUnavailableError } from "#platform/dapr-client.ts";
import { createTaskCommands } from "./client.ts";

interface Sent {
  appId: string;
  method: string;
  path: string;
  init: { body?: unknown; headers?: Record<string, string> };
}

function sidecar(answer: () => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const commands = createTaskCommands({
    async invoke(appId, method, path, init = {}) {
      sent.push({ appId, method, path, init });
      return answer();
    },
  });
  return { commands, sent };
}

const caller = { authorization: "Bearer orb_x" };
const ID = "0b7e1c1e-8c43-4a8e-9d36-2f1f6f0e7a11";

test("each command goes to its function's app-id with the caller's credential, and the actor only when set", async () => {
  const { commands, sent } = sidecar(() => Response.json({ id: ID }));
  await commands.createTask(caller, { title: "A" });
  await commands.updateTask({ ...caller, actor: "agent" }, ID, { title: "B", version: 2 });
  await commands.completeTask(caller, ID);
  await commands.completeTask(caller, ID, { reopen: true, version: 3 });
  await commands.deleteTask(caller, ID, "occurrence");
  await commands.confirmEmail(caller, "t0k");
  expect(sent.map((s) => [s.appId, s.method, s.path, s.init.body])).toEqual([
    ["create-task", "POST", "v1/tasks", { title: "A" }],
    ["update-task", "PATCH", `v1/tasks/${ID}`, { title: "B", version: 2 }],
    ["complete-task", "POST", `v1/tasks/${ID}/complete`, { version: undefined }],
    ["complete-task", "POST", `v1/tasks/${ID}/reopen`, { version: 3 }],
    ["delete-task", "DELETE", `v1/tasks/${ID}?scope=occurrence`, undefined],
    ["notifications", "POST", "v1/channels/email/confirm", { token: "t0k" }],
  ]);
  expect(sent[0]!.init.headers).toEqual({ authorization: "Bearer orb_x" });
  expect(sent[1]!.init.headers).toEqual({ authorization: "Bearer orb_x", "x-orbit-actor": "agent" });
});

test("a success carries the parsed body, or null for 204", async () => {
  const ok = await sidecar(() => Response.json({ id: ID }, { status: 201 })).commands.createTask(caller, {
    title: "A",
  });
  expect(ok).toEqual({ ok: true, status: 201, value: { id: ID } });
  const gone = await sidecar(() => new Response(null, { status: 204 })).commands.deleteTask(
    caller,
    ID,
    "series",
  );
  expect(gone).toEqual({ ok: true, status: 204, value: null });
});

test("a refusal is the function's problem; a body that is no JSON object reads as an empty problem", async () => {
  const problem = { type: "t", title: "Invalid request", status: 400, errors: [] };
  const refused = await sidecar(() => Response.json(problem, { status: 400 })).commands.createTask(caller, {
    title: "",
  });
  expect(refused).toEqual({
    ok: false,
    failure: { kind: "problem", appId: "create-task", status: 400, problem },
  });
  const garbled = await sidecar(() => new Response("<html>", { status: 502 })).commands.listChannels(caller);
  expect(garbled).toEqual({
    ok: false,
    failure: { kind: "problem", appId: "notifications", status: 502, problem: {} },
  });
});

test("the sidecar's own error (no instance of the app) and an unreachable sidecar are told apart", async () => {
  const body = JSON.stringify({ errorCode: "ERR_DIRECT_INVOKE", message: "fail to invoke" });
  const down = await sidecar(() => new Response(body, { status: 500 })).commands.updateTask(caller, ID, {
    title: "B",
  });
  expect(down).toEqual({
    ok: false,
    failure: { kind: "sidecar", appId: "update-task", status: 500, body },
  });
  const error = new SidecarUnavailableError("POST /v1.0/invoke: ECONNREFUSED");
  const unreachable = await sidecar(() => Promise.reject(error)).commands.completeTask(caller, ID);
  expect(unreachable).toEqual({ ok: false, failure: { kind: "unreachable", appId: "complete-task", error } });
});

test("any other error of the invocation is not a reply: it propagates", async () => {
  const bug = new TypeError("not a sidecar failure");
  await expect(sidecar(() => Promise.reject(bug)).commands.createTask(caller, { title: "A" })).rejects.toBe(
    bug,
  );
});
