// Conformance: the secrets API over secretstores.local.file and secretstores.local.env
// (reference §4.1), and secretKeyRef resolution in components, as daprd 1.18.2 serves them
// (components-contrib secretstores/local, dapr pkg/api/universal/secrets.go,
// pkg/runtime/processor/secret).
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createLogger } from "#platform/logger.ts";
import { RUNTIME } from "#testing/runtime.ts";
import { afterEach, expect, test } from "vitest";
import { call, cleanupAll, resourcesDir, sidecar, tempDir, uid } from "./test-support.ts";

afterEach(cleanupAll);

async function secretsFile(content: unknown): Promise<string> {
  const dir = await tempDir();
  const file = path.join(dir, `${randomUUID()}.json`);
  await writeFile(file, JSON.stringify(content));
  return file;
}

function fileStoreYaml(name: string, file: string, extra = ""): string {
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - name: secretsFile
      value: ${file}
${extra}`;
}

const SECRETS = {
  db: { user: "orbit", password: "s3cret", port: 5432, tls: true, ca: null, hosts: ["a", { weight: 1.5 }] },
  apiKey: "k-123",
  port: 5432,
  big: 1e6,
  small: 0.00001,
  empty: {},
};

test("local.file: nested keys are flattened with ':'; a value that is not a string is Go's %s of it", async () => {
  const file = await secretsFile(SECRETS);
  const started = await sidecar({
    appId: uid("sec"),
    resourcesPath: await resourcesDir({ "s.yaml": fileStoreYaml("files", file) }),
  });
  const get = (name: string) => call(started.httpPort, "GET", `/v1.0/secrets/files/${name}`);
  const nested = await get("db:password");
  expect(nested.status).toBe(200);
  expect(nested.json).toEqual({ "db:password": "s3cret" });
  expect((await get("apiKey")).json).toEqual({ apiKey: "k-123" });
  // fmt.Sprintf("%s", v) of what encoding/json decoded: float64, bool, nil.
  const expected = {
    "db:user": "orbit",
    "db:password": "s3cret",
    "db:port": "%!s(float64=5432)",
    "db:tls": "%!s(bool=true)",
    "db:ca": "%!s(<nil>)",
    "db:hosts:0": "a",
    "db:hosts:1:weight": "%!s(float64=1.5)",
    apiKey: "k-123",
    port: "%!s(float64=5432)",
    big: "%!s(float64=1e+06)",
    small: "%!s(float64=1e-05)",
  };
  for (const [name, value] of Object.entries(expected)) {
    expect((await get(name)).json, name).toEqual({ [name]: value });
  }
  expect((await get("bulk")).json).toEqual(
    Object.fromEntries(Object.entries(expected).map(([name, value]) => [name, { [name]: value }])),
  );
  // A secret the store does not have (an empty object leaves none; "db" is not a leaf).
  for (const name of ["nothing", "empty", "db"]) {
    const missing = await get(name);
    expect(missing.status, name).toBe(500);
    expect(missing.json).toEqual({
      errorCode: "ERR_SECRET_GET",
      message: `failed getting secret with key ${name} from secret store files: secret ${name} not found`,
    });
  }
});

test("local.file with multiValued: each top-level key is one secret holding its fields; other top-level values are dropped", async () => {
  const file = await secretsFile(SECRETS);
  const extra =
    '    - name: multiValued\n      value: "true"\n    - name: nestedSeparator\n      value: "."\n';
  const started = await sidecar({
    appId: uid("sec"),
    resourcesPath: await resourcesDir({ "s.yaml": fileStoreYaml("files", file, extra) }),
  });
  const get = (name: string) => call(started.httpPort, "GET", `/v1.0/secrets/files/${name}`);
  const db = {
    user: "orbit",
    password: "s3cret",
    port: "%!s(float64=5432)",
    tls: "%!s(bool=true)",
    ca: "%!s(<nil>)",
    "hosts.0": "a",
    "hosts.1.weight": "%!s(float64=1.5)",
  };
  expect((await get("db")).json).toEqual(db);
  expect((await get("apiKey")).json).toEqual({ apiKey: "k-123" });
  const port = await get("port");
  expect(port.status).toBe(500);
  expect(port.json).toMatchObject({ errorCode: "ERR_SECRET_GET" });
  expect((await get("bulk")).json).toEqual({ db, apiKey: { apiKey: "k-123" }, empty: {} });
});

test("local.env answers every name within its prefix, empty when unset or forbidden (DAPR_*, APP_API_TOKEN)", async () => {
  const envStore = (name: string, prefix?: string) => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: secretstores.local.env
  version: v1
${prefix ? `  metadata:\n    - name: prefix\n      value: ${prefix}\n` : ""}`;
  // A prefix of this test alone: daprd's environment is the whole test process's.
  const prefix = `ORBITTEST${randomUUID().slice(0, 8).toUpperCase()}_`;
  const other = `${prefix.slice(0, -1)}X_OTHER`;
  const started = await sidecar({
    appId: uid("env"),
    env: {
      [`${prefix}SMTP_PASSWORD`]: "pw",
      [`${prefix}BLANK`]: "",
      [prefix]: "the prefix alone",
      [other]: "x",
      [`DAPR_${prefix}`]: "hidden",
      [`dapr_${prefix}`]: "hidden",
      app_api_token: "hidden",
    },
    resourcesPath: await resourcesDir({
      "a.yaml": envStore("orbitenv", prefix),
      "b.yaml": envStore("allenv"),
    }),
  });
  const get = async (store: string, name: string) => {
    const response = await call(started.httpPort, "GET", `/v1.0/secrets/${store}/${name}`);
    expect(response.status, `${store}/${name}`).toBe(200);
    return response.json;
  };
  expect(await get("orbitenv", "SMTP_PASSWORD")).toEqual({ SMTP_PASSWORD: "pw" });
  expect(await get("orbitenv", "UNSET")).toEqual({ UNSET: "" });
  expect(await get("orbitenv", other)).toEqual({ [other]: "" });
  // Bulk: the variables longer than the prefix that start with it (an empty one too).
  expect(await get("orbitenv", "bulk")).toEqual({
    SMTP_PASSWORD: { SMTP_PASSWORD: "pw" },
    BLANK: { BLANK: "" },
  });
  expect(await get("allenv", other)).toEqual({ [other]: "x" });
  for (const forbidden of [`DAPR_${prefix}`, `dapr_${prefix}`, "app_api_token"]) {
    expect(await get("allenv", forbidden)).toEqual({ [forbidden]: "" });
  }
  const all = (await get("allenv", "bulk")) as Record<string, unknown>;
  expect(all[other]).toEqual({ [other]: "x" });
  for (const forbidden of [`DAPR_${prefix}`, `dapr_${prefix}`, "app_api_token"]) {
    expect(all, forbidden).not.toHaveProperty([forbidden]);
  }
});

