// Conformance: everything accepted survives the sidecar — a graceful restart, and a SIGKILL in the
// middle of a delivery (the sidecar runs as a real child process for that one).
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterEach, expect, test } from "vitest";
import {
  call,
  cleanupAll,
  db,
  onCleanup,
  publish,
  pubsubYaml,
  resourcesDir,
  sidecar,
  startApp,
  storageUrl,
  uid,
  settled,
  waitFor,
} from "./test-support.ts";

afterEach(cleanupAll);

const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");

test("a message published while the subscriber's sidecar is down is delivered when it is back", async () => {
  const topic = uid("topic");
  const appId = uid("sub");
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const app = await startApp();
  app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events" }];
  const first = await sidecar({ appId, appPort: app.port, resourcesPath: resources });
  await first.appReady;
  await first.stop();
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  expect((await publish(publisher.httpPort, topic, { n: 1 })).status).toBe(204);
  const again = await sidecar({ appId, appPort: app.port, resourcesPath: resources });
  await again.appReady;
  await waitFor("the delivery", () => app.received("/events").length === 1);
  await settled(appId);
});

test("a job that came due while its sidecar was down fires when the sidecar is back", async () => {
  const appId = uid("jobs");
  const app = await startApp();
  const first = await sidecar({ appId, appPort: app.port });
  await first.appReady;
  // Far enough ahead that the sidecar is down before it: stopping took over 300 ms at load 26.
  const due = Date.now() + 2_000;
  expect(
    (
      await call(first.httpPort, "POST", "/v1.0/jobs/later", {
        dueTime: new Date(due).toISOString(),
        data: 1,
      })
    ).status,
  ).toBe(204);
  await first.stop();
  await waitFor("the due time to pass", () => Date.now() > due + 50, 10_000);
  expect(app.received("/job/")).toHaveLength(0);
  const again = await sidecar({ appId, appPort: app.port });
  await again.appReady;
  await waitFor("the late trigger", () => app.received("/job/later").length === 1);
});

test("a job that came due while the app was down (its sidecar up) fires when the app is back", async () => {
  const appId = uid("jobs");
  const app = await startApp();
  const started = await sidecar({ appId, appPort: app.port });
  await started.appReady;
  await app.close();
  const due = Date.now() + 100;
  // With the drop policy a failed trigger is gone for good: a refused connection must not count as one.
  await call(started.httpPort, "POST", "/v1.0/jobs/while-down", {
    dueTime: new Date(due).toISOString(),
    data: 1,
    failurePolicy: { drop: {} },
  });
  await waitFor("the due time to pass", () => Date.now() > due + 300, 2_000);
  expect((await call(started.httpPort, "GET", "/v1.0/jobs/while-down")).status).toBe(200);
  const again = await startApp(app.port);
  await waitFor("the staged trigger", () => again.received("/job/while-down").length === 1);
});

test("when the database drops the notification connection, the sidecar reconnects and is woken again", async () => {
  const topic = uid("topic");
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const app = await startApp();
  app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events" }];
  // No sweep during the test: only a notification can wake the subscriber.
  const subscriber = await sidecar({
    appId: uid("sub"),
    appPort: app.port,
    resourcesPath: resources,
    sweepIntervalMs: 60_000,
  });
  await subscriber.appReady;
  const pool = await db();
  const listening = () =>
    pool.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [
      `local-dapr:${subscriber.appId}:listen`,
    ]);
  const [before] = (await listening()).rows;
  await pool.query("SELECT pg_terminate_backend($1)", [before!.pid]);
  await waitFor("a new notification connection", async () => {
    const rows = (await listening()).rows;
    return rows.length === 1 && rows[0]!.pid !== before!.pid;
  });
  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  await publish(publisher.httpPort, topic, { n: 1 });
  await waitFor("the delivery", () => app.received("/events").length === 1);
});

interface ChildSidecar {
  process: ChildProcess;
  httpPort: number;
  exited: Promise<number | null>;
}

/** Runs main.ts in a child process, as `make dev` does, and waits for its "started" log line. */
async function startChild(args: string[]): Promise<ChildSidecar> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(REPO_ROOT, "packages/local-dapr/src/main.ts"), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, LOCAL_DAPR_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onCleanup(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const httpPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sidecar did not start in 15 s: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; http_port?: number };
        if (entry.msg === "local dapr sidecar started") {
          clearTimeout(timer);
          resolve(entry.http_port!);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`the sidecar exited with ${code}: ${stderr}`)));
  });
  return { process: child, httpPort, exited };
}

test("SIGKILL in the middle of a delivery loses nothing: after a restart every message and job arrives", async () => {
  const topic = uid("topic");
  const appId = uid("killed");
  const resources = await resourcesDir({ "pubsub.yaml": pubsubYaml() });
  const app = await startApp();
  app.subscribe = [{ pubsubname: "pubsub", topic, route: "/events" }];
  let hangFirst = true;
  app.respond = (request) => {
    if (hangFirst && request.path === "/events") {
      hangFirst = false;
      return { hang: true };
    }
    return { status: 200 };
  };
  const args = [
    "--app-id",
    appId,
    "--app-port",
    String(app.port),
    "--dapr-http-port",
    "0",
    "--resources-path",
    resources,
    "--storage-url",
    await storageUrl(),
  ];
  const first = await startChild(args);
  await waitFor(
    "the app channel",
    async () => (await call(first.httpPort, "GET", "/v1.0/healthz")).status === 204,
    10_000,
  );
  const due = Date.now() + 400;
  await call(first.httpPort, "POST", "/v1.0/jobs/after-crash", {
    dueTime: new Date(due).toISOString(),
    data: 1,
  });

  const publisher = await sidecar({ appId: uid("pub"), resourcesPath: resources });
  await publish(publisher.httpPort, topic, { n: 0 });
  await waitFor("the delivery that hangs", () => app.received("/events").length === 1);
  first.process.kill("SIGKILL");
  await first.exited;

  for (let n = 1; n <= 3; n++) await publish(publisher.httpPort, topic, { n });
  await waitFor("the job's due time to pass", () => Date.now() > due + 50, 2_000);
  expect(app.received("/job/")).toHaveLength(0);

  await startChild(args);
  await waitFor(
    "every message",
    () => {
      const ns = new Set(app.received("/events").map((r) => (r.json as { data: { n: number } }).data.n));
      return ns.size === 4;
    },
    10_000,
  );
  await waitFor("the job", () => app.received("/job/after-crash").length === 1);
  await settled(appId);
  // The hung delivery was delivered again (at-least-once); the others exactly once.
  const counts = new Map<number, number>();
  for (const r of app.received("/events")) {
    const n = (r.json as { data: { n: number } }).data.n;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  expect([...counts.entries()].sort()).toEqual([
    [0, 2],
    [1, 1],
    [2, 1],
    [3, 1],
  ]);
});
