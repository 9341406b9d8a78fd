// The Jobs part of the Dapr client over real HTTP: against the local sidecar, which answers GET
// as daprd 1.18.2 does (data as a protojson Any), and against a bare HTTP server answering the
// way the Dapr docs' example and older stand-ins do (data as the bare value).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startSidecar, type Sidecar } from "#local-dapr/sidecar.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";
import { DaprClient, DaprError, jobDataValue } from "./dapr-client.ts";
import { createLogger } from "./logger.ts";

let sidecar: Sidecar;
let bare: Server;
const bareRequests: string[] = [];
const bareJobs = new Map<string, unknown>();

beforeAll(async () => {
  sidecar = await startSidecar({
    appId: `client-${process.pid}-${Date.now()}`,
    httpPort: 0,
    storageUrl: await workerDatabaseUrl(),
    log: createLogger("local-dapr", "silent"),
  });
  // Stores what is POSTed and answers GET with the body as it came, `data` included.
  bare = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      bareRequests.push(`${req.method} ${req.url}`);
      const name = decodeURIComponent(req.url!.split("/").pop()!);
      if (req.method === "POST") {
        bareJobs.set(name, { name, ...(JSON.parse(Buffer.concat(chunks).toString()) as object) });
        res.writeHead(204).end();
      } else if (req.method === "GET" && bareJobs.has(name)) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(bareJobs.get(name)));
      } else if (req.method === "DELETE") {
        bareJobs.delete(name);
        res.writeHead(204).end();
      } else {
        res
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ errorCode: "DAPR_SCHEDULER_GET_JOB", message: "failed to get job" }));
      }
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((resolve) => bare?.close(resolve));
});

test("getJob gives back the data as scheduled from daprd's protojson Any (the local sidecar answers as daprd 1.18.2)", async () => {
  const dapr = new DaprClient({ port: sidecar.httpPort });
  const data = { task_id: "t-1", remind_at: "2030-01-01T09:00:00.000Z", n: [1, 2] };
  await dapr.scheduleJob("wrapped", { dueTime: "1h", data, overwrite: true });
  // What went over the wire is the wrapped form...
  const raw = (await (await fetch(`${dapr.baseUrl}/v1.0/jobs/wrapped`)).json()) as { data: unknown };
  expect(raw.data).toEqual({ "@type": "type.googleapis.com/google.protobuf.Value", value: data });
  // ...and the client hands back the value.
  expect(await dapr.getJob("wrapped")).toEqual({
    name: "wrapped",
    dueTime: "1h",
    data,
    failurePolicy: { constant: { interval: "1s", maxRetries: 3 } },
  });
  await dapr.scheduleJob("scalar", { dueTime: "1h", data: "hello" });
  expect((await dapr.getJob("scalar"))?.data).toBe("hello");
  await dapr.deleteJob("wrapped");
  expect(await dapr.getJob("wrapped")).toBeNull();
});

test("getJob accepts a bare data value too, and every jobs call uses the stable /v1.0/jobs path", async () => {
  const port = (bare.address() as AddressInfo).port;
  const dapr = new DaprClient({ port });
  const data = { task_id: "t-2" };
  await dapr.scheduleJob("bare", { dueTime: "1h", data });
  expect(await dapr.getJob("bare")).toEqual({ name: "bare", dueTime: "1h", data });
  await dapr.deleteJob("bare");
  expect(await dapr.getJob("bare")).toBeNull();
  expect(bareRequests).toEqual([
    "POST /v1.0/jobs/bare",
    "GET /v1.0/jobs/bare",
    "DELETE /v1.0/jobs/bare",
    "GET /v1.0/jobs/bare",
  ]);
});

test("jobDataValue unwraps only a google.protobuf.Value Any; anything else is returned as it is", () => {
  const value = "type.googleapis.com/google.protobuf.Value";
  expect(jobDataValue({ "@type": value, value: { a: 1 } })).toEqual({ a: 1 });
  expect(jobDataValue({ "@type": value, value: null })).toBeNull();
  expect(jobDataValue({ a: 1 })).toEqual({ a: 1 });
  expect(jobDataValue(7)).toBe(7);
  expect(jobDataValue(undefined)).toBeUndefined();
  // Another type (only a gRPC client can schedule one), or an object that merely has these keys.
  const other = { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "x" };
  expect(jobDataValue(other)).toEqual(other);
  const more = { "@type": value, value: 1, extra: true };
  expect(jobDataValue(more)).toEqual(more);
});

test("a GET that fails for another reason than a missing job is an error", async () => {
  const server = createServer((_req, res) =>
    res
      .writeHead(500, { "content-type": "application/json" })
      .end('{"errorCode":"ERR_INTERNAL","message":"failed to encode response as JSON"}'),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const dapr = new DaprClient({ port: (server.address() as AddressInfo).port });
    await expect(dapr.getJob("x")).rejects.toBeInstanceOf(DaprError);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
