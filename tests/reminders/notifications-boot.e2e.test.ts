// The `make dev` path for VAPID keys: scripts/local-secrets.ts writes them, the local sidecar
// serves that file as the secret store `secretstore` (secretstores.local.file, multiValued), and
// the notifications process (its real entry point, as its own OS process) reads them at start. The
// reminder action key is read the same way by notifications and by on-reminder-fired.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { REPO_ROOT } from "#db/migrate.ts";
import { createLogger } from "#platform/logger.ts";
import { secretStoreYaml } from "#testing/components.ts";
import { resourcesFolder } from "#testing/sidecar-pair.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";
import { startSidecar, type Sidecar } from "#local-dapr/sidecar.ts";
import { ensureLocalSecrets } from "../../scripts/local-secrets.ts";

let child: ChildProcess | null = null;
let sidecar: Sidecar | null = null;

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await sidecar?.stop();
  child = null;
  sidecar = null;
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function startNotifications(env: Record<string, string>): { output: string[]; exit: Promise<number | null> } {
  return startFunctionProcess("notifications", env);
}

function startFunctionProcess(
  name: string,
  env: Record<string, string>,
): { output: string[]; exit: Promise<number | null> } {
  const output: string[] = [];
  child = spawn(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [`functions/${name}/index.ts`], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  return { output, exit: new Promise((resolve) => child!.once("exit", (code) => resolve(code))) };
}

/** A local sidecar over `resources` (beside an app on `appPort`, if given). */
async function bootSidecar(resources: string, appPort?: number): Promise<Sidecar> {
  return startSidecar({
    appId: `notifications-boot-${randomUUID().slice(0, 8)}`,
    ...(appPort ? { appPort } : {}),
    httpPort: 0,
    storageUrl: await workerDatabaseUrl(),
    resourcesPath: resources,
    log: createLogger("local-dapr", "silent"),
  });
}

test("notifications starts with the VAPID keys `make dev` generated into the local secrets file", async () => {
  const secretsFile = path.join(await mkdtemp(path.join(tmpdir(), "orbit-secrets-")), "secrets.json");
  ensureLocalSecrets(secretsFile);
  const { vapid } = JSON.parse(await readFile(secretsFile, "utf8"));
  const resources = await resourcesFolder({
    "secretstore.yaml": secretStoreYaml(secretsFile),
  });
  const appPort = await freePort();
  sidecar = await bootSidecar(resources, appPort);
  const { output } = startNotifications({
    PORT: String(appPort),
    DAPR_HTTP_PORT: String(sidecar.httpPort),
    DATABASE_URL: await workerDatabaseUrl(),
  });

  const deadline = Date.now() + 20_000;
  let body: unknown = null;
  while (Date.now() < deadline && body === null) {
    const response = await fetch(`http://127.0.0.1:${appPort}/v1/push/vapid-public-key`).catch(() => null);
    if (response?.ok) body = await response.json();
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(body, output.join("")).toEqual({ public_key: vapid.public_key });
});

test("without VAPID keys anywhere, notifications exits at once with a message saying what to set", async () => {
  const resources = await resourcesFolder({});
  sidecar = await bootSidecar(resources);
  const { output, exit } = startNotifications({
    PORT: String(await freePort()),
    DAPR_HTTP_PORT: String(sidecar.httpPort),
    DATABASE_URL: await workerDatabaseUrl(),
  });
  expect(await exit).toBe(78);
  expect(output.join("")).toContain(
    'notifications: Web Push is not configured: no VAPID_* variables, and reading secret "vapid" from store "secretstore" failed',
  );
  expect(output.join("")).toContain("Set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT");
});

test("without a webhook secret key, notifications exits at once with a message saying what to set", async () => {
  const secretsFile = path.join(await mkdtemp(path.join(tmpdir(), "orbit-secrets-")), "secrets.json");
  ensureLocalSecrets(secretsFile);
  const { vapid } = JSON.parse(await readFile(secretsFile, "utf8"));
  // VAPID keys alone, as a secrets file from before encryption at rest held.
  await writeFile(secretsFile, JSON.stringify({ vapid }));
  const resources = await resourcesFolder({
    "secretstore.yaml": secretStoreYaml(secretsFile),
  });
  sidecar = await bootSidecar(resources);
  const { output, exit } = startNotifications({
    PORT: String(await freePort()),
    DAPR_HTTP_PORT: String(sidecar.httpPort),
    DATABASE_URL: await workerDatabaseUrl(),
  });
  expect(await exit).toBe(78);
  expect(output.join("")).toContain(
    'notifications: no WEBHOOK_SECRET_KEYS, and reading secret "webhook-secret-key" from store "secretstore" failed',
  );
  expect(output.join("")).toContain('Set WEBHOOK_SECRET_KEYS (JSON: {"current":"<kid>"');
});

test("without a reminder action key, notifications and on-reminder-fired exit at once saying what to set", async () => {
  const secretsFile = path.join(await mkdtemp(path.join(tmpdir(), "orbit-secrets-")), "secrets.json");
  ensureLocalSecrets(secretsFile);
  // Every secret but the action key, as a secrets file from before reminder actions held.
  const secrets = JSON.parse(await readFile(secretsFile, "utf8")) as Record<string, unknown>;
  delete secrets["reminder-action-key"];
  await writeFile(secretsFile, JSON.stringify(secrets));
  sidecar = await bootSidecar(await resourcesFolder({ "secretstore.yaml": secretStoreYaml(secretsFile) }));
  for (const name of ["notifications", "on-reminder-fired"]) {
    const { output, exit } = startFunctionProcess(name, {
      PORT: String(await freePort()),
      DAPR_HTTP_PORT: String(sidecar.httpPort),
      DATABASE_URL: await workerDatabaseUrl(),
    });
    expect(await exit, name).toBe(78);
    expect(output.join(""), name).toContain(
      `${name}: no REMINDER_ACTION_KEYS, and reading secret "reminder-action-key" from store "secretstore" failed`,
    );
    expect(output.join(""), name).toContain('Set REMINDER_ACTION_KEYS (JSON: {"current":"<kid>"');
  }
});
