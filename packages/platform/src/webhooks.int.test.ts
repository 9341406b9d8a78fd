import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { stubResolver } from "#testing/resolver.ts";
import type { OutboundPolicy } from "./outbound.ts";
import { sendWebhook, webhookUrlProblem, type WebhookRequest } from "./webhooks.ts";

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
}

let server: Server;
let base: string;
const hits: Hit[] = [];
/** path → how to answer. */
const behaviour = new Map<string, { status?: number; delayMs?: number; location?: string }>();

beforeAll(async () => {
  // The user's webhook receiver.
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      hits.push({ path, headers: req.headers, raw: Buffer.concat(chunks).toString("utf8") });
      const how = behaviour.get(path) ?? {};
      setTimeout(() => {
        if (res.destroyed) return;
        res
          .writeHead(how.status ?? 204, how.location ? { location: how.location } : {})
          .end(how.status && how.status >= 400 ? "receiver says no" : undefined);
      }, how.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const SECRET = "whsec_4f1d9c2b7e8a6d5c";
// The receiver is on this machine: loopback allowed, as OUTBOUND_ALLOW_LOOPBACK allows it in tests.
const LOCAL: OutboundPolicy = { allowLoopback: true };

function request(path: string, overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    url: base + path,
    secret: SECRET,
    event: "reminder.due",
    data: { task_id: "t1", title: "Call the plumber", due_at: "2026-11-24T15:00:00.000Z" },
    deliveryId: "5b0f6a5e-8a3b-4c1e-9d2f-7e6a5b4c3d2e",
    time: new Date("2026-11-24T14:45:00.000Z"),
    timeoutMs: 2_000,
    policy: LOCAL,
    ...overrides,
  };
}

test("a delivery is the JSON envelope, signed with HMAC-SHA256 of the raw body, with delivery id and event headers", async () => {
  const result = await sendWebhook(request("/hooks/ok"));
  expect(result).toEqual({ ok: true, status: 204, error: null, retriable: false });
  const hit = hits.find((h) => h.path === "/hooks/ok")!;
  expect(JSON.parse(hit.raw)).toEqual({
    event: "reminder.due",
    time: "2026-11-24T14:45:00.000Z",
    data: { task_id: "t1", title: "Call the plumber", due_at: "2026-11-24T15:00:00.000Z" },
  });
  expect(hit.headers["content-type"]).toBe("application/json");
  expect(hit.headers["x-orbit-event"]).toBe("reminder.due");
  expect(hit.headers["x-orbit-delivery"]).toBe("5b0f6a5e-8a3b-4c1e-9d2f-7e6a5b4c3d2e");
  // Verified the way a receiver would: our own HMAC over the bytes received, constant-time compare.
  const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(hit.raw).digest("hex")}`);
  const given = Buffer.from(String(hit.headers["x-orbit-signature"]));
  expect(given.length).toBe(expected.length);
  expect(timingSafeEqual(given, expected)).toBe(true);
  const forged = createHmac("sha256", "another-secret-000").update(hit.raw).digest("hex");
  expect(hit.headers["x-orbit-signature"]).not.toBe(`sha256=${forged}`);
});

test("a non-2xx answer is a retriable failure carrying the status, never the receiver's body", async () => {
  behaviour.set("/hooks/down", { status: 503 });
  expect(await sendWebhook(request("/hooks/down"))).toEqual({
    ok: false,
    status: 503,
    error: "the receiver answered HTTP 503",
    retriable: true,
  });
});

test("redirects are not followed", async () => {
  behaviour.set("/hooks/moved", { status: 307, location: `/hooks/ok` });
  const before = hits.filter((h) => h.path === "/hooks/ok").length;
  const result = await sendWebhook(request("/hooks/moved"));
  expect(result).toMatchObject({ ok: false, status: 307 });
  expect(hits.filter((h) => h.path === "/hooks/ok").length).toBe(before);
});

test("a receiver that does not answer in time fails with a timeout, and a closed port with the connection error", async () => {
  // The receiver would answer after 5 s; giving up well before that is the timeout at work (how
  // close to 150 ms is a matter of load, so the bound is loose).
  behaviour.set("/hooks/slow", { delayMs: 5_000 });
  const started = Date.now();
  const slow = await sendWebhook(request("/hooks/slow", { timeoutMs: 150 }));
  expect(Date.now() - started).toBeLessThan(3_000);
  expect(slow).toEqual({ ok: false, status: null, error: "no response within 150 ms", retriable: true });
  const closedPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
  expect(await sendWebhook(request("", { url: `http://127.0.0.1:${closedPort}/hook` }))).toEqual({
    ok: false,
    status: null,
    error: "ECONNREFUSED",
    retriable: true,
  });
});

