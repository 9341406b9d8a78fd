// Conformance: the state API over a state.postgresql (v2) component (reference §3.1), as daprd
// 1.18.2 answers it (dapr pkg/api/http/http.go, components-contrib state/postgresql/v2).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { call, cleanupAll, resourcesDir, sidecar, tempDir, uid } from "./test-support.ts";

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

const STALE = "00000000-0000-4000-8000-000000000000";
const MISMATCH = "possible etag mismatch. error from state store";

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
  expect((await call(port, "POST", `/v1.0/state/${store}`, [])).status).toBe(204);
});

test("a value is stored as daprd re-encodes it (Go's json.Marshal): sorted keys, HTML-safe strings, null for none", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [
    { key: "doc", value: { b: 1, a: "<&>", n: [1.5, 1e21, 1e-7], u: "\u2028" } },
    { key: "quote", value: 'say "<hi>"' },
    { key: "none" },
  ]);
  expect((await call(port, "GET", `/v1.0/state/${store}/doc`)).text).toBe(
    '{"a":"\\u003c\\u0026\\u003e","b":1,"n":[1.5,1e+21,1e-7],"u":"\\u2028"}',
  );
  expect((await call(port, "GET", `/v1.0/state/${store}/quote`)).text).toBe('"say \\"\\u003chi\\u003e\\""');
  const none = await call(port, "GET", `/v1.0/state/${store}/none`);
  expect(none.status).toBe(200);
  expect(none.text).toBe("null");
});

test("a save with a stale ETag is 409 ERR_STATE_SAVE; with the current ETag it succeeds and the ETag changes", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 1 }]);
  const etag = (await call(port, "GET", `/v1.0/state/${store}/k`)).headers.get("etag")!;
  expect((await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 2, etag }])).status).toBe(204);
  const stale = await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 3, etag }]);
  expect(stale.status).toBe(409);
  expect(stale.json).toEqual({
    errorCode: "ERR_STATE_SAVE",
    message: `failed saving state in state store ${store}: ${MISMATCH}`,
  });
  const current = await call(port, "GET", `/v1.0/state/${store}/k`);
  expect(current.json).toBe(2);
  expect(current.headers.get("etag")).not.toBe(etag);
});

test("an ETag that is not a UUID is an ETag mismatch: 409 on save and on delete, naming uuid.Parse's error", async () => {
  const { port, store } = await stateSidecar();
  const saved = await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 1, etag: "v1" }]);
  expect(saved.status).toBe(409);
  expect(saved.json).toEqual({
    errorCode: "ERR_STATE_SAVE",
    message: `failed saving state in state store ${store}: ${MISMATCH}: invalid UUID length: 2`,
  });
  expect((await call(port, "GET", `/v1.0/state/${store}/k`)).status).toBe(204);
  await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 1 }]);
  const notHex = "zzzzzzzz-0000-4000-8000-000000000000";
  const deleted = await call(port, "DELETE", `/v1.0/state/${store}/k`, undefined, { "if-match": notHex });
  expect(deleted.status).toBe(409);
  expect(deleted.json).toEqual({
    errorCode: "ERR_STATE_DELETE",
    message: `failed deleting state with key k: ${MISMATCH}: invalid UUID format`,
  });
  // Any form uuid.Parse takes names the same ETag: upper case, braces, urn:uuid:, no dashes.
  const forms = [
    (e: string) => e.toUpperCase(),
    (e: string) => `{${e}}`,
    (e: string) => `urn:uuid:${e}`,
    (e: string) => e.replaceAll("-", ""),
  ];
  for (const [i, form] of forms.entries()) {
    const etag = (await call(port, "GET", `/v1.0/state/${store}/k`)).headers.get("etag")!;
    const response = await call(port, "POST", `/v1.0/state/${store}`, [
      { key: "k", value: i, etag: form(etag) },
    ]);
    expect(response.status, form(etag)).toBe(204);
  }
  expect((await call(port, "GET", `/v1.0/state/${store}/k`)).json).toBe(3);
});

test("first-write without an ETag only inserts: writing an existing key that way is 500 'no item was updated'", async () => {
  const { port, store } = await stateSidecar();
  const item = { key: "once", value: 1, options: { concurrency: "first-write" } };
  expect((await call(port, "POST", `/v1.0/state/${store}`, [item])).status).toBe(204);
  const again = await call(port, "POST", `/v1.0/state/${store}`, [{ ...item, value: 2 }]);
  expect(again.status).toBe(500);
  expect(again.json).toEqual({
    errorCode: "ERR_STATE_SAVE",
    message: `failed saving state in state store ${store}: no item was updated`,
  });
  expect((await call(port, "GET", `/v1.0/state/${store}/once`)).json).toBe(1);
});

