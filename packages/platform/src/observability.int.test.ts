// Tracing and metrics, end to end on loopback: an OTLP/HTTP receiver stands in for the collector
// (outside our reach), the stand-in sidecar records what is published.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { routes } from "../../../functions/create-task/handler.ts";
import { createTestUser, startFunction, type StartedFunction } from "#testing/fixtures.ts";
import { startPublishRecorder, type PublishRecorder } from "#testing/publish-recorder.ts";
import { waitFor } from "#testing/ports.ts";
import { startOtlpCollector, type OtlpCollector } from "#testing/otlp-collector.ts";
import { workerDb } from "#testing/worker-db.ts";
import { createLogger } from "./logger.ts";
import { startTelemetry, stopTelemetry } from "./telemetry.ts";

let collector: OtlpCollector;
let sidecar: PublishRecorder;
let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  collector = await startOtlpCollector();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
  process.env.OTEL_BSP_SCHEDULE_DELAY = "50";
  await startTelemetry("create-task", createLogger("test", "silent"));
  sidecar = await startPublishRecorder();
  fn = await startFunction(
    { name: "create-task", routes, outbox: true },
    { DAPR_HTTP_PORT: String(sidecar.port), METRICS_TOKEN: "metrics-token-0123456789" },
  );
});

afterAll(async () => {
  await fn.close();
  await sidecar.close();
  await stopTelemetry();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  await collector.close();
});

test("one trace spans the caller, the request, the outbox publish and the event it carries", async () => {
  const user = await createTestUser(await workerDb());
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  // node:http, not fetch: in this process fetch is instrumented too and would replace our header.
  const created = await new Promise<{ status: number; id: string }>((resolve, reject) => {
    const req = httpRequest(`${fn.url}/v1/tasks`, {
      method: "POST",
      headers: {
        authorization: user.auth,
        "content-type": "application/json",
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, id: JSON.parse(Buffer.concat(chunks).toString("utf8")).id }),
      );
    });
    req.on("error", reject);
    req.end(JSON.stringify({ title: "Traced" }));
  });
  expect(created.status).toBe(201);
  // This worker's database is shared by the test files it runs, and the relay also rescues their
  // leftover events: pick this task's event.
  const published = await waitFor("this task's event", async () =>
    sidecar.published.find((p) => p.topic === "task-events" && p.body.subject === created.id),
  );
  // The event leaves with a traceparent in the caller's trace, so Dapr continues it to consumers.
  expect(published.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

  const mine = await waitFor("exported spans", async () => {
    const inTrace = collector.spans.filter((s) => s.traceId === traceId);
    return inTrace.some((s) => s.name === "publish task-events") &&
      inTrace.some((s) => s.name === "POST /v1/tasks")
      ? inTrace
      : null;
  });
  const server = mine.find((s) => s.name === "POST /v1/tasks")!;
  const producer = mine.find((s) => s.name === "publish task-events")!;
  expect(server.parentSpanId).toBe("00f067aa0ba902b7");
  expect(server.kind).toBe(2); // SERVER
  expect(producer.kind).toBe(4); // PRODUCER
  // The producer span descends from the request's span (through the outbox row's traceparent).
  const ids = new Set(mine.map((s) => s.spanId));
  expect(ids.has(producer.parentSpanId!)).toBe(true);
  // Prisma's queries and the fetch to the sidecar are in the same trace.
  expect(mine.some((s) => s.name.startsWith("prisma"))).toBe(true);
});

test("GET /metrics serves latency histograms and outbox gauges, only with the metrics token", async () => {
  expect((await fetch(`${fn.url}/metrics`)).status).toBe(401);
  const res = await fetch(`${fn.url}/metrics`, {
    headers: { authorization: "Bearer metrics-token-0123456789" },
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toMatch(
    /http_server_request_duration_seconds_bucket\{[^}]*route="\/v1\/tasks"[^}]*status_code="201"/,
  );
  expect(text).toMatch(/^orbit_outbox_pending \d+$/m);
  expect(text).toMatch(/^orbit_outbox_lag_seconds [\d.e+-]+$/m);
  expect(text).toMatch(/orbit_outbox_published_total\{topic="task-events"\} \d+/);
  expect(text).toMatch(/process_cpu_seconds_total/);
});
