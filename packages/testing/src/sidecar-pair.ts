// A function served in-process beside the project's local Dapr sidecar (packages/local-dapr), both
// on ephemeral ports over the test worker's database: pub/sub, jobs, bindings and secrets behave as
// under `make dev`, while the test keeps direct access to the function (and can call its routes
// as Dapr would). Each pair gets a fresh app-id unless told otherwise, so consumer groups and jobs
// of earlier tests on the same database never reach it.
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLogger, type Level } from "#platform/logger.ts";
import type { BaseEnv } from "#platform/env.ts";
import type { FunctionDef } from "#platform/host.ts";
import { startSidecar, type Sidecar } from "#local-dapr/sidecar.ts";
import { startFunction, type StartedFunction } from "./fixtures.ts";
import { workerDatabaseUrl } from "./worker-db.ts";

export interface FunctionWithSidecar<E extends BaseEnv> {
  appId: string;
  fn: StartedFunction<E>;
  sidecar: Sidecar;
  /** The sidecar's HTTP API, e.g. http://127.0.0.1:43123. */
  daprUrl: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function startFunctionWithSidecar<E extends BaseEnv>(
  def: FunctionDef<E>,
  options: { resourcesPath: string; appId?: string; env?: Record<string, string>; cwd?: string },
): Promise<FunctionWithSidecar<E>> {
  const appId = options.appId ?? `${def.name}-${randomUUID().slice(0, 8)}`;
  const daprPort = await freePort();
  const fn = await startFunction(def, { DAPR_HTTP_PORT: String(daprPort), ...options.env });
  let sidecar: Sidecar;
  try {
    sidecar = await startSidecar({
      appId,
      appPort: Number(new URL(fn.url).port),
      httpPort: daprPort,
      storageUrl: await workerDatabaseUrl(),
      resourcesPath: options.resourcesPath,
      cwd: options.cwd,
      log: createLogger("local-dapr", (process.env.TEST_LOG_LEVEL as Level | undefined) ?? "silent", {
        app_id: appId,
      }),
      sweepIntervalMs: 1_000,
      gracefulShutdownMs: 1_000,
    });
    await sidecar.appReady;
  } catch (error) {
    await fn.close();
    throw error;
  }
  return {
    appId,
    fn,
    sidecar,
    daprUrl: `http://127.0.0.1:${sidecar.httpPort}`,
    close: async () => {
      await sidecar.stop();
      await fn.close();
    },
  };
}

/** A temporary resources folder holding `files` (name → YAML). */
export async function resourcesFolder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "orbit-dapr-resources-"));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** The `pubsub` component as the local sidecar serves it (its PostgreSQL broker). */
export const PUBSUB_COMPONENT = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - name: redisHost
      value: localhost:6379
    - name: redeliverInterval
      value: 200ms
`;
