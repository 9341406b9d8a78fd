import { expect, test } from "vitest";
import { createLogger, redact } from "./logger.ts";

function capture(level: "debug" | "info" | "warn" | "error" | "silent" = "debug") {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("test-fn", level, {}, (line) => lines.push(JSON.parse(line)));
  return { log, lines };
}

test("redacts authorization, password and token values at any depth", () => {
  const out = redact({
    headers: { authorization: "Bearer orb_secret", Cookie: "sid=1", accept: "application/json" },
    body: { password: "hunter2", new_password: "x", email: "a@b.test" },
    tokens: [{ api_token: "orb_1" }],
    apiKey: "k",
    dapr_api_token: "d",
  });
  expect(out).toEqual({
    headers: { authorization: "[redacted]", Cookie: "[redacted]", accept: "application/json" },
    body: { password: "[redacted]", new_password: "[redacted]", email: "a@b.test" },
    tokens: "[redacted]",
    apiKey: "[redacted]",
    dapr_api_token: "[redacted]",
  });
});

test("log lines are JSON with time, level, service, bound fields and redacted extras", () => {
  const { log, lines } = capture();
  log.child({ request_id: "r-1" }).info("request", { authorization: "Bearer orb_x", status: 201 });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    level: "info",
    service: "test-fn",
    msg: "request",
    request_id: "r-1",
    authorization: "[redacted]",
    status: 201,
  });
  expect(new Date(lines[0]!.time as string).toString()).not.toBe("Invalid Date");
  expect(JSON.stringify(lines)).not.toContain("orb_x");
});

test("errors are serialised with name and message", () => {
  const { log, lines } = capture();
  log.error("failed", { err: new TypeError("boom") });
  expect(lines[0]!.err).toMatchObject({ name: "TypeError", message: "boom" });
});

test("lines below the level are dropped; silent drops everything", () => {
  const warn = capture("warn");
  warn.log.info("no");
  warn.log.warn("yes");
  expect(warn.lines.map((l) => l.msg)).toEqual(["yes"]);
  const silent = capture("silent");
  silent.log.error("no");
  expect(silent.lines).toEqual([]);
});
