import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startPushService, type PushService } from "#testing/push-service.ts";
import { DaprClient } from "./dapr-client.ts";
import { generateVapidKeys, loadVapidKeys, sendPush, VapidConfigError, type VapidKeys } from "./web-push.ts";

let push: PushService;
const vapid: VapidKeys = generateVapidKeys("mailto:reminders@orbit.test");

beforeAll(async () => {
  push = await startPushService();
});
afterAll(async () => {
  await push.close();
});

const options = () => ({ vapid, ttlSeconds: 900, timeoutMs: 5_000, agent: push.agent });

test("a push reaches the push service encrypted for the subscription, and decrypts to the JSON sent", async () => {
  const subscription = push.subscribe();
  const payload = { title: "File the tax return", body: "Due at 10:00", task_id: "t1", url: "/tasks/t1" };

  const result = await sendPush(subscription, payload, options());

  expect(result).toEqual({ ok: true, status: 201, gone: false, retriable: false, error: null });
  const [received] = await push.waitFor(1, subscription.endpoint);
  expect(received!.decryptError).toBeNull();
  expect(received!.payload).toEqual(payload);
  expect(received!.headers["content-encoding"]).toBe("aes128gcm");
  expect(received!.headers.ttl).toBe("900");
  expect(received!.headers.urgency).toBe("high");
  // The VAPID JWT is signed with our key, for this push service's origin.
  expect(received!.vapid).toMatchObject({
    valid: true,
    publicKey: vapid.publicKey,
    aud: push.origin,
    sub: "mailto:reminders@orbit.test",
  });
  expect(received!.vapid!.exp * 1000).toBeGreaterThan(Date.now());
});

test("a subscription the push service says is gone (410, 404) is reported as gone, not retriable", async () => {
  const subscription = push.subscribe();
  push.respondWith(subscription.endpoint, 410);
  expect(await sendPush(subscription, { title: "x" }, options())).toMatchObject({
    ok: false,
    status: 410,
    gone: true,
    retriable: false,
  });
  const unknown = { ...push.subscribe(), endpoint: `${push.origin}/push/never-issued` };
  expect(await sendPush(unknown, { title: "x" }, options())).toMatchObject({ status: 404, gone: true });
});

test("a push service error is retriable; a refused request is not", async () => {
  const subscription = push.subscribe();
  push.respondWith(subscription.endpoint, 500);
  const failed = await sendPush(subscription, { title: "x" }, options());
  expect(failed).toMatchObject({ ok: false, status: 500, gone: false, retriable: true });
  expect(failed.error).toContain("HTTP 500");
  push.respondWith(subscription.endpoint, 413);
  expect(await sendPush(subscription, { title: "x" }, options())).toMatchObject({
    status: 413,
    retriable: false,
  });
});

test("an untrusted certificate or an unreachable push service is a retriable failure without a status", async () => {
  const subscription = push.subscribe();
  const untrusted = await sendPush(subscription, { title: "x" }, { ...options(), agent: undefined });
  expect(untrusted).toMatchObject({ ok: false, status: null, retriable: true });
  expect(untrusted.error).toMatch(/self[- ]signed|certificate/i);
  const closed = await sendPush(
    { ...subscription, endpoint: "https://127.0.0.1:1/push/x" },
    { title: "x" },
    options(),
  );
  expect(closed).toMatchObject({ ok: false, status: null, retriable: true });
  expect(closed.error).toContain("ECONNREFUSED");
});

/** A stand-in for daprd's secrets API (daprd cannot run here). */
async function secretsSidecar(
  secrets: Record<string, Record<string, string>>,
): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === "/v1.0/healthz/outbound") return void res.writeHead(204).end();
    const match = /^\/v1\.0\/secrets\/secretstore\/([^/?]+)$/.exec(req.url ?? "");
    if (!match) return void res.writeHead(404).end();
    const secret = secrets[decodeURIComponent(match[1]!)];
    if (!secret) return void res.writeHead(204).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(secret));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { port: typeof address === "object" && address ? address.port : 0, server };
}

test("VAPID keys come from the environment when set, else from the secret store's `vapid` secret", async () => {
  const other = generateVapidKeys("mailto:ops@orbit.test");
  const unreachable = new DaprClient({ port: 1 });
  expect(
    await loadVapidKeys(
      {
        VAPID_PUBLIC_KEY: other.publicKey,
        VAPID_PRIVATE_KEY: other.privateKey,
        VAPID_SUBJECT: other.subject,
      },
      unreachable,
    ),
  ).toEqual(other);

  const sidecar = await secretsSidecar({
    vapid: { public_key: vapid.publicKey, private_key: vapid.privateKey, subject: vapid.subject },
  });
  try {
    const dapr = new DaprClient({ port: sidecar.port });
    expect(await loadVapidKeys({}, dapr)).toEqual(vapid);
    expect(await loadVapidKeys({ VAPID_SUBJECT: "https://orbit.test/contact" }, dapr)).toEqual({
      ...vapid,
      subject: "https://orbit.test/contact",
    });
    await expect(loadVapidKeys({}, dapr, { secretName: "missing" })).rejects.toThrow(
      'store "secretstore" has no secret "missing"',
    );
  } finally {
    sidecar.server.close();
  }
});

test("missing or broken VAPID configuration fails with a message that says what to set", async () => {
  const unreachable = new DaprClient({ port: 1 });
  const noSidecar = loadVapidKeys({}, unreachable, { sidecarTimeoutMs: 200 });
  await expect(noSidecar).rejects.toBeInstanceOf(VapidConfigError);
  await expect(noSidecar).rejects.toThrow(
    /did not answer.*Set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT/,
  );
  await expect(loadVapidKeys({ VAPID_PUBLIC_KEY: vapid.publicKey }, unreachable)).rejects.toThrow(
    "only one of VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY is set",
  );
  await expect(
    loadVapidKeys({ VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey }, unreachable),
  ).rejects.toThrow("VAPID_SUBJECT is not set");
  await expect(
    loadVapidKeys(
      { VAPID_PUBLIC_KEY: "c2hvcnQ", VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: vapid.subject },
      unreachable,
    ),
  ).rejects.toThrow(/the VAPID keys are invalid \(.*65 bytes/);
  const sidecar = await secretsSidecar({ vapid: { public_key: vapid.publicKey } });
  try {
    await expect(loadVapidKeys({}, new DaprClient({ port: sidecar.port }))).rejects.toThrow(
      'secret "vapid" in store "secretstore" lacks private_key, subject',
    );
  } finally {
    sidecar.server.close();
  }
});