test("webhook URLs must be https to a public address; plain http and loopback only when the policy allows loopback", async () => {
  const dns = stubResolver({ "hooks.example.com": ["93.184.215.14"] });
  const strict: OutboundPolicy = { allowLoopback: false, resolve: dns.resolve };
  const local: OutboundPolicy = { allowLoopback: true, resolve: dns.resolve };
  expect(await webhookUrlProblem("https://hooks.example.com/orbit", strict)).toBeNull();
  expect(await webhookUrlProblem("http://127.0.0.1:9999/hook", local)).toBeNull();
  expect(await webhookUrlProblem("https://[::1]:9999/hook", local)).toBeNull();
  expect(await webhookUrlProblem("http://127.0.0.1:9999/hook", strict)).toBe("must be an https:// URL");
  expect(await webhookUrlProblem("https://127.0.0.1:9999/hook", strict)).toBe(
    "must be a public address: 127.0.0.1 is a loopback address",
  );
  // Plain http only to this machine, even with loopback allowed.
  expect(await webhookUrlProblem("http://hooks.example.com/orbit", local)).toBe(
    "must be an https:// URL (or http:// to this machine)",
  );
  expect(await webhookUrlProblem("https://10.0.0.1/hook", local)).toBe(
    "must be a public address: 10.0.0.1 is a private address",
  );
  expect(await webhookUrlProblem("ftp://hooks.example.com", strict)).toBe("must be an https:// URL");
  expect(await webhookUrlProblem("not a url", strict)).toBe("must be an absolute URL");
  expect(await webhookUrlProblem("https://user:pw@hooks.example.com/", strict)).toBe(
    "must not contain credentials",
  );
  expect(await webhookUrlProblem("https://nowhere.example.com/", strict)).toBe(
    "must be reachable: nowhere.example.com does not resolve (ENOTFOUND)",
  );
});

test("a URL the policy refuses is not sent to, and is a final failure saying why", async () => {
  const before = hits.length;
  const refused = await sendWebhook(request("/hooks/ok", { policy: { allowLoopback: false } }));
  expect(refused).toEqual({
    ok: false,
    status: null,
    error: "refused: must be an https:// URL",
    retriable: false,
  });
  const https = await sendWebhook(
    request("", { url: base.replace("http:", "https:") + "/hooks/ok", policy: { allowLoopback: false } }),
  );
  expect(https).toEqual({
    ok: false,
    status: null,
    error: "refused: 127.0.0.1 is a loopback address",
    retriable: false,
  });
  expect(hits.length).toBe(before);
});

test("the connection goes to the address that was checked, even when the name resolves elsewhere next", async () => {
  // Checked: 127.0.0.1 (allowed here). A second lookup, as a connection doing its own would make,
  // would answer 10.0.0.1: it is never made.
  const dns = stubResolver();
  dns.answer("rebind.example.com", ["127.0.0.1"], ["10.0.0.1"]);
  const port = new URL(base).port;
  const result = await sendWebhook(
    request("", {
      url: `http://rebind.example.com:${port}/hooks/pinned`,
      policy: { allowLoopback: true, resolve: dns.resolve },
    }),
  );
  expect(result).toEqual({ ok: true, status: 204, error: null, retriable: false });
  const hit = hits.find((h) => h.path === "/hooks/pinned")!;
  expect(hit.headers.host).toBe(`rebind.example.com:${port}`);
  expect(dns.calls).toEqual(["rebind.example.com"]);
});
