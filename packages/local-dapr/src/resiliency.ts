// Resiliency policies for pub/sub (https://docs.dapr.io/operations/resiliency/policies/):
// `targets.components.<pubsub>.inbound` (sidecar → app delivery) and `.outbound` (publish), with
// named `policies.retries`, `policies.timeouts` and `policies.circuitBreakers`, or the built-in
// default policy names. Which policies apply follows dapr pkg/resiliency/resiliency.go
// (ComponentInboundPolicy / ComponentOutboundPolicy).
import { CircuitBreaker, compileTrip, type BreakerPolicy, type BreakerState } from "./circuit-breaker.ts";
import { parseGoDuration } from "./durations.ts";
import { ResourceError } from "./resources.ts";

export interface RetryPolicy {
  name: string;
  policy: "constant" | "exponential";
  /** constant: the interval; exponential: the initial interval. */
  durationMs: number;
  maxIntervalMs: number;
  /** -1 = retry forever. */
  maxRetries: number;
  /** `matching.httpStatusCodes`; null = every failure is retried. */
  retriesStatus: ((status: number) => boolean) | null;
}

export interface TargetPolicy {
  retry: RetryPolicy | null;
  timeoutMs: number | null;
  /** The component's breaker instance (shared by its inbound and outbound targets, as in daprd). */
  breaker: CircuitBreaker | null;
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A duration as dapr/kit's config decoder reads one: an integer is milliseconds, else a Go duration. */
function duration(value: unknown, where: string): number {
  const ms =
    typeof value !== "string" ? null : /^\d+$/.test(value.trim()) ? Number(value) : parseGoDuration(value);
  if (ms === null || ms < 0) throw new ResourceError(`${where}: "${String(value)}" is not a Go duration`);
  return ms;
}

/** "429,500-599" → a predicate (dapr pkg/resiliency `matching.httpStatusCodes`). */
export function parseStatusCodes(spec: string, where: string): (status: number) => boolean {
  const ranges = spec.split(",").map((part) => {
    const match = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    const low = match ? Number(match[1]) : NaN;
    const high = match?.[2] ? Number(match[2]) : low;
    if (!match || low < 100 || high > 599 || high < low) {
      throw new ResourceError(`${where}: "${part.trim()}" is not an HTTP status code or range (100-599)`);
    }
    return [low, high] as const;
  });
  return (status) => ranges.some(([low, high]) => status >= low && status <= high);
}

function parseRetry(name: string, spec: unknown, where: string): RetryPolicy {
  if (!isObject(spec)) throw new ResourceError(`${where}: retry policy "${name}" must be an object`);
  const policy = spec.policy ?? "constant";
  if (policy !== "constant" && policy !== "exponential") {
    throw new ResourceError(`${where}: retry policy "${name}": policy must be constant or exponential`);
  }
  const maxRetries = spec.maxRetries === undefined ? -1 : Number(spec.maxRetries);
  if (!Number.isInteger(maxRetries) || maxRetries < -1) {
    throw new ResourceError(`${where}: retry policy "${name}": maxRetries must be an integer ≥ -1`);
  }
  const matching = isObject(spec.matching) ? spec.matching : {};
  return {
    name,
    policy,
    // Dapr's defaults: constant 5 s; exponential starts at 500 ms unless a duration is given.
    durationMs:
      spec.duration !== undefined ? duration(spec.duration, where) : policy === "constant" ? 5_000 : 500,
    maxIntervalMs: spec.maxInterval !== undefined ? duration(spec.maxInterval, where) : 60_000,
    maxRetries,
    retriesStatus:
      typeof matching.httpStatusCodes === "string" && matching.httpStatusCodes.trim()
        ? parseStatusCodes(matching.httpStatusCodes, `${where}: retry policy "${name}"`)
        : null,
  };
}

/**
 * A `policies.circuitBreakers` entry (dapr pkg/apis/resiliency/v1alpha1 `CircuitBreaker`: integer
 * maxRequests, string interval / timeout / trip), with gobreaker's defaults for what is unset or zero.
 */
function parseBreaker(name: string, spec: unknown, where: string): BreakerPolicy {
  if (!isObject(spec)) throw new ResourceError(`${where}: circuit breaker "${name}" must be an object`);
  const maxRequests = spec.maxRequests === undefined ? 0 : Number(spec.maxRequests);
  if (!Number.isInteger(maxRequests) || maxRequests < 0) {
    throw new ResourceError(`${where}: circuit breaker "${name}": maxRequests must be an integer ≥ 0`);
  }
  const intervalMs = spec.interval === undefined || spec.interval === "" ? 0 : duration(spec.interval, where);
  const timeoutMs = spec.timeout === undefined || spec.timeout === "" ? 0 : duration(spec.timeout, where);
  if (spec.trip !== undefined && typeof spec.trip !== "string") {
    throw new ResourceError(`${where}: circuit breaker "${name}": trip must be a string`);
  }
  const tripSource = spec.trip ?? "";
  return {
    name,
    maxRequests: maxRequests === 0 ? 1 : maxRequests,
    intervalMs,
    timeoutMs: timeoutMs <= 0 ? 60_000 : timeoutMs,
    tripSource,
    trip: compileTrip(tripSource, `${where}: circuit breaker "${name}"`),
  };
}

/**
 * The delay before retry number `retry` (0 = the first retry). Exponential follows
 * cenkalti/backoff as Dapr configures it: interval × 1.5ⁿ, randomised ±50 %, capped at maxInterval.
 */
export function backoffMs(policy: RetryPolicy, retry: number, random = Math.random): number {
  if (policy.policy === "constant") return policy.durationMs;
  const interval = Math.min(policy.maxIntervalMs, policy.durationMs * 1.5 ** retry);
  return Math.min(policy.maxIntervalMs, interval * (0.5 + random()));
}

export class Resiliency {
  private readonly retries = new Map<string, RetryPolicy>();
  private readonly timeouts = new Map<string, number>();
  private readonly breakerPolicies = new Map<string, BreakerPolicy>();
  private readonly components = new Map<string, { inbound: Obj; outbound: Obj }>();
  /**
   * Breaker instances by component name. daprd keeps one per component (resiliency.go
   * `circuitBreakerInstances.Get(name, template)`), created from whichever policy asks first, so a
   * component's inbound and outbound targets share one breaker and one set of counts.
   */
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    documents: { spec: unknown; origin: string }[],
    private readonly onBreakerChange: (name: string, from: BreakerState, to: BreakerState) => void = () => {},
  ) {
    for (const { spec, origin } of documents) {
      const policies = isObject(spec) && isObject(spec.policies) ? spec.policies : {};
      for (const [name, value] of Object.entries(isObject(policies.retries) ? policies.retries : {})) {
        this.retries.set(name, parseRetry(name, value, origin));
      }
      for (const [name, value] of Object.entries(isObject(policies.timeouts) ? policies.timeouts : {})) {
        this.timeouts.set(name, duration(value, `${origin}: timeout "${name}"`));
      }
      const breakers = isObject(policies.circuitBreakers) ? policies.circuitBreakers : {};
      for (const [name, value] of Object.entries(breakers)) {
        this.breakerPolicies.set(name, parseBreaker(name, value, origin));
      }
      const targets = isObject(spec) && isObject(spec.targets) ? spec.targets : {};
      for (const [name, value] of Object.entries(isObject(targets.components) ? targets.components : {})) {
        const target = isObject(value) ? value : {};
        this.components.set(name, {
          inbound: isObject(target.inbound) ? target.inbound : {},
          outbound: isObject(target.outbound) ? target.outbound : {},
        });
      }
    }
    // Every policy a target names must exist (daprd would use no timeout, no retry, or crash on a
    // missing breaker template: fail at startup instead).
    for (const [component, { inbound, outbound }] of this.components) {
      for (const [direction, target] of Object.entries({ inbound, outbound })) {
        if (target.retry !== undefined && !this.retries.has(String(target.retry))) {
          throw new ResourceError(
            `resiliency target ${component}.${direction} names retry policy "${String(target.retry)}", which is not defined`,
          );
        }
        if (target.circuitBreaker !== undefined && !this.breakerPolicies.has(String(target.circuitBreaker))) {
          throw new ResourceError(
            `resiliency target ${component}.${direction} names circuit breaker "${String(target.circuitBreaker)}", which is not defined`,
          );
        }
        if (target.timeout !== undefined) this.timeout(String(target.timeout), `${component}.${direction}`);
      }
    }
  }

