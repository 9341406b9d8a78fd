// Conformance: the secrets API over secretstores.local.file and secretstores.local.env
// (reference §4.1), and secretKeyRef resolution in components.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import {
  call,
  cleanupAll,
  pubsubYaml,
  resourcesDir,
  sidecar,
  tempDir,
  uid,
  localOnly,
} from "./test-support.ts";

afterEach(cleanupAll);

async function secretsFile(content: unknown): Promise<string> {
  const dir = await tempDir();
  const file = path.join(dir, "secrets.json");
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

const SECRETS = { db: { user: "orbit", password: "s3cret" }, apiKey: "k-123", port: 5432 };

localOnly(
  "local.file: nested keys are flattened with ':'; GET answers {name: value}, a missing secret 204",
  async () => {
    const file = await secretsFile(SECRETS);
    const started = await sidecar({
      appId: uid("sec"),
      resourcesPath: await resourcesDir({ "s.yaml": fileStoreYaml("files", file) }),
    });
    const nested = await call(started.httpPort, "GET", "/v1.0/secrets/files/db:password");
    expect(nested.status).toBe(200);
    expect(nested.json).toEqual({ "db:password": "s3cret" });
    expect((await call(started.httpPort, "GET", "/v1.0/secrets/files/apiKey")).json).toEqual({
      apiKey: "k-123",
    });
    expect((await call(started.httpPort, "GET", "/v1.0/secrets/files/port")).json).toEqual({ port: "5432" });
    const missing = await call(started.httpPort, "GET", "/v1.0/secrets/files/nothing");
    expect(missing.status).toBe(204);
    expect((await call(started.httpPort, "GET", "/v1.0/secrets/files/bulk")).json).toEqual({
      "db:user": { "db:user": "orbit" },
      "db:password": { "db:password": "s3cret" },
      apiKey: { apiKey: "k-123" },
      port: { port: "5432" },
    });
  },
);

test("local.file with multiValued: each top-level key is one secret holding its fields", async () => {
  const file = await secretsFile(SECRETS);
  const extra =
    '    - name: multiValued\n      value: "true"\n    - name: nestedSeparator\n      value: "."\n';
  const started = await sidecar({
    appId: uid("sec"),
    resourcesPath: await resourcesDir({ "s.yaml": fileStoreYaml("files", file, extra) }),
  });
  expect((await call(started.httpPort, "GET", "/v1.0/secrets/files/db")).json).toEqual({
    user: "orbit",
    password: "s3cret",
  });
  expect((await call(started.httpPort, "GET", "/v1.0/secrets/files/apiKey")).json).toEqual({
    apiKey: "k-123",
  });
});

localOnly("local.env reads the sidecar's environment within its prefix, never DAPR_* variables", async () => {
  const envStore = (name: string, prefix?: string) => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: secretstores.local.env
  version: v1
${prefix ? `  metadata:\n    - name: prefix\n      value: ${prefix}\n` : ""}`;
  const started = await sidecar({
    appId: uid("env"),
    env: { ORBIT_SMTP_PASSWORD: "pw", OTHER: "x", DAPR_HTTP_PORT: "3500" },
    resourcesPath: await resourcesDir({
      "a.yaml": envStore("orbitenv", "ORBIT_"),
      "b.yaml": envStore("allenv"),
    }),
  });
  const get = (store: string, name: string) =>
    call(started.httpPort, "GET", `/v1.0/secrets/${store}/${name}`);
  expect((await get("orbitenv", "SMTP_PASSWORD")).json).toEqual({ SMTP_PASSWORD: "pw" });
  expect((await get("orbitenv", "OTHER")).status).toBe(204);
  expect((await get("orbitenv", "bulk")).json).toEqual({ SMTP_PASSWORD: { SMTP_PASSWORD: "pw" } });
  expect((await get("allenv", "OTHER")).json).toEqual({ OTHER: "x" });
  expect((await get("allenv", "DAPR_HTTP_PORT")).status).toBe(204);
});

localOnly("an unknown secret store is 400 ERR_SECRET_STORE_NOT_FOUND", async () => {
  const file = await secretsFile(SECRETS);
  const started = await sidecar({
    appId: uid("sec"),
    resourcesPath: await resourcesDir({ "s.yaml": fileStoreYaml("files", file) }),
  });
  const response = await call(started.httpPort, "GET", "/v1.0/secrets/vault/db");
  expect(response.status).toBe(400);
  expect(response.json).toMatchObject({ errorCode: "ERR_SECRET_STORE_NOT_FOUND" });
});

localOnly(
  "a component's secretKeyRef is read from its auth.secretStore; a missing secret fails startup naming it",
  async () => {
    const file = await secretsFile({ redisPassword: "pw" });
    const component = (secret: string) =>
      pubsubYaml("pubsub").replace(
        "    - name: redeliverInterval",
        `    - name: redisPassword\n      secretKeyRef:\n        name: ${secret}\n        key: ${secret}\n    - name: redeliverInterval`,
      ) + "auth:\n  secretStore: files\n";
    const ok = await resourcesDir({
      "s.yaml": fileStoreYaml("files", file),
      "p.yaml": component("redisPassword"),
    });
    const started = await sidecar({ appId: uid("ok"), resourcesPath: ok });
    expect((await call(started.httpPort, "GET", "/v1.0/metadata")).json).toMatchObject({
      components: expect.arrayContaining([{ name: "pubsub", type: "pubsub.redis", version: "v1" }]),
    });
    const broken = await resourcesDir({
      "s.yaml": fileStoreYaml("files", file),
      "p.yaml": component("nope"),
    });
    await expect(sidecar({ appId: uid("broken"), resourcesPath: broken })).rejects.toThrow(
      /needs secret "nope"/,
    );
  },
);

test("a secrets file that cannot be read fails startup naming the file", async () => {
  const resources = await resourcesDir({ "s.yaml": fileStoreYaml("files", "/nonexistent/secrets.json") });
  await expect(sidecar({ appId: uid("sec"), resourcesPath: resources })).rejects.toThrow(
    /\/nonexistent\/secrets.json/,
  );
});
