// Unit: the circuit breaker state machine (github.com/sony/gobreaker v0.5.0 as dapr 1.18.2 uses it,
// pkg/resiliency/breaker) and the trip expressions, on a clock the test moves.
import { expect, test } from "vitest";
import { CircuitBreaker, compileTrip, type BreakerCounts, type BreakerPolicy } from "./circuit-breaker.ts";
import { ResourceError } from "./resources.ts";

function breaker(policy: Partial<Omit<BreakerPolicy, "trip">> & { trip?: string }) {
  let now = 1_000_000;
  const changes: string[] = [];
  const { trip, ...rest } = policy;
  const cb = new CircuitBreaker(
    {
      name: "cb",
      maxRequests: 1,
      intervalMs: 0,
      timeoutMs: 60_000,
      tripSource: trip ?? "",
      ...rest,
      trip: compileTrip(trip ?? "", "test"),
    },
    "cb-pubsub",
    (_name, from, to) => changes.push(`${from}→${to}`),
    () => now,
  );
  const call = (success: boolean) => {
    const permit = cb.beforeRequest();
    if ("refused" in permit) return permit.refused;
    cb.afterRequest(permit, success);
    return "called";
  };
  return { cb, call, changes, advance: (ms: number) => (now += ms) };
}

test("closed → open when the trip expression becomes true; open refuses every call until its timeout", () => {
  const { cb, call, changes, advance } = breaker({ trip: "consecutiveFailures >= 3", timeoutMs: 5_000 });
  expect([call(false), call(false)]).toEqual(["called", "called"]);
  expect(cb.currentState()).toBe("closed");
  expect(call(false)).toBe("called");
  expect(cb.currentState()).toBe("open");
  expect(call(true)).toBe("circuit breaker is open");
  advance(5_000);
  expect(call(true)).toBe("circuit breaker is open"); // gobreaker: expiry.Before(now), strictly
  advance(1);
  expect(cb.currentState()).toBe("half-open");
  expect(changes).toEqual(["closed→open", "open→half-open"]);
});

test("a success between failures resets consecutiveFailures; `>` trips one failure later than `>=`", () => {
  const strict = breaker({ trip: "consecutiveFailures > 2" });
  strict.call(false);
  strict.call(false);
  strict.call(true);
  strict.call(false);
  strict.call(false);
  expect(strict.cb.currentState()).toBe("closed");
  strict.call(false);
  expect(strict.cb.currentState()).toBe("open");
});

test("half-open lets maxRequests calls through: the rest are refused, their successes close it, one failure reopens it", () => {
  const { cb, call, advance } = breaker({ trip: "consecutiveFailures >= 1", maxRequests: 2, timeoutMs: 100 });
  call(false);
  advance(101);
  const first = cb.beforeRequest();
  const second = cb.beforeRequest();
  expect(cb.beforeRequest()).toEqual({ refused: "too many requests" });
  cb.afterRequest(first as { generation: number }, true);
  expect(cb.currentState()).toBe("half-open");
  cb.afterRequest(second as { generation: number }, true);
  expect(cb.currentState()).toBe("closed");

  call(false);
  advance(101);
  expect(call(false)).toBe("called");
  expect(cb.currentState()).toBe("open");
});

test("the outcome of a call that began before a state change is ignored (generations)", () => {
  const { cb, call } = breaker({ trip: "consecutiveFailures >= 2" });
  const early = cb.beforeRequest() as { generation: number };
  call(false);
  call(false);
  expect(cb.currentState()).toBe("open");
  cb.afterRequest(early, true);
  expect(cb.currentState()).toBe("open");
});

test("with an interval, the closed state clears its counts every interval; with 0 it never does", () => {
  const cleared = breaker({ trip: "totalFailures >= 3", intervalMs: 1_000 });
  cleared.call(false);
  cleared.call(false);
  cleared.advance(1_001);
  cleared.call(false);
  expect(cleared.cb.currentState()).toBe("closed");
  const kept = breaker({ trip: "totalFailures >= 3" });
  kept.call(false);
  kept.call(false);
  kept.advance(10 * 60_000);
  kept.call(true);
  kept.call(false);
  expect(kept.cb.currentState()).toBe("open");
});

test("no trip expression is gobreaker's default: more than 5 consecutive failures", () => {
  const { cb, call } = breaker({});
  for (let i = 0; i < 5; i++) call(false);
  expect(cb.currentState()).toBe("closed");
  call(false);
  expect(cb.currentState()).toBe("open");
});

test("trip expressions: the five counts, integer comparisons, && || ! and parentheses, with CEL's error rules", () => {
  const counts: BreakerCounts = {
    requests: 10,
    totalSuccesses: 4,
    totalFailures: 6,
    consecutiveSuccesses: 0,
    consecutiveFailures: 3,
  };
  const cases: [string, boolean][] = [
    ["consecutiveFailures > 2", true],
    ["consecutiveFailures >= 4", false],
    ["requests >= 10 && totalFailures > totalSuccesses", true],
    ["(consecutiveFailures < 1 || totalFailures == 6) && !(requests != 10)", true],
    ["consecutiveSuccesses <= 0 && requests < 5", false],
    // A comparison of a count with a boolean is a CEL error: never trips.
    ["consecutiveFailures > true", false],
    // ...unless the other side of || decides.
    ["consecutiveFailures > true || requests == 10", true],
  ];
  for (const [source, expected] of cases) expect(compileTrip(source, "t")(counts), source).toBe(expected);
  for (const bad of [
    "consecutiveFailures > 5.5",
    "errors > 1",
    "consecutiveFailures >",
    "a b",
    "size(x) > 1",
  ])
    expect(() => compileTrip(bad, "t"), bad).toThrow(ResourceError);
});
