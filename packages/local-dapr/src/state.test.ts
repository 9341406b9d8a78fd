// Conformance: the state API over a state.postgresql (v2) component (reference §3.1).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { call, cleanupAll, resourcesDir, sidecar, tempDir, uid, localOnly } from "./test-support.ts";

afterEach(cleanupAll);

function storeYaml(name: string, extra = ""): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: state.postgresql
  version: v2
  metadata:
    - name: connectionString
      secretKeyRef:
        name: pgConnectionString
        key: pgConnectionString
${extra}auth:
  secretStore: localsecretstore
`;
}

async function stateSidecar(appId = uid("state"), store = uid("store"), extra = "") {
  const dir = await tempDir();
  const secretsFile = path.join(dir, "secrets.json");
  await writeFile(secretsFile, JSON.stringify({ pgConnectionString: "postgresql://unused" }));
  const resources = await resourcesDir({
    "secrets.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: localsecretstore
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - name: secretsFile
      value: ${secretsFile}
`,
    "state.yaml": storeYaml(store, extra),
  });
  const started = await sidecar({ appId, resourcesPath: resources });
  return { port: started.httpPort, store, resources };
}

test("save then get: 200 with the value and an ETag header; a missing key is 204", async () => {
  const { port, store } = await stateSidecar();
  const saved = await call(port, "POST", `/v1.0/state/${store}`, [
    { key: "order", value: { id: 1, items: ["a"] } },
    { key: "greeting", value: "hello" },
  ]);
  expect(saved.status).toBe(204);
  const order = await call(port, "GET", `/v1.0/state/${store}/order`);
  expect(order.status).toBe(200);
  expect(order.json).toEqual({ id: 1, items: ["a"] });
  expect(order.headers.get("etag")).toMatch(/^[0-9a-f-]{36}$/);
  expect((await call(port, "GET", `/v1.0/state/${store}/greeting`)).text).toBe('"hello"');
  const missing = await call(port, "GET", `/v1.0/state/${store}/nothing`);
  expect(missing.status).toBe(204);
  expect(missing.text).toBe("");
});

test("a save with a stale ETag is 409 ERR_STATE_SAVE; with the current ETag it succeeds and the ETag changes", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 1 }]);
  const etag = (await call(port, "GET", `/v1.0/state/${store}/k`)).headers.get("etag")!;
  expect((await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 2, etag }])).status).toBe(204);
  const stale = await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 3, etag }]);
  expect(stale.status).toBe(409);
  expect(stale.json).toMatchObject({ errorCode: "ERR_STATE_SAVE" });
  const current = await call(port, "GET", `/v1.0/state/${store}/k`);
  expect(current.json).toBe(2);
  expect(current.headers.get("etag")).not.toBe(etag);
});

localOnly("an ETag that is not valid for the store is 400", async () => {
  const { port, store } = await stateSidecar();
  const response = await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 1, etag: "v1" }]);
  expect(response.status).toBe(400);
  expect(response.json).toMatchObject({ errorCode: "ERR_STATE_SAVE" });
});

localOnly("first-write without an ETag only inserts: writing an existing key that way is 409", async () => {
  const { port, store } = await stateSidecar();
  const item = { key: "once", value: 1, options: { concurrency: "first-write" } };
  expect((await call(port, "POST", `/v1.0/state/${store}`, [item])).status).toBe(204);
  expect((await call(port, "POST", `/v1.0/state/${store}`, [{ ...item, value: 2 }])).status).toBe(409);
  expect((await call(port, "GET", `/v1.0/state/${store}/once`)).json).toBe(1);
});

localOnly("a save of several items is all-or-nothing", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [{ key: "a", value: 1 }]);
  const stale = "00000000-0000-4000-8000-000000000000";
  const response = await call(port, "POST", `/v1.0/state/${store}`, [
    { key: "b", value: 1 },
    { key: "a", value: 2, etag: stale },
  ]);
  expect(response.status).toBe(409);
  expect((await call(port, "GET", `/v1.0/state/${store}/b`)).status).toBe(204);
});

