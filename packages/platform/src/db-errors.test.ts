import { expect, test } from "vitest";
import { isDatabaseUnavailable, isUniqueViolation } from "./db-errors.ts";

function errorWith(props: Record<string, unknown>, message = "failed"): Error {
  return Object.assign(new Error(message), props);
}

test("network failures reaching the database are 'unavailable'", () => {
  expect(isDatabaseUnavailable(errorWith({ code: "ECONNREFUSED" }))).toBe(true);
  expect(isDatabaseUnavailable(errorWith({ code: "ETIMEDOUT" }))).toBe(true);
  expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
  expect(isDatabaseUnavailable(new Error("timeout exceeded when trying to connect"))).toBe(true);
});

test("server states that mean 'try again later' are 'unavailable'", () => {
  expect(isDatabaseUnavailable(errorWith({ code: "57P01" }))).toBe(true); // admin shutdown
  expect(isDatabaseUnavailable(errorWith({ code: "57P03" }))).toBe(true); // cannot connect now
  expect(isDatabaseUnavailable(errorWith({ code: "08006" }))).toBe(true); // connection failure
  expect(isDatabaseUnavailable(errorWith({ code: "53300" }))).toBe(true); // too many connections
  expect(isDatabaseUnavailable(errorWith({ code: "P1001" }))).toBe(true); // Prisma: can't reach server
  // Found by make bench: a saturated pool made create-task answer 500 instead of 503.
  expect(isDatabaseUnavailable(errorWith({ code: "P2028" }))).toBe(true); // transaction could not start in time
  expect(isDatabaseUnavailable(errorWith({ originalCode: "08001" }))).toBe(true);
});

test("the cause chain is followed, and a cycle does not hang", () => {
  const inner = errorWith({ code: "ECONNRESET" });
  expect(
    isDatabaseUnavailable(new Error("query failed", { cause: new Error("adapter", { cause: inner }) })),
  ).toBe(true);
  const a = new Error("a") as Error & { cause?: unknown };
  const b = new Error("b", { cause: a });
  a.cause = b;
  expect(isDatabaseUnavailable(a)).toBe(false);
});

test("a raw query's failure is 'unavailable' when its adapter error says the connection is gone", () => {
  // What $queryRaw threw while PostgreSQL stopped (postgres-restart.e2e): P2010 with the adapter's
  // error in meta, its kind in that error's cause.
  const adapter = Object.assign(new Error("DriverAdapterError"), { cause: { kind: "ConnectionClosed" } });
  const raw = errorWith({ code: "P2010", meta: { driverAdapterError: adapter } }, "Raw query failed.");
  expect(isDatabaseUnavailable(raw)).toBe(true);
  const constraint = Object.assign(new Error("DriverAdapterError"), {
    cause: { kind: "UniqueConstraintViolation" },
  });
  expect(isDatabaseUnavailable(errorWith({ code: "P2010", meta: { driverAdapterError: constraint } }))).toBe(
    false,
  );
});

test("query errors and bugs are not 'unavailable'", () => {
  expect(isDatabaseUnavailable(errorWith({ code: "23505" }))).toBe(false); // unique violation
  expect(isDatabaseUnavailable(errorWith({ code: "P0001" }, "outbox fault injected"))).toBe(false);
  expect(isDatabaseUnavailable(errorWith({ code: "57014" }))).toBe(false); // statement timeout
  expect(isDatabaseUnavailable(new TypeError("cannot read properties of undefined"))).toBe(false);
  expect(isDatabaseUnavailable(undefined)).toBe(false);
  expect(isDatabaseUnavailable("ECONNREFUSED")).toBe(false);
});

test("unique violations are recognised from Prisma and from PostgreSQL, optionally by constraint", () => {
  expect(isUniqueViolation(errorWith({ code: "P2002", meta: { target: ["email"] } }))).toBe(true);
  const pg = errorWith({ code: "23505" }, 'duplicate key value violates unique constraint "users_email_key"');
  expect(isUniqueViolation(pg, "users_email_key")).toBe(true);
  expect(isUniqueViolation(pg, "tasks_pkey")).toBe(false);
  expect(isUniqueViolation(new Error("wrapped", { cause: pg }))).toBe(true);
  expect(isUniqueViolation(errorWith({ code: "23503" }, "foreign key violation"))).toBe(false);
});
