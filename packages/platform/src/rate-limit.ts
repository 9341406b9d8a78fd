// Rate limits counted in the shared rate_limits table, so every instance (each function's pods, the
// web pods) sees the same count and a cold start resets nothing: fixed windows, one row per key
// (key, window start, count). Each call is one statement, so parallel requests cannot all pass a
// check made before any of them was counted. Keys are namespaced by their user ("sign-in:…",
// "api:<function>:…"). When the database is down these throw like any query (the host answers 503).
import type { Db } from "#db/client.ts";
import { Prisma } from "#db/generated/client.ts";

export interface RateLimitRule {
  max: number;
  windowMs: number;
}

export type RateLimitStatus = { limited: false } | { limited: true; retryAfterSeconds: number };

/** Seconds from `now` until `endsAt`, at least 1 (the smallest Retry-After worth sending). */
function secondsUntil(endsAt: number, now: Date): number {
  return Math.max(1, Math.ceil((endsAt - now.getTime()) / 1000));
}

/** Whether the key is over its limit now, without counting anything. */
export async function rateLimitStatus(
  db: Db,
  key: string,
  rule: RateLimitRule,
  now: Date,
): Promise<RateLimitStatus> {
  const row = await db.rateLimit.findUnique({ where: { key } });
  if (!row) return { limited: false };
  const endsAt = row.windowStart.getTime() + rule.windowMs;
  if (endsAt <= now.getTime() || row.count < rule.max) return { limited: false };
  return { limited: true, retryAfterSeconds: secondsUntil(endsAt, now) };
}

async function hit(db: Db, key: string, rule: RateLimitRule, now: Date) {
  const windowFloor = new Date(now.getTime() - rule.windowMs);
  const rows = await db.$queryRaw<{ count: number; window_start: Date }[]>`
    INSERT INTO rate_limits (key, window_start, count) VALUES (${key}, ${now}, 1)
    ON CONFLICT (key) DO UPDATE SET
      window_start = CASE WHEN rate_limits.window_start <= ${windowFloor} THEN ${now} ELSE rate_limits.window_start END,
      count = CASE WHEN rate_limits.window_start <= ${windowFloor} THEN 1 ELSE rate_limits.count + 1 END
    RETURNING count, window_start`;
  return rows[0]!;
}

/** Counts one hit: a new window starts when the current one has ended. Returns the count. */
export async function recordRateLimitHit(
  db: Db,
  key: string,
  rule: RateLimitRule,
  now: Date,
): Promise<number> {
  return (await hit(db, key, rule, now)).count;
}

/**
 * Counts one hit and says whether it is over the limit. A refused hit counts too: a caller over its
 * limit stays over it until the window ends.
 */
export async function takeRateLimit(
  db: Db,
  key: string,
  rule: RateLimitRule,
  now: Date,
): Promise<RateLimitStatus> {
  const { count, window_start } = await hit(db, key, rule, now);
  if (count <= rule.max) return { limited: false };
  return { limited: true, retryAfterSeconds: secondsUntil(window_start.getTime() + rule.windowMs, now) };
}

/**
 * The conflict clause of an all-or-none take (`INSERT INTO rate_limits … (key, now, cost)`): a new
 * window when the row's has ended (before `windowFloor`), else the units added while they fit under
 * `max`; when they do not, no row is returned. Shared by takeRateLimitUnits and the caller gate.
 */
export function takeUnitsOnConflict(windowFloor: Date, max: number): Prisma.Sql {
  return Prisma.sql`ON CONFLICT (key) DO UPDATE SET
    window_start = CASE WHEN rate_limits.window_start <= ${windowFloor}::timestamptz
      THEN EXCLUDED.window_start ELSE rate_limits.window_start END,
    count = CASE WHEN rate_limits.window_start <= ${windowFloor}::timestamptz
      THEN EXCLUDED.count ELSE rate_limits.count + EXCLUDED.count END
    WHERE rate_limits.window_start <= ${windowFloor}::timestamptz
      OR rate_limits.count + EXCLUDED.count <= ${max}::integer`;
}

/**
 * Takes `cost` units of the key's window, all or none, in one statement: a refused request takes
 * nothing (so a batch too large to fit does not use up the window) and is told when the window
 * ends. The upsert only counts when the units fit; when they do not, the same statement reads the
 * window's start. That read sees the statement's snapshot: if a concurrent first request created the
 * row meanwhile, it sees none, and the answer is a whole window (as it is for a request that could
 * never fit in a fresh one).
 */
export async function takeRateLimitUnits(
  db: Db,
  key: string,
  rule: RateLimitRule,
  cost: number,
  now: Date,
): Promise<RateLimitStatus> {
  const windowFloor = new Date(now.getTime() - rule.windowMs);
  const [row] = await db.$queryRaw<{ taken: boolean; window_start: Date }[]>`
    WITH taken AS (
      INSERT INTO rate_limits (key, window_start, count)
      SELECT ${key}, ${now}::timestamptz, ${cost}::integer WHERE ${cost}::integer <= ${rule.max}::integer
      ${takeUnitsOnConflict(windowFloor, rule.max)}
      RETURNING window_start
    )
    SELECT true AS taken, window_start FROM taken
    UNION ALL
    SELECT false AS taken, window_start FROM rate_limits
    WHERE key = ${key} AND NOT EXISTS (SELECT 1 FROM taken)`;
  if (row?.taken) return { limited: false };
  // No window, or one that has ended: a fresh one would start now.
  const started = row && row.window_start > windowFloor ? row.window_start.getTime() : now.getTime();
  return { limited: true, retryAfterSeconds: secondsUntil(started + rule.windowMs, now) };
}

/** Gives back one hit taken by takeRateLimit (an attempt that turned out not to count). */
export async function refundRateLimitHit(db: Db, key: string): Promise<void> {
  await db.$executeRaw`UPDATE rate_limits SET count = GREATEST(count - 1, 0) WHERE key = ${key}`;
}

/** Forgets the key's count (and, for a lockout, its streak). */
export async function clearRateLimit(db: Db, key: string): Promise<void> {
  await db.rateLimit.deleteMany({ where: { key } });
}
