// Conformance: service invocation through the sidecar registry (reference §4.2).
import http from "node:http";
import { afterEach, expect, test } from "vitest";
import { call, cleanupAll, sidecar, startApp, uid, localOnly } from "./test-support.ts";

afterEach(cleanupAll);

async function setup() {
  const app = await startApp();
  const started = await sidecar({ appId: uid("target"), appPort: app.port });
  await started.appReady;
  const caller = await sidecar({ appId: uid("caller") });
  return { app, target: started, caller };
}

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
  expect(request!.headers["dapr-caller-app-id"]).toBe(caller.appId);
  expect(request!.headers["dapr-callee-app-id"]).toBe(target.appId);
});

test("an upstream error status is passed back as is", async () => {
  const { app, target, caller } = await setup();
  app.respond = () => ({ status: 418, body: "teapot" });
  const response = await call(caller.httpPort, "GET", `/v1.0/invoke/${target.appId}/method/brew`);
  expect(response.status).toBe(418);
  expect(response.text).toBe("teapot");
});

test("the dapr-app-id header form reaches the same app", async () => {
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
});

localOnly("hop-by-hop headers and the caller's API token are not forwarded", async () => {
  const { app, target, caller } = await setup();
  await new Promise<void>((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: caller.httpPort,
        method: "GET",
        path: `/v1.0/invoke/${target.appId}/method/h`,
        headers: {
          "proxy-authorization": "secret",
          te: "trailers",
          "x-keep": "1",
          "dapr-api-token": "t",
          connection: "x-drop",
          "x-drop": "1",
        },
      },
      (res) => {
        res.resume();
        res.on("end", resolve);
      },
    );
    req.on("error", reject);
    req.end();
  });
  const [request] = app.received("/h");
  expect(request!.headers["x-keep"]).toBe("1");
  for (const dropped of ["proxy-authorization", "te", "dapr-api-token", "x-drop"]) {
    expect(request!.headers[dropped], dropped).toBeUndefined();
  }
});

test("invoking an app-id with no live instance is 500 ERR_DIRECT_INVOKE", async () => {
  const { target, caller } = await setup();
  await target.stop();
  const response = await call(caller.httpPort, "GET", `/v1.0/invoke/${target.appId}/method/x`);
  expect(response.status).toBe(500);
  expect(response.json).toMatchObject({ errorCode: "ERR_DIRECT_INVOKE" });
  const unknown = await call(caller.httpPort, "GET", `/v1.0/invoke/${uid("nobody")}/method/x`);
  expect(unknown.status).toBe(500);
});
