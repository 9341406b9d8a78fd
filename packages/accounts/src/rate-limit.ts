// Counters in the shared rate_limits table, so every web instance sees the same count: fixed
// windows (key, window start, hits) and failure streaks with an exponential lockout (key, last
// attempt, attempts since the last success).
import type { Db } from "#db/client.ts";

export interface RateLimitRule {
  max: number;
  windowMs: number;
}

export type RateLimitStatus = { limited: false } | { limited: true; retryAfterSeconds: number };

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
  return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil((endsAt - now.getTime()) / 1000)) };
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
 * Counts one hit and says whether it is over the limit, in one statement: parallel requests cannot
 * all pass a check made before any of them was counted.
 */
export async function takeRateLimit(
  db: Db,
  key: string,
  rule: RateLimitRule,
  now: Date,
): Promise<RateLimitStatus> {
  const { count, window_start } = await hit(db, key, rule, now);
  if (count <= rule.max) return { limited: false };
  const endsAt = window_start.getTime() + rule.windowMs;
  return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil((endsAt - now.getTime()) / 1000)) };
}

/** Gives back one hit taken by takeRateLimit (an attempt that turned out not to count). */
export async function refundRateLimitHit(db: Db, key: string): Promise<void> {
  await db.$executeRaw`UPDATE rate_limits SET count = GREATEST(count - 1, 0) WHERE key = ${key}`;
}

/**
 * A failure streak: `threshold` attempts are free; from then on each attempt locks the key for
 * `baseMs`, doubling per further attempt, at most `maxMs`, counted from the last attempt. A streak
 * with no attempt for `forgetAfterMs` starts over; a success clears it (clearRateLimit).
 */
export interface LockoutRule {
  threshold: number;
  baseMs: number;
  maxMs: number;
  forgetAfterMs: number;
}

/** How long `attempts` failed attempts in a row lock the key, from the last one. */
export function lockoutMs(rule: LockoutRule, attempts: number): number {
  if (attempts < rule.threshold) return 0;
  return Math.min(rule.maxMs, rule.baseMs * 2 ** (attempts - rule.threshold));
}

/**
 * Takes one attempt of a streak: refused (and not counted, so waiting it out is enough) while the
 * key is locked, else counted before the caller checks anything, so parallel attempts cannot slip
 * past the threshold together (the row lock orders them).
 */
export async function takeLockoutAttempt(
  db: Db,
  key: string,
  rule: LockoutRule,
  now: Date,
): Promise<RateLimitStatus> {
  const forgetFloor = new Date(now.getTime() - rule.forgetAfterMs);
  return db.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ count: number; window_start: Date }[]>`
      SELECT count, window_start FROM rate_limits WHERE key = ${key} FOR UPDATE`;
    if (row && row.window_start > forgetFloor) {
      const until = row.window_start.getTime() + lockoutMs(rule, row.count);
      if (until > now.getTime())
        return {
          limited: true as const,
          retryAfterSeconds: Math.max(1, Math.ceil((until - now.getTime()) / 1000)),
        };
    }
    await tx.$executeRaw`
      INSERT INTO rate_limits (key, window_start, count) VALUES (${key}, ${now}, 1)
      ON CONFLICT (key) DO UPDATE SET
        window_start = ${now},
        count = CASE WHEN rate_limits.window_start <= ${forgetFloor} THEN 1 ELSE rate_limits.count + 1 END`;
    return { limited: false as const };
  });
}

export async function clearRateLimit(db: Db, key: string): Promise<void> {
  await db.rateLimit.deleteMany({ where: { key } });
}
