// Issue 12, finding 10: the local sidecar's API token (DAPR_API_TOKEN, sent as `dapr-api-token`)
// must be compared in constant time, as daprd does (subtle.ConstantTimeCompare in
// pkg/http/api_token.go), so response timing tells an attacker nothing about how much of a guess
// was right. Timing itself cannot be asserted reliably in a test; what is asserted is that every
// check, right or wrong, of whatever length, goes through crypto.timingSafeEqual.
import * as crypto from "node:crypto";
import type * as Crypto from "node:crypto";
import { afterEach, expect, test, vi } from "vitest";
import { call, cleanupAll, sidecar, uid } from "../../packages/local-dapr/src/test-support.ts";

vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

afterEach(cleanupAll);

test("the local sidecar checks dapr-api-token with crypto.timingSafeEqual, for right, wrong and wrong-length tokens", async () => {
  const token = "s3cret-token-0123456789";
  const started = await sidecar({ appId: uid("token"), apiToken: token });
  const spy = vi.mocked(crypto.timingSafeEqual);
  const cases: [string | undefined, number][] = [
    [token, 200],
    ["s3cret-token-0123456780", 401],
    ["s", 401],
    [`${token}-and-more`, 401],
    ["", 401],
    [undefined, 401],
  ];
  for (const [given, status] of cases) {
    spy.mockClear();
    const headers: Record<string, string> = given === undefined ? {} : { "dapr-api-token": given };
    const response = await call(started.httpPort, "GET", "/v1.0/metadata", undefined, headers);
    expect(response.status, `token ${JSON.stringify(given)}`).toBe(status);
    expect(spy, `token ${JSON.stringify(given)}`).toHaveBeenCalled();
  }
});