test("an unknown secret store is 401 ERR_SECRET_STORE_NOT_FOUND; with no secret store at all, 500", async () => {
  const file = await secretsFile(SECRETS);
  const started = await sidecar({
    appId: uid("sec"),
    resourcesPath: await resourcesDir({ "s.yaml": fileStoreYaml("files", file) }),
  });
  for (const name of ["db", "bulk"]) {
    const response = await call(started.httpPort, "GET", `/v1.0/secrets/vault/${name}`);
    expect(response.status).toBe(401);
    expect(response.json).toEqual({
      errorCode: "ERR_SECRET_STORE_NOT_FOUND",
      message: "failed finding secret store with key vault",
    });
  }
  const none = await sidecar({ appId: uid("none") });
  const response = await call(none.httpPort, "GET", "/v1.0/secrets/files/db");
  expect(response.status).toBe(500);
  expect(response.json).toEqual({
    errorCode: "ERR_SECRET_STORES_NOT_CONFIGURED",
    message: "secret store is not configured",
  });
});

test(
  "a component's secretKeyRef is read from its auth.secretStore; a secret it lacks leaves the field empty; " +
    "a store that is not loaded leaves the component unloaded",
  async () => {
    // keyPrefix shows what the state store was given: two app-ids share keys only under the
    // same custom prefix, and an empty keyPrefix is the prefix "" (keys `||<key>`).
    const prefix = uid("shared");
    const file = await secretsFile({ prefix, blank: "" });
    const stateYaml = (
      name: string,
      keyPrefix: string,
      secretStore = "files",
    ) => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: state.postgresql
  version: v2
  metadata:
    - name: connectionString
      value: postgresql://unused
    - name: keyPrefix
${keyPrefix}
auth:
  secretStore: ${secretStore}
`;
    const fromSecret = (secret: string) =>
      `      secretKeyRef:\n        name: ${secret}\n        key: ${secret}`;
    const literal = (value: string) => `      value: "${value}"`;
    const lines: string[] = [];
    const log = createLogger("local-dapr", "debug", {}, (line) => lines.push(line));
    const shares = async (keyPrefix: string, sameAs: string) => {
      const store = uid("store");
      const reader = await sidecar({
        appId: uid("reader"),
        resourcesPath: await resourcesDir({
          "s.yaml": fileStoreYaml("files", file),
          "p.yaml": stateYaml(store, sameAs),
        }),
      });
      const writer = await sidecar({
        appId: uid("writer"),
        log,
        resourcesPath: await resourcesDir({
          "s.yaml": fileStoreYaml("files", file),
          "p.yaml": stateYaml(store, keyPrefix),
        }),
      });
      const key = uid("k");
      expect((await call(writer.httpPort, "POST", `/v1.0/state/${store}`, [{ key, value: 1 }])).status).toBe(
        204,
      );
      const metadata = (await call(writer.httpPort, "GET", "/v1.0/metadata")).json as {
        components: unknown[];
      };
      expect(metadata.components).toContainEqual(
        expect.objectContaining({ name: store, type: "state.postgresql", version: "v2" }),
      );
      return (await call(reader.httpPort, "GET", `/v1.0/state/${store}/${key}`)).status === 200;
    };
    expect(await shares(fromSecret("prefix"), literal(prefix))).toBe(true);
    expect(await shares(fromSecret("prefix"), literal(uid("other")))).toBe(false);
    expect(await shares(fromSecret("nope"), literal(""))).toBe(true);
    expect(await shares(fromSecret("blank"), literal(""))).toBe(true);
    if (RUNTIME === "local") {
      // daprd logs the store's error and goes on (pkg/runtime/processor/secret ProcessResource).
      expect(lines.some((line) => line.includes("Error getting secret: secret nope not found"))).toBe(true);
    }

    const unloaded = uid("store");
    const started = await sidecar({
      appId: uid("unloaded"),
      log,
      resourcesPath: await resourcesDir({
        "s.yaml": fileStoreYaml("files", file),
        "p.yaml": stateYaml(unloaded, fromSecret("prefix"), "vault"),
        "q.yaml": stateYaml(uid("store"), fromSecret("prefix")),
      }),
    });
    const response = await call(started.httpPort, "GET", `/v1.0/state/${unloaded}/k`);
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ errorCode: "ERR_STATE_STORE_NOT_FOUND" });
    if (RUNTIME === "local") {
      expect(lines.some((line) => line.includes(`references a secret store that isn't loaded: vault`))).toBe(
        true,
      );
    }
  },
);

test("a secrets file that cannot be read fails startup naming the file", async () => {
  const resources = await resourcesDir({ "s.yaml": fileStoreYaml("files", "/nonexistent/secrets.json") });
  await expect(sidecar({ appId: uid("sec"), resourcesPath: resources })).rejects.toThrow(
    /\/nonexistent\/secrets.json/,
  );
});
