// Unit: resiliency policy parsing, target lookup (dapr pkg/resiliency/resiliency.go) and backoff.
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
  expect(resiliency.pubsubInbound("other")).toEqual({ retry: null, timeoutMs: null, breaker: null });
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

test("a component listed in targets gets only what its target names: the default policies do not fill in", () => {
  const resiliency = new Resiliency(
    spec(
      {
        retries: { DefaultRetryPolicy: { maxRetries: 2 }, r: { maxRetries: 1 } },
        timeouts: { DefaultTimeoutPolicy: "9s" },
        circuitBreakers: { DefaultCircuitBreakerPolicy: {} },
      },
      { components: { pubsub: { outbound: { retry: "r" } } } },
    ),
  );
  expect(resiliency.pubsubInbound("pubsub")).toEqual({ retry: null, timeoutMs: null, breaker: null });
  expect(resiliency.pubsubOutbound("pubsub").retry?.name).toBe("r");
  expect(resiliency.pubsubOutbound("pubsub").breaker).toBeNull();
  // An unlisted component gets every default.
  expect(resiliency.pubsubInbound("other")).toMatchObject({
    retry: { name: "DefaultRetryPolicy" },
    timeoutMs: 9_000,
    breaker: { name: "DefaultCircuitBreakerPolicy-other" },
  });
});

test("circuit breakers: gobreaker's defaults, named per component, one instance per component for both directions", () => {
  const resiliency = new Resiliency(
    spec(
      {
        circuitBreakers: {
          cb: { maxRequests: 2, interval: "10s", timeout: "1500", trip: "consecutiveFailures >= 3" },
          bare: {},
          DefaultPubsubComponentInboundCircuitBreakerPolicy: { timeout: "5s" },
        },
      },
      { components: { pubsub: { inbound: { circuitBreaker: "cb" }, outbound: { circuitBreaker: "bare" } } } },
    ),
  );
  const inbound = resiliency.pubsubInbound("pubsub").breaker!;
  // Integer strings are milliseconds, as dapr/kit's config decoder reads durations.
  expect(inbound.policy).toMatchObject({ maxRequests: 2, intervalMs: 10_000, timeoutMs: 1_500 });
  expect(inbound.name).toBe("cb-pubsub");
  // daprd keys the instance by component name only: outbound gets the inbound breaker.
  expect(resiliency.pubsubOutbound("pubsub").breaker).toBe(inbound);
  expect(resiliency.pubsubInbound("pubsub").breaker).toBe(inbound);
  const other = resiliency.pubsubInbound("other").breaker!;
  expect(other.name).toBe("DefaultPubsubComponentInboundCircuitBreakerPolicy-other");
  expect(other.policy).toMatchObject({ maxRequests: 1, intervalMs: 0, timeoutMs: 5_000, tripSource: "" });
  const bare = new Resiliency(
    spec({ circuitBreakers: { bare: {} } }, { components: { p: { outbound: { circuitBreaker: "bare" } } } }),
  ).pubsubOutbound("p").breaker!;
  expect(bare.policy).toMatchObject({ maxRequests: 1, intervalMs: 0, timeoutMs: 60_000 });
});

test("a target naming an undefined circuit breaker, or a trip expression that cannot be evaluated, is a startup error", () => {
  expect(
    () => new Resiliency(spec({}, { components: { pubsub: { inbound: { circuitBreaker: "nope" } } } })),
  ).toThrow(/circuit breaker "nope"/);
  expect(() => new Resiliency(spec({ circuitBreakers: { cb: { trip: "failures > 3" } } }))).toThrow(
    /unknown variable "failures"/,
  );
  expect(() => new Resiliency(spec({ circuitBreakers: { cb: { trip: "consecutiveFailures >" } } }))).toThrow(
    ResourceError,
  );
  expect(() => new Resiliency(spec({ circuitBreakers: { cb: { timeout: "soon" } } }))).toThrow(/soon/);
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