test("delete: a stale If-Match is 409, the right one 204, no If-Match 204", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [
    { key: "a", value: 1 },
    { key: "b", value: 1 },
  ]);
  const etag = (await call(port, "GET", `/v1.0/state/${store}/a`)).headers.get("etag")!;
  const stale = await call(port, "DELETE", `/v1.0/state/${store}/a`, undefined, {
    "if-match": "00000000-0000-4000-8000-000000000000",
  });
  expect(stale.status).toBe(409);
  expect(stale.json).toMatchObject({ errorCode: "ERR_STATE_DELETE" });
  expect((await call(port, "DELETE", `/v1.0/state/${store}/a`, undefined, { "if-match": etag })).status).toBe(
    204,
  );
  expect((await call(port, "DELETE", `/v1.0/state/${store}/b`)).status).toBe(204);
  expect((await call(port, "DELETE", `/v1.0/state/${store}/never`)).status).toBe(204);
  expect((await call(port, "GET", `/v1.0/state/${store}/a`)).status).toBe(204);
});

test("bulk get returns each key with data and etag; a missing key has only its key", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [{ key: "x", value: { v: 1 } }]);
  const response = await call(port, "POST", `/v1.0/state/${store}/bulk`, {
    keys: ["x", "y"],
    parallelism: 2,
  });
  expect(response.status).toBe(200);
  const [x, y] = response.json as Record<string, unknown>[];
  expect(x).toMatchObject({ key: "x", data: { v: 1 } });
  expect(x!.etag).toMatch(/^[0-9a-f-]{36}$/);
  expect(y).toEqual({ key: "y" });
});

test("a transaction is all-or-nothing: an ETag mismatch is 500 ERR_STATE_TRANSACTION and nothing changes", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [{ key: "keep", value: 1 }]);
  const ok = await call(port, "POST", `/v1.0/state/${store}/transaction`, {
    operations: [
      { operation: "upsert", request: { key: "t1", value: "a" } },
      { operation: "delete", request: { key: "keep" } },
    ],
  });
  expect(ok.status).toBe(204);
  expect((await call(port, "GET", `/v1.0/state/${store}/keep`)).status).toBe(204);
  const failed = await call(port, "POST", `/v1.0/state/${store}/transaction`, {
    operations: [
      { operation: "upsert", request: { key: "t2", value: "b" } },
      {
        operation: "upsert",
        request: { key: "t1", value: "c", etag: "00000000-0000-4000-8000-000000000000" },
      },
    ],
  });
  expect(failed.status).toBe(500);
  expect(failed.json).toMatchObject({ errorCode: "ERR_STATE_TRANSACTION" });
  expect((await call(port, "GET", `/v1.0/state/${store}/t2`)).status).toBe(204);
  expect((await call(port, "GET", `/v1.0/state/${store}/t1`)).json).toBe("a");
  const bad = await call(port, "POST", `/v1.0/state/${store}/transaction`, {
    operations: [{ operation: "merge", request: { key: "t1" } }],
  });
  expect(bad.status).toBe(400);
  expect(bad.json).toMatchObject({ errorCode: "ERR_NOT_SUPPORTED_STATE_OPERATION" });
});

test("keys are stored as <appId>||<key>: another app-id does not see them, keyPrefix none shares them", async () => {
  const store = uid("store");
  const a = await stateSidecar(uid("a"), store);
  const b = await stateSidecar(uid("b"), store);
  await call(a.port, "POST", `/v1.0/state/${store}`, [{ key: "private", value: 1 }]);
  expect((await call(b.port, "GET", `/v1.0/state/${store}/private`)).status).toBe(204);

  const shared = uid("shared");
  const extra = "    - name: keyPrefix\n      value: none\n";
  const c = await stateSidecar(uid("c"), shared, extra);
  const d = await stateSidecar(uid("d"), shared, extra);
  await call(c.port, "POST", `/v1.0/state/${shared}`, [{ key: "common", value: 2 }]);
  expect((await call(d.port, "GET", `/v1.0/state/${shared}/common`)).json).toBe(2);
});

test("an unknown state store is 400 ERR_STATE_STORE_NOT_FOUND; a malformed body is 400", async () => {
  const { port, store } = await stateSidecar();
  const unknown = await call(port, "GET", "/v1.0/state/nope/k");
  expect(unknown.status).toBe(400);
  expect(unknown.json).toMatchObject({ errorCode: "ERR_STATE_STORE_NOT_FOUND" });
  const malformed = await call(port, "POST", `/v1.0/state/${store}`, "{not json", {
    "content-type": "application/json",
  });
  expect(malformed.status).toBe(400);
  expect(malformed.json).toMatchObject({ errorCode: "ERR_MALFORMED_REQUEST" });
  const noKey = await call(port, "POST", `/v1.0/state/${store}`, [{ value: 1 }]);
  expect(noKey.status).toBe(400);
  expect((noKey.json as { message: string }).message).toContain("key");
});
