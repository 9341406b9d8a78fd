// Issue 12, finding 3: the sign-in limit was keyed on the first X-Forwarded-For entry, which the
// client writes, so rotating it gave unlimited guesses; sign-up (a 32 MiB scrypt hash each) had no
// limit; and an MCP JSON-RPC batch counted as one request. Through real HTTP: the web app as
// remix-serve runs it behind one simulated proxy hop (TRUSTED_PROXY_HOPS=1: the rightmost entry is
// the one our ingress wrote), and the mcp function on the shared host.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Db } from "#db/client.ts";
import { createTestUser, startFunction } from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes as mcpRoutes } from "../../functions/mcp/handler.ts";
import { postForm, startWeb, type WebApp } from "./web-world.ts";

let db: Db;
let web: WebApp;

beforeAll(async () => {
  db = await workerDb();
  web = await startWeb({ TRUSTED_PROXY_HOPS: "1" });
}, 300_000);

afterAll(async () => {
  await web?.stop();
});

let addresses = 0;
/** A fresh documentation-range address (RFC 5737) for each caller that must not share a bucket. */
const newAddress = () => `198.51.100.${++addresses}`;
/** What a client sends plus what our one trusted proxy appends: the client's real address. */
const via = (real: string, spoofed = `10.${addresses}.0.1`) => ({ "x-forwarded-for": `${spoofed}, ${real}` });

async function signUpUser(address: string): Promise<{ email: string; password: string }> {
  const email = `abuse-${randomUUID()}@example.test`;
  const password = `a long enough password ${randomUUID()}`;
  const res = await postForm(web.url, "/signup", { email, password, time_zone: "UTC" }, via(address));
  expect(res.status).toBe(302);
  return { email, password };
}

test("rotating every X-Forwarded-For entry does not dodge the per-account lockout; the right password is refused too", async () => {
  const { email, password } = await signUpUser(newAddress());
  const Email = email.toUpperCase(); // normalised: one account, one counter
  for (let i = 0; i < 5; i++) {
    const res = await postForm(
      web.url,
      "/login",
      { email: i % 2 ? Email : email, password: "wrong" },
      via(newAddress(), `10.9.${i}.1`),
    );
    expect(res.status).toBe(401);
  }
  const wrong = await postForm(web.url, "/login", { email, password: "wrong again" }, via(newAddress()));
  const right = await postForm(web.url, "/login", { email, password }, via(newAddress()));
  for (const res of [wrong, right]) {
    expect(res.status).toBe(429);
    expect(res.headers.get("set-cookie")).toBeNull();
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  }
  // The same generic answer whether or not the password was right: nothing to learn from it.
  const alert = (html: string) => /<p role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
  expect(alert(right.text)).toMatch(/^Too many attempts\./);
  expect(alert(right.text)).toBe(alert(wrong.text));
}, 60_000);

test("the per-address limit counts the trusted hop, not the entries a client adds", async () => {
  const attacker = newAddress();
  const bystander = await signUpUser(newAddress());
  for (let i = 0; i < 30; i++) {
    // A different account each time (password spraying): only the address ties them together.
    const res = await postForm(
      web.url,
      "/login",
      { email: `nobody-${i}-${randomUUID()}@example.test`, password: "wrong" },
      via(attacker, `10.8.${i}.1`),
    );
    expect(res.status).toBe(401);
  }
  const limited = await postForm(
    web.url,
    "/login",
    { email: bystander.email, password: bystander.password },
    via(attacker),
  );
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  // The same account from another address signs in: the address limit is the attacker's alone.
  const elsewhere = await postForm(
    web.url,
    "/login",
    { email: bystander.email, password: bystander.password },
    via(newAddress()),
  );
  expect(elsewhere.status).toBe(302);
}, 120_000);

test("a successful sign-in resets the account's failure count", async () => {
  const address = newAddress();
  const { email, password } = await signUpUser(address);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 4; i++)
      expect((await postForm(web.url, "/login", { email, password: "wrong" }, via(address))).status).toBe(
        401,
      );
    expect((await postForm(web.url, "/login", { email, password }, via(address))).status).toBe(302);
  }
}, 60_000);

test("sign-up is limited per client address (each costs a 32 MiB scrypt hash); other addresses are not", async () => {
  const address = newAddress();
  for (let i = 0; i < 5; i++) await signUpUser(address);
  const email = `abuse-${randomUUID()}@example.test`;
  const limited = await postForm(
    web.url,
    "/signup",
    { email, password: "a long enough password", time_zone: "UTC" },
    via(address, "10.7.0.1"),
  );
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await db.user.count({ where: { email } })).toBe(0);
  await signUpUser(newAddress());
}, 60_000);

async function mcpPost(url: string, auth: string, body: unknown) {
  const res = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      authorization: auth,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-03-26",
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

const pings = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i + 1, method: "ping" }));

test("an MCP JSON-RPC batch costs one unit of the token's rate limit per message", async () => {
  const fn = await startFunction({ name: "mcp", routes: mcpRoutes }, { TOKEN_RATE_LIMIT_PER_MINUTE: "3" });
  try {
    const [flooder, other] = [await createTestUser(db), await createTestUser(db)];
    // A batch of 30 against 3 a minute: refused whole, nothing executed, and the client told when.
    const batch = await mcpPost(fn.url, flooder.auth, pings(30));
    expect(batch.status).toBe(429);
    expect(Number(batch.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(batch.body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32000 } });
    // A batch that fits goes through, and uses up the window: 2 + 2 > 3.
    const two = await mcpPost(fn.url, flooder.auth, pings(2));
    expect(two.status).toBe(200);
    expect(two.body).toHaveLength(2);
    expect((await mcpPost(fn.url, flooder.auth, pings(2))).status).toBe(429);
    expect((await mcpPost(fn.url, flooder.auth, pings(1)[0])).status).toBe(200);
    expect((await mcpPost(fn.url, flooder.auth, pings(1)[0])).status).toBe(429);
    // Another token has its own budget.
    expect((await mcpPost(fn.url, other.auth, pings(3))).status).toBe(200);
  } finally {
    await fn.close();
  }
});
