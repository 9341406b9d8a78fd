// One trace across processes and the broker, as production traces it: a request to create-task
// carrying a W3C traceparent, its outbox row, the publish through create-task's sidecar, the
// broker (the local sidecar's, or Kafka under daprd), audit-log's sidecar's delivery and
// audit-log's handler all share the trace id. Each function exports its spans over OTLP/HTTP to a
// receiver on loopback standing in for the collector (outside our reach).
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestUser, type TestUser } from "#testing/fixtures.ts";
import { waitFor } from "#testing/ports.ts";
import { startOtlpCollector, type OtlpCollector } from "#testing/otlp-collector.ts";
import { Topology } from "#testing/topology.ts";
import { workerDatabaseUrl, workerDb } from "#testing/worker-db.ts";

let collector: OtlpCollector;
let topology: Topology;
let user: TestUser;

beforeAll(async () => {
  collector = await startOtlpCollector();
  user = await createTestUser(await workerDb());
  topology = await Topology.start({
    databaseUrl: await workerDatabaseUrl(),
    apps: ["create-task", "audit-log"],
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "50",
    },
  });
}, 180_000);

afterAll(async () => {
  await topology?.stop();
  await collector?.close();
});

/** POST /v1/tasks with our own traceparent (node:http: nothing in this process rewrites it). */
function createTraced(traceId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${topology.app("create-task").url}/v1/tasks`, {
      method: "POST",
      headers: {
        authorization: user.auth,
        "content-type": "application/json",
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(JSON.stringify({ title: "Traced across processes" }));
  });
}

test("the request, the publish and audit-log's handling of its event share one trace", async () => {
  // Each function starts its OpenTelemetry SDK just after it listens (telemetry.ts: a cold start
  // may lose its first second of spans), so a trace is tried until one is complete.
  let traceId = "";
  await waitFor(
    "a trace from create-task's request to audit-log's delivery",
    async () => {
      traceId = randomBytes(16).toString("hex");
      expect(await createTraced(traceId)).toBe(201);
      // The server span ends (and is exported) after the spans inside it: wait for that one.
      return waitFor(
        "audit-log's server span",
        async () =>
          collector.spans.some((s) => s.traceId === traceId && s.service === "audit-log" && s.kind === 2),
        5_000,
        50,
      ).catch(() => false);
    },
    60_000,
    0,
  );
  const inTrace = collector.spans.filter((s) => s.traceId === traceId);
  const request = inTrace.find((s) => s.service === "create-task" && s.name === "POST /v1/tasks");
  const producer = inTrace.find((s) => s.service === "create-task" && s.name === "publish task-events");
  const delivery = inTrace.find((s) => s.service === "audit-log" && s.kind === 2);
  expect(request?.parentSpanId).toBe("00f067aa0ba902b7");
  expect(producer).toBeDefined();
  // audit-log's server span continues the sidecar's delivery span (its parent is the sidecar's,
  // not one of create-task's spans: the broker hop is in between).
  expect(delivery?.name).toBe("POST /events/task-events");
  expect(delivery?.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
  expect(inTrace.filter((s) => s.service === "create-task").map((s) => s.spanId)).not.toContain(
    delivery!.parentSpanId,
  );
}, 120_000);
