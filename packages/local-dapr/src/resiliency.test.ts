// Unit: resiliency policy parsing, target lookup and backoff.
import { expect, test } from "vitest";
import { backoffMs, parseStatusCodes, Resiliency } from "./resiliency.ts";
import { ResourceError } from "./resources.ts";

const spec = (policies: unknown, targets: unknown = {}) => [
  { spec: { policies, targets }, origin: "test.yaml" },
];

test("a component's inbound target names its retry and timeout policies", () => {
  const resiliency = new Resiliency(
    spec(
      {
        retries: { r: { policy: "exponential", duration: "200ms", maxInterval: "10s", maxRetries: 5 } },
        timeouts: { t: "3s" },
      },
      { components: { pubsub: { inbound: { retry: "r", timeout: "t" } } } },
    ),
  );
  expect(resiliency.pubsubInbound("pubsub")).toMatchObject({
    retry: { policy: "exponential", durationMs: 200, maxIntervalMs: 10_000, maxRetries: 5 },
    timeoutMs: 3_000,
  });
  expect(resiliency.pubsubInbound("other")).toEqual({ retry: null, timeoutMs: null });
});

test("without a target, Dapr's built-in default policy names apply, most specific first", () => {
  const resiliency = new Resiliency(
    spec({
      retries: {
        DefaultRetryPolicy: { policy: "constant", duration: "5s" },
        DefaultPubsubComponentInboundRetryPolicy: { policy: "constant", duration: "1s", maxRetries: 2 },
      },
    }),
  );
  expect(resiliency.pubsubInbound("any")?.retry?.name).toBe("DefaultPubsubComponentInboundRetryPolicy");
  expect(resiliency.pubsubOutbound("any")?.retry?.name).toBe("DefaultRetryPolicy");
});

test("retry defaults: constant 5 s, maxInterval 60 s, retry forever", () => {
  const resiliency = new Resiliency(
    spec({ retries: { r: {} } }, { components: { p: { inbound: { retry: "r" } } } }),
  );
  expect(resiliency.pubsubInbound("p").retry).toMatchObject({
    policy: "constant",
    durationMs: 5_000,
    maxIntervalMs: 60_000,
    maxRetries: -1,
  });
});

test("exponential backoff grows by 1.5×, randomised ±50 %, capped at maxInterval", () => {
  const policy = {
    name: "r",
    policy: "exponential" as const,
    durationMs: 100,
    maxIntervalMs: 1_000,
    maxRetries: -1,
    retriesStatus: null,
  };
  expect(backoffMs(policy, 0, () => 0.5)).toBe(100);
  expect(backoffMs(policy, 2, () => 0.5)).toBe(225);
  expect(backoffMs(policy, 2, () => 0)).toBe(112.5);
  expect(backoffMs(policy, 20, () => 0.99)).toBe(1_000);
});

test("httpStatusCodes takes codes and ranges; anything else is a startup error", () => {
  const matches = parseStatusCodes("429, 500-503", "here");
  expect([429, 500, 503, 504, 404].map(matches)).toEqual([true, true, true, false, false]);
  expect(() => parseStatusCodes("5xx", "here")).toThrow(ResourceError);
  expect(() => parseStatusCodes("600", "here")).toThrow(ResourceError);
});

test("a target naming an undefined policy is a startup error", () => {
  expect(
    () => new Resiliency(spec({}, { components: { pubsub: { inbound: { retry: "missing" } } } })),
  ).toThrow(/retry policy "missing"/);
});
