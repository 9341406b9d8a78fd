// Stand-ins for kubectl and helm in the deploy tests (no cluster is reachable here): an executable
// script that records every call, its arguments and standard input, and answers as the test says.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface Call {
  args: string[];
  stdin: string;
  /** Whatever the fake's `capture` added to the call before it was recorded. */
  [extra: string]: unknown;
}

export interface FakeCommand {
  bin: string;
  calls(): Call[];
}

/**
 * Writes the executable `dir/name`. Each call runs `capture` (which may add fields to `call`),
 * is recorded, then runs `respond`. Both are JavaScript with `fs`, `path`, `args`, `stdin`, `call`
 * and `next(key)` (0, 1, 2… per key, across calls) in scope; `respond` writes the answer and may
 * `process.exit(code)`.
 */
export function fakeCommand(dir: string, name: string, respond: string, capture = ""): FakeCommand {
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, `${name}.calls.jsonl`);
  const counters = path.join(dir, `${name}.counters.json`);
  const bin = path.join(dir, name);
  writeFileSync(
    bin,
    `#!${process.execPath}
const fs = require("node:fs");
const path = require("node:path");
const args = process.argv.slice(2);
const stdin = fs.readFileSync(0, "utf8");
const counts = fs.existsSync(${JSON.stringify(counters)}) ? JSON.parse(fs.readFileSync(${JSON.stringify(counters)}, "utf8")) : {};
const next = (key) => { const n = counts[key] ?? 0; counts[key] = n + 1; fs.writeFileSync(${JSON.stringify(counters)}, JSON.stringify(counts)); return n; };
const call = { args, stdin };
${capture}
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(call) + "\\n");
${respond}
`,
  );
  chmodSync(bin, 0o755);
  return {
    bin,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as Call)
        : [],
  };
}
