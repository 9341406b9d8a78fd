// A no-op subscriber app (in this process) behind its own sidecar process (the local sidecar, or
// real daprd on the run's Kafka): the baseline consumer for the event benchmarks. It records when
// each message arrives.
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import { daprdArgv, daprdHealthy, daprdPorts, LoggedProcess } from "#testing/daprd.ts";
import { freePort } from "#testing/ports.ts";
import { daprBacking, daprdResources, releaseDaprBacking, type RuntimeKind } from "#testing/runtime.ts";
import { bundle } from "../build.ts";
import { spawnProcess, waitHttp, type Spawned } from "./processes.ts";

export interface Arrival {
  n: number;
  sentAt: number;
  at: number;
}

export interface NoopSubscriber {
  topic: string;
  /** The app's own URL (a direct POST to /events skips both sidecars). */
  url: string;
  arrivals: Map<number, Arrival>;
  /** Resolves when message `n` has arrived. */
  arrived(n: number): Promise<Arrival>;
  close(): Promise<void>;
}

let sidecarBundle: Promise<string> | null = null;

export function localSidecarBundle(): Promise<string> {
  const out = path.join(REPO_ROOT, "dist/bench/local-dapr.mjs");
  sidecarBundle ??= bundle(path.join(REPO_ROOT, "packages/local-dapr/src/main.ts"), out).then(() => out);
  return sidecarBundle;
}

export async function noopSubscriber(
  databaseUrl: string,
  topic: string,
  runtime: RuntimeKind = "local",
): Promise<NoopSubscriber> {
  const arrivals = new Map<number, Arrival>();
  const waiters = new Map<number, (a: Arrival) => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/dapr/subscribe") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify([{ pubsubname: "pubsub", topic, route: "/events" }]));
        return;
      }
      if (req.url === "/events") {
        const at = Date.now();
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          data?: { n: number; sentAt: number };
          n?: number;
          sentAt?: number;
        };
        const data = body.data ?? (body as { n: number; sentAt: number });
        if (!arrivals.has(data.n)) {
          const arrival = { n: data.n, sentAt: data.sentAt, at };
          arrivals.set(data.n, arrival);
          waiters.get(data.n)?.(arrival);
        }
        res.writeHead(200, { "content-type": "application/json" }).end('{"status":"SUCCESS"}');
        return;
      }
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const appPort = (server.address() as AddressInfo).port;
  const resources = mkdtempSync(path.join(tmpdir(), "orbit-bench-resources-"));
  mkdirSync(resources, { recursive: true });
  copyFileSync(
    path.join(REPO_ROOT, "dapr-components/local/pubsub.yaml"),
    path.join(resources, "pubsub.yaml"),
  );
  const daprPort = await freePort();
  const sidecar: Spawned | LoggedProcess =
    runtime === "daprd"
      ? await noopDaprd(topic, appPort, daprPort, resources)
      : spawnProcess(
          [
            process.execPath,
            await localSidecarBundle(),
            "--app-id",
            `bench-noop-${topic}`,
            "--app-port",
            String(appPort),
            "--dapr-http-port",
            String(daprPort),
            "--resources-path",
            resources,
            "--storage-url",
            databaseUrl,
          ],
          { ...process.env, LOG_LEVEL: "warn" },
        );
  if (!(sidecar instanceof LoggedProcess))
    await waitHttp(`http://127.0.0.1:${daprPort}/v1.0/healthz`, "noop subscriber's sidecar", sidecar);
  return {
    topic,
    url: `http://127.0.0.1:${appPort}`,
    arrivals,
    arrived(n) {
      const done = arrivals.get(n);
      if (done) return Promise.resolve(done);
      return new Promise((resolve) => waiters.set(n, resolve));
    },
    async close() {
      await sidecar.stop();
      server.closeAllConnections();
      server.close();
      if (sidecar instanceof LoggedProcess) await releaseDaprBacking();
    },
  };
}

async function noopDaprd(topic: string, appPort: number, httpPort: number, resources: string) {
  const backing = await daprBacking();
  const ports = await daprdPorts(httpPort);
  const daprd = new LoggedProcess(
    "noop subscriber's daprd",
    daprdArgv({
      appId: `bench-noop-${topic}`,
      appPort,
      ports,
      resourcesPath: await daprdResources(resources, backing),
      configPath: backing.configPath,
      schedulerAddress: backing.scheduler.address,
      logLevel: "warn",
    }),
  ).start();
  await daprd.waitUntil("noop subscriber's daprd healthy", () => daprdHealthy(ports.http));
  return daprd;
}
