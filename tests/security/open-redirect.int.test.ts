// Issue 12, finding 4: after sign-in, `redirectTo` took anything starting with one "/" — and the URL
// parser drops tabs and newlines, so "/\t/evil.example" became "//evil.example", another origin.
// Now a target is resolved against our origin and only its path, query and fragment are kept
// (packages/accounts/src/redirect.ts; its table of tricky inputs is redirect.test.ts).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { postForm, startWeb, type WebApp } from "./web-world.ts";

let web: WebApp;

beforeAll(async () => {
  web = await startWeb({ TRUSTED_PROXY_HOPS: "1" });
}, 300_000);

afterAll(async () => {
  await web?.stop();
});

test("signing in with an off-site redirectTo lands on our own page, over real HTTP", async () => {
  const email = `redirect-${randomUUID()}@example.test`;
  const password = "a long enough password";
  const headers = { "x-forwarded-for": "198.51.100.200" };
  expect((await postForm(web.url, "/signup", { email, password, time_zone: "UTC" }, headers)).status).toBe(
    302,
  );
  for (const redirectTo of [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/.//evil.example",
    "/\\evil.example",
  ]) {
    const res = await postForm(web.url, "/login", { email, password, redirectTo }, headers);
    expect(res.status, JSON.stringify(redirectTo)).toBe(302);
    expect(res.headers.get("location"), JSON.stringify(redirectTo)).toBe("/");
    expect(new URL(res.headers.get("location")!, web.url).origin).toBe(new URL(web.url).origin);
  }
  const kept = await postForm(
    web.url,
    "/login",
    { email, password, redirectTo: "/tasks?view=today" },
    headers,
  );
  expect(kept.headers.get("location")).toBe("/tasks?view=today");
}, 60_000);
