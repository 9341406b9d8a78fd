// Issue 12, finding 4: tricky redirect targets, each of which once passed or must keep passing.
import { expect, test } from "vitest";
import { safeRedirect } from "./redirect.ts";

const OFF_SITE = [
  "//evil.example",
  "///evil.example",
  "/\\evil.example",
  "\\\\evil.example",
  "/\\/evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r/evil.example",
  "\t//evil.example",
  " //evil.example",
  "/.//evil.example",
  "/..//evil.example",
  "/x/..//evil.example",
  "https://evil.example/",
  "https:evil.example",
  "http://localhost@evil.example/",
  "javascript:alert(1)",
  "JaVaScRiPt:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "mailto:someone@evil.example",
  "",
  "evil.example",
];

const KEPT: [string, string][] = [
  ["/", "/"],
  ["/tasks", "/tasks"],
  ["/tasks?view=today&tag=a%20b#row-3", "/tasks?view=today&tag=a%20b#row-3"],
  ["/task/0a1b", "/task/0a1b"],
  // Encoded slashes and backslashes stay encoded: a path on our origin, not a network path.
  ["/%2F%2Fevil.example", "/%2F%2Fevil.example"],
  ["/%5C%5Cevil.example", "/%5C%5Cevil.example"],
  ["/%09/evil.example", "/%09/evil.example"],
  ["/a/../settings", "/settings"],
];

test.each(OFF_SITE.map((to) => [JSON.stringify(to), to]))("safeRedirect(%s) → the default page", (_, to) => {
  expect(safeRedirect(to)).toBe("/");
  expect(safeRedirect(to, "/tasks")).toBe("/tasks");
});

test.each(KEPT)("safeRedirect(%j) → %j", (to, expected) => {
  expect(safeRedirect(to)).toBe(expected);
});

test("safeRedirect refuses what is not a string", () => {
  expect(safeRedirect(null)).toBe("/");
  expect(safeRedirect(new File(["x"], "x.txt"))).toBe("/");
});
