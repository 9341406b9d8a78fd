// Resiliency policies for pub/sub (https://docs.dapr.io/operations/resiliency/policies/):
// `targets.components.<pubsub>.inbound` (sidecar → app delivery) and `.outbound` (publish), with
// named `policies.retries` and `policies.timeouts`, or the built-in default policy names.
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
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function duration(value: unknown, where: string): number {
  const ms = typeof value === "string" ? parseGoDuration(value) : null;
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
  private readonly components = new Map<string, { inbound: Obj; outbound: Obj }>();

  constructor(documents: { spec: unknown; origin: string }[]) {
    for (const { spec, origin } of documents) {
      const policies = isObject(spec) && isObject(spec.policies) ? spec.policies : {};
      for (const [name, value] of Object.entries(isObject(policies.retries) ? policies.retries : {})) {
        this.retries.set(name, parseRetry(name, value, origin));
      }
      for (const [name, value] of Object.entries(isObject(policies.timeouts) ? policies.timeouts : {})) {
        this.timeouts.set(name, duration(value, `${origin}: timeout "${name}"`));
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
    // Every policy a target names must exist.
    for (const [component, { inbound, outbound }] of this.components) {
      for (const [direction, target] of Object.entries({ inbound, outbound })) {
        if (target.retry !== undefined && !this.retries.has(String(target.retry))) {
          throw new ResourceError(
            `resiliency target ${component}.${direction} names retry policy "${String(target.retry)}", which is not defined`,
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

  /** A target's policies, falling back to Dapr's built-in default policy names, most specific first. */
  private policyFor(component: string, direction: "inbound" | "outbound"): TargetPolicy {
    const target = this.components.get(component)?.[direction] ?? {};
    const suffix = direction === "inbound" ? "Inbound" : "Outbound";
    const defaults = [
      `DefaultPubsubComponent${suffix}`,
      `DefaultComponent${suffix}`,
      "DefaultComponent",
      "Default",
    ];
    const retryName =
      target.retry !== undefined
        ? String(target.retry)
        : defaults.map((d) => `${d}RetryPolicy`).find((d) => this.retries.has(d));
    const timeoutName =
      target.timeout !== undefined
        ? String(target.timeout)
        : defaults.map((d) => `${d}TimeoutPolicy`).find((d) => this.timeouts.has(d));
    return {
      retry: retryName ? this.retries.get(retryName)! : null,
      timeoutMs: timeoutName ? this.timeout(timeoutName, `${component}.${direction}`) : null,
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
