import { expect, test } from "vitest";
import { z } from "zod";
import { NotFound, RuleViolation, VersionConflict } from "#core/errors.ts";
import { fieldErrors, knownProblem, problems, ProblemType } from "./problems.ts";

function issuesOf(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value);
  if (result.success) throw new Error("expected the value to be invalid");
  return result.error.issues;
}

test("fieldErrors points at each invalid member under its location", () => {
  const schema = z.strictObject({ title: z.string(), priority: z.enum(["high", "low"]) });
  const errors = fieldErrors("body", issuesOf(schema, { priority: "urgent" }));
  expect(errors).toEqual([
    { pointer: "/body/title", field: "title", detail: expect.any(String) },
    { pointer: "/body/priority", field: "priority", detail: expect.any(String) },
  ]);
});

test("fieldErrors names nested members with array indexes", () => {
  const schema = z.strictObject({ reminders: z.array(z.strictObject({ offset_minutes: z.number() })) });
  const errors = fieldErrors(
    "body",
    issuesOf(schema, { reminders: [{ offset_minutes: 5 }, { offset_minutes: "x" }] }),
  );
  expect(errors).toEqual([
    {
      pointer: "/body/reminders/1/offset_minutes",
      field: "reminders.1.offset_minutes",
      detail: expect.any(String),
    },
  ]);
});

test("fieldErrors reports each unknown key on its own, pointing at the key", () => {
  const schema = z.strictObject({ title: z.string() });
  const errors = fieldErrors("body", issuesOf(schema, { title: "t", colour: "red", size: 3 }));
  expect(errors).toEqual([
    { pointer: "/body/colour", field: "colour", detail: 'unknown field "colour"' },
    { pointer: "/body/size", field: "size", detail: 'unknown field "size"' },
  ]);
});

test("fieldErrors escapes ~ and / in pointers as RFC 6901 says", () => {
  const schema = z.strictObject({});
  const errors = fieldErrors("query", issuesOf(schema, { "a/b": 1, "c~d": 2 }));
  expect(errors.map((e) => e.pointer)).toEqual(["/query/a~1b", "/query/c~0d"]);
  expect(errors.map((e) => e.field)).toEqual(["a/b", "c~d"]);
});

test("fieldErrors names the location itself for an error on the whole value", () => {
  const errors = fieldErrors("body", issuesOf(z.object({}), 42));
  expect(errors).toEqual([{ pointer: "/body", field: "body", detail: expect.any(String) }]);
});

test("problems carry their status, type and headers", () => {
  const unauthorized = problems.unauthorized();
  expect(unauthorized.status).toBe(401);
  expect(unauthorized.headers["WWW-Authenticate"]).toBe('Bearer realm="orbit"');
  expect(problems.methodNotAllowed(["GET", "POST"]).headers.Allow).toBe("GET, POST");
  expect(problems.rateLimited(7).headers["Retry-After"]).toBe("7");
  expect(problems.unavailable("down").headers["Retry-After"]).toBe("2");
  const conflict = problems.versionConflict(4, 2);
  expect(conflict.body).toMatchObject({ status: 409, type: ProblemType.versionConflict, current_version: 4 });
  expect(problems.internal().body.detail).not.toMatch(/stack|Error:/);
});

test("a broken rule is a 400 validation problem pointing at the body member it names", () => {
  expect(
    knownProblem(new RuleViolation("reminders", "reminders need the task to have a due_at"))?.body,
  ).toEqual({
    type: ProblemType.validation,
    title: "Invalid request",
    status: 400,
    detail: "The request is not valid.",
    errors: [
      { pointer: "/body/reminders", field: "reminders", detail: "reminders need the task to have a due_at" },
    ],
  });
  const nested = knownProblem(new RuleViolation("reminders.0.offset_minutes", "must be whole"))!;
  expect(nested.body.errors).toEqual([
    {
      pointer: "/body/reminders/0/offset_minutes",
      field: "reminders.0.offset_minutes",
      detail: "must be whole",
    },
  ]);
});

test("a missing resource is a 404 and a stale version the same 409 as problems.versionConflict", () => {
  const missing = knownProblem(new NotFound("No such task."))!;
  expect(missing.body).toEqual({
    type: ProblemType.notFound,
    title: "Not found",
    status: 404,
    detail: "No such task.",
  });
  expect(knownProblem(new VersionConflict(4, 2))).toEqual(problems.versionConflict(4, 2));
  expect(knownProblem(new VersionConflict(4, 2))!.status).toBe(409);
});

test("a Problem is answered as it is; any other error is not a known problem", () => {
  const problem = problems.conflict("taken");
  expect(knownProblem(problem)).toBe(problem);
  expect(knownProblem(new Error("boom"))).toBeUndefined();
  expect(knownProblem("not even an error")).toBeUndefined();
});
