import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startPushService, type PushService } from "#testing/push-service.ts";
import { stubResolver } from "#testing/resolver.ts";
import { DaprClient } from "./dapr-client.ts";
import {
  generateVapidKeys,
  loadVapidKeys,
  pushEndpointProblem,
  sendPush,
  VapidConfigError,
  type PushOptions,
  type VapidKeys,
} from "./web-push.ts";

let push: PushService;
const vapid: VapidKeys = generateVapidKeys("mailto:reminders@orbit.test");

beforeAll(async () => {
  push = await startPushService();
});
afterAll(async () => {
  await push.close();
});

// The stand-in push service is on this machine: loopback allowed, as OUTBOUND_ALLOW_LOOPBACK allows
// it in tests; its certificate trusted.
const options = (): PushOptions => ({
  vapid,
  ttlSeconds: 900,
  timeoutMs: 5_000,
  policy: { allowLoopback: true },
  ca: push.ca,
});

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
  const untrusted = await sendPush(subscription, { title: "x" }, { ...options(), ca: undefined });
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

test("a push service's error answer is reported by its status only, never its body", async () => {
  const subscription = push.subscribe();
  push.respondWith(subscription.endpoint, 400);
  const failed = await sendPush(subscription, { title: "x" }, options());
  expect(failed).toMatchObject({ ok: false, status: 400, retriable: false });
  expect(failed.error).toBe("the push service answered HTTP 400");
  expect(JSON.stringify(failed)).not.toContain("says no");
});

test("push endpoints must be on a browser push service's host and resolve to public addresses", async () => {
  const dns = stubResolver();
  for (const host of [
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "wns2-by3p.notify.windows.com",
    "web.push.apple.com",
    "fcm.googleapis.com.evil.example",
    "evilfcm.googleapis.com",
    "push.example.com",
  ])
    dns.answer(host, ["93.184.215.14"]);
  const strict = { allowLoopback: false, resolve: dns.resolve };
  for (const endpoint of [
    "https://fcm.googleapis.com/fcm/send/abc:def",
    "https://fcm.googleapis.com/wp/abc",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://wns2-by3p.notify.windows.com/w/?token=BQYAAA",
    "https://web.push.apple.com/QGw6t",
  ])
    expect(await pushEndpointProblem(endpoint, strict), endpoint).toBeNull();
  const notAPushService = "must be a browser push service's URL (FCM, Mozilla, Windows or Apple push)";
  for (const endpoint of [
    "https://push.example.com/x",
    "https://fcm.googleapis.com.evil.example/fcm/send/x",
    "https://evilfcm.googleapis.com/fcm/send/x",
    "https://169.254.169.254/latest/meta-data/",
    `${push.origin}/push/x`,
  ])
    expect(await pushEndpointProblem(endpoint, strict), endpoint).toBe(notAPushService);
  expect(await pushEndpointProblem("http://fcm.googleapis.com/fcm/send/x", strict)).toBe(
    "must be the push service's https:// URL",
  );
  expect(await pushEndpointProblem("https://u:p@fcm.googleapis.com/fcm/send/x", strict)).toBe(
    "must not contain credentials",
  );
  // An allowed host is still resolved and checked.
  dns.answer("fcm.googleapis.com", ["10.0.0.1"]);
  expect(await pushEndpointProblem("https://fcm.googleapis.com/fcm/send/x", strict)).toBe(
    "must be a public address: fcm.googleapis.com resolves to 10.0.0.1, a private address",
  );
  // With loopback allowed, a push service on this machine (the tests' stand-in), and nothing else.
  const local = { allowLoopback: true, resolve: dns.resolve };
  expect(await pushEndpointProblem(`${push.origin}/push/x`, local)).toBeNull();
  expect(await pushEndpointProblem("https://10.0.0.1/push/x", local)).toBe(
    "must be a public address: 10.0.0.1 is a private address",
  );
  expect(await pushEndpointProblem("https://push.example.com/x", local)).toBe(notAPushService);
});

test("a stored endpoint the policy refuses is never contacted: a final failure saying why", async () => {
  const subscription = push.subscribe();
  const refused = await sendPush(
    subscription,
    { title: "x" },
    { ...options(), policy: { allowLoopback: false } },
  );
  expect(refused).toEqual({
    ok: false,
    status: null,
    gone: false,
    retriable: false,
    error: "refused: must be a browser push service's URL (FCM, Mozilla, Windows or Apple push)",
  });
  expect(push.received.filter((r) => r.endpoint === subscription.endpoint)).toEqual([]);
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
