// Unit: the CEL subset used by routing rules.
import { expect, test } from "vitest";
import { CelSyntaxError, compileMatch } from "./cel.ts";

const event = { type: "task.created", source: "orbit", data: { priority: 2, tags: ["a"] } };

test("== and != compare attributes with literals", () => {
  expect(compileMatch('event.type == "task.created"').evaluate(event)).toBe(true);
  expect(compileMatch("event.type != 'task.created'").evaluate(event)).toBe(false);
  expect(compileMatch("event.data.priority == 2").evaluate(event)).toBe(true);
});

test("&& binds tighter than ||, ! negates, parentheses group", () => {
  expect(
    compileMatch('event.type == "x" || event.source == "orbit" && event.data.priority == 2').evaluate(event),
  ).toBe(true);
  expect(
    compileMatch('(event.type == "x" || event.source == "orbit") && event.data.priority == 3').evaluate(
      event,
    ),
  ).toBe(false);
  expect(compileMatch('!(event.type == "x")').evaluate(event)).toBe(true);
});

test("a missing attribute is an evaluation error, absorbed only when the other side decides", () => {
  expect(compileMatch('event.subject == "x"').evaluate(event)).toEqual({ error: "no such key: subject" });
  expect(compileMatch('event.subject == "x" || event.type == "task.created"').evaluate(event)).toBe(true);
  expect(compileMatch('event.subject == "x" && event.type == "nope"').evaluate(event)).toBe(false);
  expect(compileMatch('event.subject == "x" || event.type == "nope"').evaluate(event)).toEqual({
    error: "no such key: subject",
  });
  expect(compileMatch("has(event.subject)").evaluate(event)).toBe(false);
  expect(compileMatch("has(event.data.priority)").evaluate(event)).toBe(true);
});

test("startsWith, endsWith and contains work on strings", () => {
  expect(compileMatch('event.type.startsWith("task.")').evaluate(event)).toBe(true);
  expect(compileMatch('event.type.endsWith(".deleted")').evaluate(event)).toBe(false);
  expect(compileMatch('event.source.contains("rb")').evaluate(event)).toBe(true);
});

test("a non-boolean result is an error", () => {
  expect(compileMatch("event.type").evaluate(event)).toEqual({
    error: "the result of match expression event.type was not a boolean",
  });
});

test("unsupported syntax is rejected at compile time, quoting the expression", () => {
  for (const source of [
    "event.data.tags.size() > 0",
    "event.type in ['a']",
    "request.type == 'a'",
    'event.type == "x',
  ])
    expect(() => compileMatch(source)).toThrow(CelSyntaxError);
  expect(() => compileMatch("event.type > 1")).toThrow('unsupported routing expression "event.type > 1"');
});
