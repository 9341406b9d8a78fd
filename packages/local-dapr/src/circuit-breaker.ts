// Circuit breakers exactly as daprd 1.18 runs them: dapr pkg/resiliency/breaker/circuitbreaker.go
// wraps github.com/sony/gobreaker v0.5.0 (the version dapr 1.18.2's go.mod pins), whose state
// machine this file reproduces:
//
// - closed: every call passes; a failure updates the counts and, if the `trip` expression is then
//   true, opens the breaker. With `interval` > 0 the counts are cleared every interval.
// - open: every call is refused without running (gobreaker.ErrOpenState) until `timeout` passes,
//   then the breaker is half-open.
// - half-open: at most `maxRequests` calls pass (the rest get ErrTooManyRequests); one failure
//   opens it again, `maxRequests` consecutive successes close it.
//
// Each state change starts a new "generation": the outcome of a call that began in an earlier one
// is ignored (gobreaker afterRequest). What a refusal means to the caller is daprd's rule, not the
// breaker's: `breaker.IsErrorPermanent` makes both refusals permanent, so the retry policy stops
// at once (pkg/resiliency/policy.go) and a pub/sub delivery goes to the dead-letter topic
// (pkg/runtime/subscription/subscription.go). consumer.ts and publish.ts apply that.
import { ResourceError } from "./resources.ts";

export type BreakerState = "closed" | "open" | "half-open";

/** gobreaker.Counts: the variables a `trip` expression may read. */
export interface BreakerCounts {
  requests: number;
  totalSuccesses: number;
  totalFailures: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
}

const COUNT_NAMES = [
  "requests",
  "totalSuccesses",
  "totalFailures",
  "consecutiveSuccesses",
  "consecutiveFailures",
] as const satisfies readonly (keyof BreakerCounts)[];

/** A `policies.circuitBreakers` entry, with daprd's and gobreaker's defaults applied. */
export interface BreakerPolicy {
  name: string;
  /** Calls let through while half-open (gobreaker: 0 → 1). */
  maxRequests: number;
  /** How often the closed state clears its counts; 0 = never. */
  intervalMs: number;
  /** How long the breaker stays open (gobreaker: ≤ 0 → 60 s). */
  timeoutMs: number;
  /** The trip expression as written ("" = gobreaker's default, `consecutiveFailures > 5`). */
  tripSource: string;
  trip: (counts: BreakerCounts) => boolean;
}

// ── The trip expression ──
// daprd compiles `trip` as CEL over the five counts (pkg/expr/expr.go); a breaker whose expression
// does not evaluate to a boolean never trips. The policies people write compare counts with
// integers, so this is the subset served: the five names, integer literals, `> >= < <= == !=`,
// `&&`, `||`, `!` and parentheses. Anything else fails startup naming the expression, rather than
// silently never tripping.

type TripNode =
  | { kind: "count"; name: keyof BreakerCounts }
  | { kind: "int"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "cmp"; op: string; left: TripNode; right: TripNode }
  | { kind: "and" | "or"; left: TripNode; right: TripNode }
  | { kind: "not"; expr: TripNode };

