// Load check of the local sidecar, run by hand (not part of the test suite):
//   npx tsx packages/local-dapr/src/bench.ts <postgresql-url> [--rate 1000] [--seconds 10] [--jobs 500]
// 1. Pub/sub: publishes `rate` events/s for `seconds` through one sidecar to an app behind another
//    and reports the rate consumed and the publish → delivery latency.
// 2. Jobs: schedules `jobs` one-shot jobs due at the same instant and reports how late they fired.
// Both sidecars run as child processes (as under `make dev`); the apps and the load run here.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    jobs: { type: "string", default: "500" },
  },
});
const storageUrl = positionals[0] ?? process.env.LOCAL_DAPR_STORAGE_URL;
if (!storageUrl) throw new Error("usage: bench.ts <postgresql-url> [--rate n] [--seconds n] [--jobs n]");
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const jobCount = Number(values.jobs);
const run = Date.now().toString(36);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function listen(
  handler: (path: string, body: string) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      if (req.url === "/dapr/subscribe") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify([{ pubsubname: "pubsub", topic: `bench-${run}`, route: "/events" }]));
        return;
      }
      handler(req.url ?? "", body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function startSidecar(
  appId: string,
  resources: string,
  appPort?: number,
): Promise<{ child: ChildProcess; port: number }> {
  const args = [
    "--app-id",
    appId,
    "--dapr-http-port",
    "0",
    "--resources-path",
    resources,
    "--storage-url",
    storageUrl!,
  ];
  if (appPort) args.push("--app-port", String(appPort));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(REPO_ROOT, "packages/local-dapr/src/main.ts"), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, LOCAL_DAPR_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((resolve) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes('"local dapr sidecar started"'))
        resolve((JSON.parse(line) as { http_port: number }).http_port);
    });
  });
  for (;;) {
    const health = await fetch(`http://127.0.0.1:${port}/v1.0/healthz`);
    if (health.status === 204) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, port };
}

async function pubsubBench(resources: string): Promise<void> {
  const latencies: number[] = [];
  let firstAt = 0;
  let lastAt = 0;
  const app = await listen((url, body) => {
    if (url !== "/events") return;
    const now = Date.now();
    firstAt ||= now;
    lastAt = now;
    latencies.push(now - (JSON.parse(body) as { data: { sentAt: number } }).data.sentAt);
  });
  const subscriber = await startSidecar(`bench-sub-${run}`, resources, app.port);
  const publisher = await startSidecar(`bench-pub-${run}`, resources);
  const total = rate * seconds;
  const started = Date.now();
  let sent = 0;
  let failed = 0;
  const inflight = new Set<Promise<void>>();
  while (sent < total) {
    const due = started + (sent / rate) * 1000;
    if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    const n = sent++;
    const request = fetch(`http://127.0.0.1:${publisher.port}/v1.0/publish/pubsub/bench-${run}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n, sentAt: Date.now() }),
    }).then(
      (response) => {
        if (response.status !== 204) failed++;
      },
      () => {
        failed++;
      },
    );
    inflight.add(request);
    void request.finally(() => inflight.delete(request));
    if (inflight.size >= 256) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const publishSeconds = (Date.now() - started) / 1000;
  const deadline = Date.now() + 60_000;
  while (latencies.length < total - failed && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: "pubsub",
      target_rate: rate,
      published: total - failed,
      failed_publishes: failed,
      publish_rate: Math.round((total - failed) / publishSeconds),
      delivered: latencies.length,
      delivery_rate: Math.round(latencies.length / ((lastAt - firstAt) / 1000)),
      latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
    }),
  );
  subscriber.child.kill("SIGTERM");
  publisher.child.kill("SIGTERM");
  app.server.close();
}

async function jobsBench(resources: string): Promise<void> {
  const fired = new Map<string, number>();
  const app = await listen((url) => {
    if (url.startsWith("/job/")) fired.set(url.slice(5), Date.now());
  });
  const sidecar = await startSidecar(`bench-jobs-${run}`, resources, app.port);
  const due = Date.now() + 5_000 + jobCount * 5;
  const dueTime = new Date(due).toISOString();
  await Promise.all(
    Array.from({ length: jobCount }, (_, i) =>
      fetch(`http://127.0.0.1:${sidecar.port}/v1.0/jobs/bench-${i}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ dueTime, data: { i } }),
      }),
    ),
  );
  const deadline = due + 30_000;
  while (fired.size < jobCount && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const lateness = [...fired.values()].map((at) => at - due).sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: "jobs",
      jobs: jobCount,
      fired: fired.size,
      early: lateness.filter((l) => l < 0).length,
      lateness_ms: { p50: percentile(lateness, 50), p99: percentile(lateness, 99), max: lateness.at(-1) },
    }),
  );
  sidecar.child.kill("SIGTERM");
  app.server.close();
}

const resources = await mkdtemp(path.join(os.tmpdir(), "local-dapr-bench-"));
await writeFile(
  path.join(resources, "pubsub.yaml"),
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.redis\n  version: v1\n",
);
await pubsubBench(resources);
await jobsBench(resources);
