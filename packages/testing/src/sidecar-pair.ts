// A function served in-process beside a Dapr sidecar: the project's local sidecar
// (packages/local-dapr, in-process too) or, with ORBIT_DAPR_RUNTIME=daprd, a real daprd process
// with the Scheduler and Kafka (runtime.ts). Both on ephemeral ports over the test worker's
// database: pub/sub, jobs, bindings and secrets behave as under `make dev` (or `dapr run`), while
// the test keeps direct access to the function (and can call its routes as Dapr would). Each pair
// gets a fresh app-id unless told otherwise, so consumer groups and jobs of earlier tests never
// reach it.
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createLogger, type Level } from "#platform/logger.ts";
import type { BaseEnv } from "#platform/env.ts";
import type { FunctionDef } from "#platform/host.ts";
import { startSidecar } from "#local-dapr/sidecar.ts";
import { daprdArgv, daprdHealthy, daprdPorts, LoggedProcess } from "./daprd.ts";
import { startFunction, type StartedFunction } from "./fixtures.ts";
import { pubsubYaml } from "./components.ts";
import { freePort } from "./ports.ts";
import { daprBacking, daprdResources, releaseDaprBacking, RUNTIME, type DaprBacking } from "./runtime.ts";
import { workerDatabaseUrl } from "./worker-db.ts";

export interface FunctionWithSidecar<E extends BaseEnv> {
  appId: string;
  fn: StartedFunction<E>;
  /** The sidecar's HTTP API, e.g. http://127.0.0.1:43123. */
  daprUrl: string;
  /** Kafka, the Scheduler and the mail relay, when the sidecar is real daprd. */
  backing: DaprBacking | null;
  close(): Promise<void>;
}

export async function startFunctionWithSidecar<E extends BaseEnv>(
  def: FunctionDef<E>,
  options: { resourcesPath: string; appId?: string; env?: Record<string, string>; cwd?: string },
): Promise<FunctionWithSidecar<E>> {
  const appId = options.appId ?? `${def.name}-${randomUUID().slice(0, 8)}`;
  const daprPort = await freePort();
  const fn = await startFunction(def, { DAPR_HTTP_PORT: String(daprPort), ...options.env });
  if (RUNTIME === "daprd") return withDaprd(appId, fn, daprPort, options);
  let sidecar: Awaited<ReturnType<typeof startSidecar>>;
  try {
    sidecar = await startSidecar({
      appId,
      appPort: Number(new URL(fn.url).port),
      httpPort: daprPort,
      // The token the function requires on its delivery routes, as daprd's APP_API_TOKEN.
      appApiToken: fn.built.ctx.env.APP_API_TOKEN,
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
    daprUrl: `http://127.0.0.1:${sidecar.httpPort}`,
    backing: null,
    close: async () => {
      await sidecar.stop();
      await fn.close();
    },
  };
}

async function withDaprd<E extends BaseEnv>(
  appId: string,
  fn: StartedFunction<E>,
  daprPort: number,
  options: { resourcesPath: string; cwd?: string },
): Promise<FunctionWithSidecar<E>> {
  let daprd: LoggedProcess | null = null;
  try {
    const backing = await daprBacking();
    const ports = await daprdPorts(daprPort);
    daprd = new LoggedProcess(
      `daprd ${appId}`,
      daprdArgv({
        appId,
        appPort: Number(new URL(fn.url).port),
        ports,
        resourcesPath: await daprdResources(options.resourcesPath, backing),
        configPath: backing.configPath,
        schedulerAddress: backing.scheduler.address,
        appHealthCheckPath: "/readyz",
      }),
      // daprd reads the app API token from its environment (dapr/dapr pkg/security GetAppToken).
      { ...process.env, APP_API_TOKEN: fn.built.ctx.env.APP_API_TOKEN },
      options.cwd,
    ).start();
    await daprd.waitUntil(`daprd ${appId} healthy`, () => daprdHealthy(ports.http));
    const started = daprd;
    return {
      appId,
      fn,
      daprUrl: `http://127.0.0.1:${ports.http}`,
      backing,
      close: async () => {
        await started.stop();
        await fn.close();
        await releaseDaprBacking();
      },
    };
  } catch (error) {
    await daprd?.stop();
    await fn.close();
    await releaseDaprBacking();
    throw error;
  }
}

/** A temporary resources folder holding `files` (name → YAML). */
export async function resourcesFolder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "orbit-dapr-resources-"));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** The `email` SMTP binding as the local sidecar serves it: each mail a JSON file in `mailDir`. */
export const EMAIL_COMPONENT = (mailDir: string) => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: email
spec:
  type: bindings.smtp
  version: v1
  metadata:
    - name: host
      value: localhost
    - name: emailFrom
      value: reminders@orbit.test
    - name: localOutboxDir
      value: ${mailDir}
`;

/** The `pubsub` component as the local sidecar serves it (its PostgreSQL broker). */
export const PUBSUB_COMPONENT = pubsubYaml();