  private timeout(nameOrDuration: string, where: string): number {
    const named = this.timeouts.get(nameOrDuration);
    if (named !== undefined) return named;
    const ms = parseGoDuration(nameOrDuration);
    if (ms === null) {
      throw new ResourceError(
        `resiliency target ${where} names timeout "${nameOrDuration}", which is not defined`,
      );
    }
    return ms;
  }

  private breakerFor(component: string, policyName: string): CircuitBreaker {
    let breaker = this.breakers.get(component);
    if (!breaker) {
      const policy = this.breakerPolicies.get(policyName)!;
      breaker = new CircuitBreaker(policy, `${policy.name}-${component}`, this.onBreakerChange);
      this.breakers.set(component, breaker);
    }
    return breaker;
  }

  /**
   * A target's policies. As in daprd, a component listed under `targets.components` gets exactly
   * the policies its target names; only a component that is not listed falls back to the built-in
   * default policy names, most specific first (Default{Pubsub}Component{Inbound|Outbound}…,
   * DefaultComponent…, Default…).
   */
  private policyFor(component: string, direction: "inbound" | "outbound"): TargetPolicy {
    const listed = this.components.get(component);
    if (listed) {
      const target = listed[direction];
      return {
        retry: target.retry !== undefined ? this.retries.get(String(target.retry))! : null,
        timeoutMs:
          target.timeout !== undefined
            ? this.timeout(String(target.timeout), `${component}.${direction}`)
            : null,
        breaker:
          target.circuitBreaker !== undefined
            ? this.breakerFor(component, String(target.circuitBreaker))
            : null,
      };
    }
    const suffix = direction === "inbound" ? "Inbound" : "Outbound";
    const levels = [
      `DefaultPubsubComponent${suffix}`,
      `DefaultComponent${suffix}`,
      "DefaultComponent",
      "Default",
    ];
    const retryName = levels.map((d) => `${d}RetryPolicy`).find((d) => this.retries.has(d));
    const timeoutName = levels.map((d) => `${d}TimeoutPolicy`).find((d) => this.timeouts.has(d));
    const breakerName = levels
      .map((d) => `${d}CircuitBreakerPolicy`)
      .find((d) => this.breakerPolicies.has(d));
    return {
      retry: retryName ? this.retries.get(retryName)! : null,
      timeoutMs: timeoutName ? this.timeouts.get(timeoutName)! : null,
      breaker: breakerName ? this.breakerFor(component, breakerName) : null,
    };
  }

  /** Sidecar → app delivery of a pub/sub component's messages. */
  pubsubInbound(component: string): TargetPolicy {
    return this.policyFor(component, "inbound");
  }

  /** App → broker publish through a pub/sub component. */
  pubsubOutbound(component: string): TargetPolicy {
    return this.policyFor(component, "outbound");
  }
}
