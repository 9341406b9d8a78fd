import { randomUUID } from "node:crypto";
import { expect, test } from "vitest";
import { workerDb } from "#testing/worker-db.ts";
import { rateLimitStatus, takeRateLimit, takeRateLimitUnits } from "./rate-limit.ts";

const T0 = new Date("2026-11-23T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const MINUTE = { max: 5, windowMs: 60_000 };

test("units are taken all or none: what does not fit takes nothing and is told when the window ends", async () => {
  const db = await workerDb();
  const key = `test:${randomUUID()}`;
  expect(await takeRateLimitUnits(db, key, MINUTE, 3, at(0))).toEqual({ limited: false });
  // 3 + 3 > 5: refused whole, so the 2 left are still there.
  expect(await takeRateLimitUnits(db, key, MINUTE, 3, at(10))).toEqual({
    limited: true,
    retryAfterSeconds: 50,
  });
  expect(await takeRateLimitUnits(db, key, MINUTE, 2, at(20))).toEqual({ limited: false });
  expect(await takeRateLimitUnits(db, key, MINUTE, 1, at(59.5))).toEqual({
    limited: true,
    retryAfterSeconds: 1,
  });
  // The window ended: a new one starts with this request.
  expect(await takeRateLimitUnits(db, key, MINUTE, 5, at(60))).toEqual({ limited: false });
  expect(await takeRateLimitUnits(db, key, MINUTE, 1, at(61))).toEqual({
    limited: true,
    retryAfterSeconds: 59,
  });
});

test("a request larger than the whole limit never fits, not even in a fresh window, and takes nothing", async () => {
  const db = await workerDb();
  const key = `test:${randomUUID()}`;
  expect(await takeRateLimitUnits(db, key, MINUTE, 6, at(0))).toEqual({
    limited: true,
    retryAfterSeconds: 60,
  });
  expect(await db.rateLimit.findUnique({ where: { key } })).toBeNull();
  expect(await takeRateLimitUnits(db, key, MINUTE, 1, at(1))).toEqual({ limited: false });
  expect(await takeRateLimitUnits(db, key, MINUTE, 30, at(31))).toEqual({
    limited: true,
    retryAfterSeconds: 30,
  });
  expect((await db.rateLimit.findUnique({ where: { key } }))?.count).toBe(1);
});

test("parallel takes on one key never admit more than the limit", async () => {
  const db = await workerDb();
  const key = `test:${randomUUID()}`;
  const results = await Promise.all(
    Array.from({ length: 12 }, () => takeRateLimitUnits(db, key, MINUTE, 1, at(0))),
  );
  expect(results.filter((r) => !r.limited)).toHaveLength(5);
  expect((await db.rateLimit.findUnique({ where: { key } }))?.count).toBe(5);
});

test("takeRateLimit counts refused hits too, so a caller over its limit stays over it", async () => {
  const db = await workerDb();
  const key = `test:${randomUUID()}`;
  const rule = { max: 2, windowMs: 60_000 };
  expect(await takeRateLimit(db, key, rule, at(0))).toEqual({ limited: false });
  expect(await takeRateLimit(db, key, rule, at(1))).toEqual({ limited: false });
  expect(await takeRateLimit(db, key, rule, at(2))).toEqual({ limited: true, retryAfterSeconds: 58 });
  expect((await db.rateLimit.findUnique({ where: { key } }))?.count).toBe(3);
  expect(await rateLimitStatus(db, key, rule, at(30))).toEqual({ limited: true, retryAfterSeconds: 30 });
  expect(await rateLimitStatus(db, key, rule, at(60))).toEqual({ limited: false });
});