function tokenizeTrip(source: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*(>=|<=|==|!=|&&|\|\||[<>!()]|\d+|[A-Za-z_][A-Za-z0-9_]*)/y;
  let index = 0;
  while (index < source.length) {
    if (/^\s*$/.test(source.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(source);
    if (!match) throw new Error(`unexpected "${source.slice(index).trim()}"`);
    tokens.push(match[1]!);
    index = pattern.lastIndex;
  }
  return tokens;
}

function parseTrip(source: string): TripNode {
  const tokens = tokenizeTrip(source);
  let position = 0;
  const peek = () => tokens[position];
  const next = () => tokens[position++];
  const expect = (token: string) => {
    if (next() !== token) throw new Error(`expected "${token}"`);
  };

  const operand = (): TripNode => {
    const token = next();
    if (token === undefined) throw new Error("unexpected end of expression");
    if (token === "(") {
      const inner = or();
      expect(")");
      return inner;
    }
    if (token === "!") return { kind: "not", expr: operand() };
    if (/^\d+$/.test(token)) return { kind: "int", value: Number(token) };
    if (token === "true" || token === "false") return { kind: "bool", value: token === "true" };
    const name = COUNT_NAMES.find((n) => n === token);
    if (!name) throw new Error(`unknown variable "${token}" (known: ${COUNT_NAMES.join(", ")})`);
    return { kind: "count", name };
  };
  const comparison = (): TripNode => {
    const left = operand();
    const op = peek();
    if (op && [">", ">=", "<", "<=", "==", "!="].includes(op)) {
      next();
      return { kind: "cmp", op, left, right: operand() };
    }
    return left;
  };
  const and = (): TripNode => {
    let left = comparison();
    while (peek() === "&&") {
      next();
      left = { kind: "and", left, right: comparison() };
    }
    return left;
  };
  const or = (): TripNode => {
    let left = and();
    while (peek() === "||") {
      next();
      left = { kind: "or", left, right: and() };
    }
    return left;
  };

  const tree = or();
  if (position < tokens.length) throw new Error(`unexpected "${tokens[position]}"`);
  return tree;
}

/** CEL semantics on this subset; null stands for a CEL evaluation error (e.g. `!5`, `true > 1`). */
function evaluate(node: TripNode, counts: BreakerCounts): number | boolean | null {
  switch (node.kind) {
    case "count":
      return counts[node.name];
    case "int":
    case "bool":
      return node.value;
    case "not": {
      const value = evaluate(node.expr, counts);
      return typeof value === "boolean" ? !value : null;
    }
    case "and":
    case "or": {
      const left = evaluate(node.left, counts);
      const right = evaluate(node.right, counts);
      // CEL's && and || are commutative and absorb an error when the other side decides.
      const decisive = node.kind === "and" ? false : true;
      if (left === decisive || right === decisive) return decisive;
      return typeof left === "boolean" && typeof right === "boolean" ? !decisive : null;
    }
    case "cmp": {
      const left = evaluate(node.left, counts);
      const right = evaluate(node.right, counts);
      if (left === null || right === null || typeof left !== typeof right) return null;
      if (node.op === "==") return left === right;
      if (node.op === "!=") return left !== right;
      if (typeof left !== "number" || typeof right !== "number") return null;
      if (node.op === ">") return left > right;
      if (node.op === ">=") return left >= right;
      if (node.op === "<") return left < right;
      return left <= right;
    }
  }
}

/** Compiles a `trip` expression; "" is gobreaker's defaultReadyToTrip (`consecutiveFailures > 5`). */
export function compileTrip(source: string, where: string): (counts: BreakerCounts) => boolean {
  if (source.trim() === "") return (counts) => counts.consecutiveFailures > 5;
  let tree: TripNode;
  try {
    tree = parseTrip(source);
  } catch (error) {
    throw new ResourceError(
      `${where}: trip "${source}" is not an expression the local sidecar can evaluate: ${(error as Error).message}`,
    );
  }
  // Like daprd's tripFn: anything but a boolean `true` does not trip.
  return (counts) => evaluate(tree, counts) === true;
}

// ── The breaker ──

/** Why a call was not let through (gobreaker.ErrOpenState / ErrTooManyRequests). */
export type Refusal = "circuit breaker is open" | "too many requests";

export type Permit = { generation: number } | { refused: Refusal };

const zeroCounts = (): BreakerCounts => ({
  requests: 0,
  totalSuccesses: 0,
  totalFailures: 0,
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
});

export class CircuitBreaker {
  private state: BreakerState = "closed";
  private generation = 0;
  private counts = zeroCounts();
  /** When the current state ends (closed: counts cleared; open: half-open); 0 = never. */
  private expiry = 0;

  constructor(
    readonly policy: BreakerPolicy,
    /** daprd names each instance `<policy>-<component>` (resiliency.go newCB). */
    readonly name: string,
    private readonly onStateChange: (name: string, from: BreakerState, to: BreakerState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.toNewGeneration(this.now());
  }

  /** The state now (an open breaker whose timeout passed is half-open). */
  currentState(): BreakerState {
    return this.current(this.now()).state;
  }

  /** Asks to make a call: a permit to report back with, or the refusal. */
  beforeRequest(): Permit {
    const { state, generation } = this.current(this.now());
    if (state === "open") return { refused: "circuit breaker is open" };
    if (state === "half-open" && this.counts.requests >= this.policy.maxRequests)
      return { refused: "too many requests" };
    this.counts.requests++;
    return { generation };
  }

  /** Reports how a permitted call went; calls from an earlier generation are ignored. */
  afterRequest(permit: { generation: number }, success: boolean): void {
    const now = this.now();
    const { state, generation } = this.current(now);
    if (generation !== permit.generation) return;
    const counts = this.counts;
    if (success) {
      counts.totalSuccesses++;
      counts.consecutiveSuccesses++;
      counts.consecutiveFailures = 0;
      if (state === "half-open" && counts.consecutiveSuccesses >= this.policy.maxRequests)
        this.setState("closed", now);
      return;
    }
    if (state === "closed") {
      counts.totalFailures++;
      counts.consecutiveFailures++;
      counts.consecutiveSuccesses = 0;
      if (this.policy.trip({ ...counts })) this.setState("open", now);
    } else if (state === "half-open") {
      this.setState("open", now);
    }
  }

  private current(now: number): { state: BreakerState; generation: number } {
    if (this.state === "closed" && this.expiry !== 0 && this.expiry < now) this.toNewGeneration(now);
    else if (this.state === "open" && this.expiry < now) this.setState("half-open", now);
    return { state: this.state, generation: this.generation };
  }

  private setState(state: BreakerState, now: number): void {
    if (this.state === state) return;
    const from = this.state;
    this.state = state;
    this.toNewGeneration(now);
    this.onStateChange(this.name, from, state);
  }

  private toNewGeneration(now: number): void {
    this.generation++;
    this.counts = zeroCounts();
    if (this.state === "closed") this.expiry = this.policy.intervalMs > 0 ? now + this.policy.intervalMs : 0;
    else if (this.state === "open") this.expiry = now + this.policy.timeoutMs;
    else this.expiry = 0;
  }
}