test("a save of several items is not all-or-nothing: each item is written on its own, and any ETag failure makes it 409", async () => {
  const { port, store } = await stateSidecar();
  const save = (items: unknown[]) => call(port, "POST", `/v1.0/state/${store}`, items);
  const value = async (key: string) => (await call(port, "GET", `/v1.0/state/${store}/${key}`)).json;
  const failed = (message: string) => `failed saving state in state store ${store}: ${message}`;
  const firstWrite = { concurrency: "first-write" };
  await save([{ key: "a", value: 1 }]);

  // ETag failures only: 409 with the joined failures under one more "possible etag mismatch".
  const stale = await save([
    { key: "b", value: 1 },
    { key: "a", value: 2, etag: STALE },
  ]);
  expect(stale.status).toBe(409);
  expect(stale.json).toEqual({ errorCode: "ERR_STATE_SAVE", message: failed(`${MISMATCH}: ${MISMATCH}`) });
  expect(await value("b")).toBe(1);
  expect(await value("a")).toBe(1);
  const invalid = await save([
    { key: "c", value: 1 },
    { key: "a", value: 2, etag: "v1" },
  ]);
  expect(invalid.status).toBe(409);
  expect((invalid.json as { message: string }).message).toBe(
    failed(`${MISMATCH}: ${MISMATCH}: invalid UUID length: 2`),
  );
  expect(await value("c")).toBe(1);
  const twoStale = await save([
    { key: "a", value: 3, etag: STALE },
    { key: "b", value: 3, etag: STALE },
  ]);
  expect(twoStale.status).toBe(409);
  expect((twoStale.json as { message: string }).message).toBe(
    failed(`${MISMATCH}: ${MISMATCH}\n${MISMATCH}`),
  );

  // No ETag failure: 500 with the joined failures.
  const notUpdated = await save([
    { key: "a", value: 4, options: firstWrite },
    { key: "b", value: 4, options: firstWrite },
    { key: "d", value: 1 },
  ]);
  expect(notUpdated.status).toBe(500);
  expect(notUpdated.json).toEqual({
    errorCode: "ERR_STATE_SAVE",
    message: failed("no item was updated\nno item was updated"),
  });
  expect(await value("d")).toBe(1);

  // An ETag failure beside others: 409 with that ETag failure alone.
  const mixed = await save([
    { key: "a", value: 5, options: firstWrite },
    { key: "e", value: 1, etag: STALE },
    { key: "f", value: 1 },
  ]);
  expect(mixed.status).toBe(409);
  expect((mixed.json as { message: string }).message).toBe(failed(MISMATCH));
  expect(await value("f")).toBe(1);
  expect(await value("a")).toBe(1);
});

test("delete: a stale If-Match is 409, the right one 204, no If-Match 204", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [
    { key: "a", value: 1 },
    { key: "b", value: 1 },
  ]);
  const etag = (await call(port, "GET", `/v1.0/state/${store}/a`)).headers.get("etag")!;
  const stale = await call(port, "DELETE", `/v1.0/state/${store}/a`, undefined, { "if-match": STALE });
  expect(stale.status).toBe(409);
  expect(stale.json).toEqual({
    errorCode: "ERR_STATE_DELETE",
    message: `failed deleting state with key a: ${MISMATCH}`,
  });
  expect((await call(port, "DELETE", `/v1.0/state/${store}/a`, undefined, { "if-match": etag })).status).toBe(
    204,
  );
  expect((await call(port, "DELETE", `/v1.0/state/${store}/b`)).status).toBe(204);
  expect((await call(port, "DELETE", `/v1.0/state/${store}/never`)).status).toBe(204);
  expect(
    (await call(port, "DELETE", `/v1.0/state/${store}/never`, undefined, { "if-match": STALE })).status,
  ).toBe(409);
  expect((await call(port, "GET", `/v1.0/state/${store}/a`)).status).toBe(204);
});

