// A small subset of CEL (https://github.com/google/cel-spec) for subscription routing rules:
// `event.<attr>[.<field>…]` paths, string/number/bool/null literals, `==`, `!=`, `!`, `&&`, `||`,
// parentheses, `has(event.x)` and the string methods `startsWith`, `endsWith`, `contains`.
// Anything else is a parse error, reported at startup with the expression, so a rule we cannot
// evaluate never silently routes messages wrong.
//
// Evaluation follows CEL where it matters for routing: reading a missing attribute is an error
// ("no such key"), and `||`/`&&` absorb an error when the other side decides the result
// (`true || error` is true). Dapr treats an evaluation error as a failed delivery
// (pkg/runtime/subscription/subscription.go `findMatchingRoute`).

type Node =
  | { kind: "lit"; value: unknown }
  | { kind: "path"; parts: string[] }
  | { kind: "has"; path: string[] }
  | { kind: "not"; expr: Node }
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "eq" | "ne"; left: Node; right: Node }
  | { kind: "call"; method: "startsWith" | "endsWith" | "contains"; target: Node; arg: Node };

type Token =
  | { type: "ident"; value: string }
  | { type: "string"; value: string }
  | { type: "number"; value: number }
  | { type: "op"; value: string };

export class CelSyntaxError extends Error {}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (["==", "!=", "&&", "||"].includes(two)) {
      tokens.push({ type: "op", value: two });
      i += 2;
      continue;
    }
    if ("().!,".includes(c)) {
      tokens.push({ type: "op", value: c });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let value = "";
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === "\\") {
          const next = source[i + 1];
          const escapes: Record<string, string> = {
            n: "\n",
            t: "\t",
            r: "\r",
            "\\": "\\",
            '"': '"',
            "'": "'",
          };
          if (next === undefined || !(next in escapes))
            throw new CelSyntaxError(`unsupported escape at ${i}`);
          value += escapes[next];
          i += 2;
        } else {
          value += source[i];
          i++;
        }
      }
      if (i >= source.length) throw new CelSyntaxError("unterminated string literal");
      i++;
      tokens.push({ type: "string", value });
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?/.exec(source.slice(i));
    if (number && (c !== "-" || tokens.length === 0 || tokens.at(-1)?.type === "op")) {
      tokens.push({ type: "number", value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i));
    if (ident) {
      tokens.push({ type: "ident", value: ident[0] });
      i += ident[0].length;
      continue;
    }
    throw new CelSyntaxError(`unexpected character "${c}" at ${i}`);
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.or();
    if (this.pos < this.tokens.length) throw new CelSyntaxError(`unexpected "${this.describe(this.peek())}"`);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private describe(token: Token | undefined): string {
    return token === undefined ? "end of expression" : String(token.value);
  }

  private isOp(value: string): boolean {
    const token = this.peek();
    return token?.type === "op" && token.value === value;
  }

  private expectOp(value: string): void {
    if (!this.isOp(value))
      throw new CelSyntaxError(`expected "${value}", found ${this.describe(this.peek())}`);
    this.pos++;
  }

  private or(): Node {
    let left = this.and();
    while (this.isOp("||")) {
      this.pos++;
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }

  private and(): Node {
    let left = this.equality();
    while (this.isOp("&&")) {
      this.pos++;
      left = { kind: "and", left, right: this.equality() };
    }
    return left;
  }

  private equality(): Node {
    const left = this.unary();
    if (this.isOp("==") || this.isOp("!=")) {
      const kind = (this.peek() as { value: string }).value === "==" ? "eq" : "ne";
      this.pos++;
      return { kind, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    if (this.isOp("!")) {
      this.pos++;
      return { kind: "not", expr: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: Node): Node {
    while (this.isOp(".")) {
      this.pos++;
      const name = this.peek();
      if (name?.type !== "ident") throw new CelSyntaxError(`expected a field name after "."`);
      this.pos++;
      if (this.isOp("(")) {
        if (name.value !== "startsWith" && name.value !== "endsWith" && name.value !== "contains") {
          throw new CelSyntaxError(`unsupported function "${name.value}"`);
        }
        this.pos++;
        const arg = this.or();
        this.expectOp(")");
        node = { kind: "call", method: name.value, target: node, arg };
      } else if (node.kind === "path") {
        node = { kind: "path", parts: [...node.parts, name.value] };
      } else {
        throw new CelSyntaxError(`field selection ".${name.value}" is only supported on event paths`);
      }
    }
    return node;
  }

  private primary(): Node {
    const token = this.peek();
    if (!token) throw new CelSyntaxError("unexpected end of expression");
    this.pos++;
    if (token.type === "string" || token.type === "number") return { kind: "lit", value: token.value };
    if (token.type === "op" && token.value === "(") {
      const inner = this.or();
      this.expectOp(")");
      return inner;
    }
    if (token.type === "ident") {
      if (token.value === "true" || token.value === "false")
        return { kind: "lit", value: token.value === "true" };
      if (token.value === "null") return { kind: "lit", value: null };
      if (token.value === "event") return { kind: "path", parts: [] };
      if (token.value === "has") {
        this.expectOp("(");
        const inner = this.postfix(this.primary());
        this.expectOp(")");
        if (inner.kind !== "path" || inner.parts.length === 0) {
          throw new CelSyntaxError("has() takes a field path such as event.subject");
        }
        return { kind: "has", path: inner.parts };
      }
      throw new CelSyntaxError(`unknown identifier "${token.value}" (only "event" is defined)`);
    }
    throw new CelSyntaxError(`unexpected "${token.value}"`);
  }
}

type Result = { ok: true; value: unknown } | { ok: false; error: string };

function evaluate(node: Node, event: Record<string, unknown>): Result {
  switch (node.kind) {
    case "lit":
      return { ok: true, value: node.value };
    case "path": {
      let current: unknown = event;
      for (const part of node.parts) {
        if (current === null || typeof current !== "object" || !(part in current)) {
          return { ok: false, error: `no such key: ${part}` };
        }
        current = (current as Record<string, unknown>)[part];
      }
      return { ok: true, value: current };
    }
    case "has": {
      const parent = evaluate({ kind: "path", parts: node.path.slice(0, -1) }, event);
      if (!parent.ok) return parent;
      const value = parent.value;
      return { ok: true, value: value !== null && typeof value === "object" && node.path.at(-1)! in value };
    }
    case "not": {
      const inner = evaluate(node.expr, event);
      if (!inner.ok) return inner;
      if (typeof inner.value !== "boolean") return { ok: false, error: "no such overload: !" };
      return { ok: true, value: !inner.value };
    }
    case "and":
    case "or": {
      const decisive = node.kind === "or";
      const left = evaluate(node.left, event);
      if (left.ok && left.value === decisive) return left;
      const right = evaluate(node.right, event);
      if (right.ok && right.value === decisive) return right;
      if (!left.ok) return left;
      if (!right.ok) return right;
      if (typeof left.value !== "boolean" || typeof right.value !== "boolean") {
        return { ok: false, error: `no such overload: ${node.kind === "or" ? "||" : "&&"}` };
      }
      return { ok: true, value: !decisive };
    }
    case "eq":
    case "ne": {
      const left = evaluate(node.left, event);
      if (!left.ok) return left;
      const right = evaluate(node.right, event);
      if (!right.ok) return right;
      const equal = JSON.stringify(left.value) === JSON.stringify(right.value);
      return { ok: true, value: node.kind === "eq" ? equal : !equal };
    }
    case "call": {
      const target = evaluate(node.target, event);
      if (!target.ok) return target;
      const arg = evaluate(node.arg, event);
      if (!arg.ok) return arg;
      if (typeof target.value !== "string" || typeof arg.value !== "string") {
        return { ok: false, error: `no such overload: ${node.method}` };
      }
      const value =
        node.method === "startsWith"
          ? target.value.startsWith(arg.value)
          : node.method === "endsWith"
            ? target.value.endsWith(arg.value)
            : target.value.includes(arg.value);
      return { ok: true, value };
    }
  }
}

export interface CompiledMatch {
  source: string;
  /** True/false, or an error message when CEL would fail to evaluate the expression. */
  evaluate(event: Record<string, unknown>): boolean | { error: string };
}

/** Compiles a routing rule's `match`; throws CelSyntaxError naming what is unsupported. */
export function compileMatch(source: string): CompiledMatch {
  let ast: Node;
  try {
    ast = new Parser(tokenize(source)).parse();
  } catch (error) {
    if (error instanceof CelSyntaxError) {
      throw new CelSyntaxError(`unsupported routing expression ${JSON.stringify(source)}: ${error.message}`);
    }
    throw error;
  }
  return {
    source,
    evaluate(event) {
      const result = evaluate(ast, event);
      if (!result.ok) return { error: result.error };
      if (typeof result.value !== "boolean") {
        return { error: `the result of match expression ${source} was not a boolean` };
      }
      return result.value;
    },
  };
}
