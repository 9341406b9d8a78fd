// Conformance: service invocation through the sidecar registry (reference §4.2), as daprd 1.18.2
// passes a request on to the target app (pkg/api/http/directmessaging.go,
// pkg/messaging/direct_messaging.go, pkg/channel/http/http_channel.go constructRequest,
// pkg/messaging/v1/util.go InternalMetadataToHTTPHeader).
import http from "node:http";
import os from "node:os";
import { afterEach, expect, test } from "vitest";
import { hostAddress } from "./invoke.ts";
import { call, cleanupAll, sidecar, startApp, uid } from "./test-support.ts";

afterEach(cleanupAll);

async function setup(options: { appApiToken?: string } = {}) {
  const app = await startApp();
  const started = await sidecar({ appId: uid("target"), appPort: app.port, ...options });
  await started.appReady;
  const caller = await sidecar({ appId: uid("caller") });
  return { app, target: started, caller };
}

/** One request with exactly these headers (fetch would add and refuse some). */
function rawRequest(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    req.end("hello");
  });
}

const traceId = (traceparent: unknown) => String(traceparent).split("-")[1];

test("invoke forwards method, path, query, headers and body, and passes back the upstream status and body", async () => {
  const { app, target, caller } = await setup();
  app.respond = () => ({ status: 201, body: { created: true }, headers: { "x-upstream": "yes" } });
  const response = await call(
    caller.httpPort,
    "PUT",
    `/v1.0/invoke/${target.appId}/method/tasks/42/notes?draft=1`,
    { text: "hi" },
    { "x-request-id": "r-1", "content-type": "application/json" },
  );
  expect(response.status).toBe(201);
  expect(response.json).toEqual({ created: true });
  expect(response.headers.get("x-upstream")).toBe("yes");
  const [request] = app.received("/tasks");
  expect(request!.method).toBe("PUT");
  expect(request!.path).toBe("/tasks/42/notes?draft=1");
  expect(request!.json).toEqual({ text: "hi" });
  expect(request!.headers["x-request-id"]).toBe("r-1");
  expect(request!.headers["content-type"]).toBe("application/json");
  expect(request!.headers["dapr-caller-app-id"]).toBe(caller.appId);
  expect(request!.headers["dapr-callee-app-id"]).toBe(target.appId);
  expect(request!.headers["dapr-caller-namespace"]).toBe("default");
  // What the caller's sidecar says about itself (utils.GetHostAddress, os.Hostname).
  const address = await hostAddress();
  const hostname = os.hostname();
  const forwardedFor = address?.includes(":") ? `"[${address}]"` : address;
  expect(request!.headers["x-forwarded-for"]).toBe(address ?? undefined);
  expect(request!.headers["x-forwarded-host"]).toBe(hostname);
  expect(request!.headers.forwarded).toBe(
    forwardedFor ? `for=${forwardedFor};by=${forwardedFor};host=${hostname}` : `host=${hostname}`,
  );
  // A trace of its own, whose context the answer carries too.
  expect(request!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  expect(traceId(response.headers.get("traceparent"))).toBe(traceId(request!.headers.traceparent));
});

test("the method path is cleaned as Go's path.Clean does; the query is passed as it came", async () => {
  const { app, target, caller } = await setup();
  for (const [method, expected] of [
    ["a//b/./c/", "/a/b/c"],
    ["x/", "/x"],
    ["%2Fencoded?q=%20y&b=2&a=1", "/encoded?q=%20y&b=2&a=1"],
    ["caf%C3%A9/(1)", "/caf%C3%A9/%281%29"],
    ["", "/"],
  ] as const) {
    const response = await call(caller.httpPort, "GET", `/v1.0/invoke/${target.appId}/method/${method}`);
    expect(response.status, method).toBe(200);
    expect(app.requests.at(-1)!.path, method).toBe(expected);
  }
});

test("an upstream error status is passed back as is", async () => {
  const { app, target, caller } = await setup();
  app.respond = () => ({ status: 418, body: "teapot" });
  const response = await call(caller.httpPort, "GET", `/v1.0/invoke/${target.appId}/method/brew`);
  expect(response.status).toBe(418);
  expect(response.text).toBe("teapot");
});

test("the dapr-app-id header form reaches the same app; the header wins over an /invoke path", async () => {
  const { app, target, caller } = await setup();
  const response = await call(
    caller.httpPort,
    "POST",
    "/orders?x=1",
    { n: 1 },
    { "dapr-app-id": target.appId },
  );
  expect(response.status).toBe(200);
  expect(app.received("/orders")[0]!.path).toBe("/orders?x=1");
  expect(app.received("/orders")[0]!.headers).not.toHaveProperty("dapr-app-id");
  const both = await call(caller.httpPort, "GET", `/v1.0/invoke/${uid("nobody")}/method/m?y=2`, undefined, {
    "dapr-app-id": target.appId,
  });
  expect(both.status).toBe(200);
  expect(app.requests.at(-1)!.path).toMatch(/^\/v1\.0\/invoke\/nobody-[0-9a-f]{8}\/method\/m\?y=2$/);
});

test("hop-by-hop headers are dropped both ways; the caller's API token and headers are passed on, ids added to the caller's", async () => {
  const { app, target, caller } = await setup();
  app.respond = () => ({
    status: 200,
    body: "ok",
    headers: {
      "x-up": "1",
      connection: "x-up-drop",
      "x-up-drop": "1",
      "proxy-authenticate": "pa",
      trailer: "x-t",
    },
  });
  const response = await rawRequest(caller.httpPort, `/v1.0/invoke/${target.appId}/method/h`, {
    "content-type": "text/plain",
    connection: "x-drop, keep-alive",
    "x-drop": "1",
    "keep-alive": "timeout=5",
    "proxy-authorization": "secret",
    "proxy-connection": "keep-alive",
    te: "trailers",
    trailer: "x-t",
    "http2-settings": "AAA",
    "x-thing-bin": "YQ==",
    "destination-app-id": "elsewhere",
    "grpc-timeout": "1S",
    "dapr-api-token": "caller-token",
    "dapr-caller-app-id": "spoofed",
    trailers: "kept",
    "x-keep": "1",
  });
  expect(response.status).toBe(200);
  expect(response.body).toBe("ok");
  expect(response.headers["x-up"]).toBe("1");
  for (const dropped of ["x-up-drop", "proxy-authenticate", "trailer"]) {
    expect(response.headers[dropped], dropped).toBeUndefined();
  }
  const [request] = app.received("/h");
  expect(request!.body.toString()).toBe("hello");
  expect(request!.headers).toMatchObject({
    "content-type": "text/plain",
    "x-keep": "1",
    trailers: "kept",
    "dapr-grpc-timeout": "1S",
    "dapr-api-token": "caller-token",
  });
  for (const dropped of [
    "x-drop",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "http2-settings",
    "x-thing-bin",
    "destination-app-id",
    "grpc-timeout",
  ]) {
    expect(request!.headers[dropped], dropped).toBeUndefined();
  }
  // The caller's own dapr-caller-app-id stays beside the real one (in no fixed order on daprd).
  expect(String(request!.headers["dapr-caller-app-id"]).split(", ").sort()).toEqual(
    [caller.appId, "spoofed"].sort(),
  );
});

test("with an app API token on the target, the app gets that token as dapr-api-token, whatever the caller sent", async () => {
  const { app, target, caller } = await setup({ appApiToken: "app-secret" });
  await call(caller.httpPort, "GET", `/v1.0/invoke/${target.appId}/method/a`);
  await call(caller.httpPort, "GET", `/v1.0/invoke/${target.appId}/method/b`, undefined, {
    "dapr-api-token": "caller-token",
  });
  expect(app.received("/a")[0]!.headers["dapr-api-token"]).toBe("app-secret");
  expect(app.received("/b")[0]!.headers["dapr-api-token"]).toBe("app-secret");
});

test("invoking an app-id with no live instance is 500 ERR_DIRECT_INVOKE", async () => {
  const { target, caller } = await setup();
  await target.stop();
  const response = await call(caller.httpPort, "GET", `/v1.0/invoke/${target.appId}/method/x`);
  expect(response.status).toBe(500);
  expect(response.json).toMatchObject({
    errorCode: "ERR_DIRECT_INVOKE",
    message: expect.stringMatching(new RegExp(`^failed to invoke, id: ${target.appId}, err: `)),
  });
  const unknown = await call(caller.httpPort, "GET", `/v1.0/invoke/${uid("nobody")}/method/x`);
  expect(unknown.status).toBe(500);
});