test("bulk get returns each key with data and etag (and the TTL's expiry); a missing key has only its key", async () => {
  const { port, store } = await stateSidecar();
  await call(port, "POST", `/v1.0/state/${store}`, [
    { key: "x", value: { v: 1 } },
    { key: "t", value: 2, metadata: { ttlInSeconds: "3600" } },
  ]);
  const before = Date.now();
  const response = await call(port, "POST", `/v1.0/state/${store}/bulk`, {
    keys: ["x", "t", "y"],
    parallelism: 2,
  });
  expect(response.status).toBe(200);
  const items = response.json as Record<string, unknown>[];
  const byKey = new Map(items.map((item) => [item.key, item]));
  expect(byKey.get("x")).toEqual({
    key: "x",
    data: { v: 1 },
    etag: expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
  expect(byKey.get("y")).toEqual({ key: "y" });
  const t = byKey.get("t") as { data: unknown; metadata: { ttlExpireTime: string } };
  expect(t.data).toBe(2);
  expect(t.metadata.ttlExpireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(Math.abs(Date.parse(t.metadata.ttlExpireTime) - (before + 3_600_000))).toBeLessThan(30_000);
});

test("a bad TTL or concurrency fails that item with 500 ERR_STATE_SAVE; a metadata value that is not a string is 400", async () => {
  const { port, store } = await stateSidecar();
  const save = (items: unknown[]) => call(port, "POST", `/v1.0/state/${store}`, items);
  const ttl = "error parsing TTL: incorrect value for metadata 'ttlInSeconds'";
  for (const [given, message] of [
    ["abc", `${ttl}: strconv.ParseInt: parsing "abc": invalid syntax`],
    ["1.5", `${ttl}: strconv.ParseInt: parsing "1.5": invalid syntax`],
    ["-5", `${ttl}: must be -1 or greater`],
  ] as const) {
    const response = await save([{ key: "t", value: 1, metadata: { ttlInSeconds: given } }]);
    expect(response.status, given).toBe(500);
    expect(response.json).toEqual({
      errorCode: "ERR_STATE_SAVE",
      message: `failed saving state in state store ${store}: ${message}`,
    });
  }
  const concurrency = await save([{ key: "c", value: 1, options: { concurrency: "sometimes" } }]);
  expect(concurrency.status).toBe(500);
  expect((concurrency.json as { message: string }).message).toBe(
    `failed saving state in state store ${store}: unrecognized concurrency model 'sometimes'`,
  );
  const number = await save([{ key: "n", value: 1, metadata: { ttlInSeconds: 60 } }]);
  expect(number.status).toBe(400);
  expect(number.json).toEqual({
    errorCode: "ERR_MALFORMED_REQUEST",
    message: "json: cannot unmarshal number into Go struct field SetRequest.metadata of type string",
  });
  expect((await call(port, "GET", `/v1.0/state/${store}/n`)).status).toBe(204);
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
      { operation: "upsert", request: { key: "t1", value: "c", etag: STALE } },
    ],
  });
  expect(failed.status).toBe(500);
  expect(failed.json).toEqual({
    errorCode: "ERR_STATE_TRANSACTION",
    message: `error while executing state transaction: ${MISMATCH}`,
  });
  expect((await call(port, "GET", `/v1.0/state/${store}/t2`)).status).toBe(204);
  expect((await call(port, "GET", `/v1.0/state/${store}/t1`)).json).toBe("a");
  const transaction = (request: Record<string, unknown>, operation = "upsert") =>
    call(port, "POST", `/v1.0/state/${store}/transaction`, { operations: [{ operation, request }] });
  const invalid = await transaction({ key: "t1", etag: "v1" }, "delete");
  expect(invalid.status).toBe(500);
  expect((invalid.json as { message: string }).message).toBe(
    `error while executing state transaction: ${MISMATCH}: invalid UUID length: 2`,
  );
  const firstWrite = await transaction({ key: "t1", value: "d", options: { concurrency: "first-write" } });
  expect(firstWrite.status).toBe(500);
  expect((firstWrite.json as { message: string }).message).toBe(
    "error while executing state transaction: no item was updated",
  );
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

test("an unknown state store is 400 ERR_STATE_STORE_NOT_FOUND; a malformed body or key is 400", async () => {
  const { port, store } = await stateSidecar();
  const unknown = await call(port, "GET", "/v1.0/state/nope/k");
  expect(unknown.status).toBe(400);
  expect(unknown.json).toMatchObject({
    errorCode: "ERR_STATE_STORE_NOT_FOUND",
    message: "state store nope is not found",
  });
  const malformed = await call(port, "POST", `/v1.0/state/${store}`, "{not json", {
    "content-type": "application/json",
  });
  expect(malformed.status).toBe(400);
  expect(malformed.json).toMatchObject({ errorCode: "ERR_MALFORMED_REQUEST" });
  const notArray = await call(port, "POST", `/v1.0/state/${store}`, { key: "k", value: 1 });
  expect(notArray.status).toBe(400);
  expect(notArray.json).toEqual({
    errorCode: "ERR_MALFORMED_REQUEST",
    message: "json: cannot unmarshal object into Go value of type []state.SetRequest",
  });
  const noKey = await call(port, "POST", `/v1.0/state/${store}`, [{ value: 1 }]);
  expect(noKey.status).toBe(400);
  expect(noKey.json).toEqual({ errorCode: "ERR_MALFORMED_REQUEST", message: '"key" is a required field' });
  const etagNumber = await call(port, "POST", `/v1.0/state/${store}`, [{ key: "k", value: 1, etag: 5 }]);
  expect(etagNumber.status).toBe(400);
  expect((etagNumber.json as { message: string }).message).toBe(
    "json: cannot unmarshal number into Go struct field SetRequest.etag of type string",
  );
  const pipes = await call(port, "POST", `/v1.0/state/${store}`, [{ key: "x||y", value: 1 }]);
  expect(pipes.status).toBe(400);
  expect(pipes.json).toMatchObject({
    errorCode: "ERR_MALFORMED_REQUEST",
    message: "api error: code = InvalidArgument desc = input key/keyPrefix 'x||y' can't contain '||'",
  });
});
