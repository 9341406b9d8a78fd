// Fixed-window counters in the shared rate_limits table, so every web instance sees the same count.
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

/** Counts one hit: a new window starts when the current one has ended. Returns the count. */
export async function recordRateLimitHit(
  db: Db,
  key: string,
  rule: RateLimitRule,
  now: Date,
): Promise<number> {
  const windowFloor = new Date(now.getTime() - rule.windowMs);
  const rows = await db.$queryRaw<{ count: number }[]>`
    INSERT INTO rate_limits (key, window_start, count) VALUES (${key}, ${now}, 1)
    ON CONFLICT (key) DO UPDATE SET
      window_start = CASE WHEN rate_limits.window_start <= ${windowFloor} THEN ${now} ELSE rate_limits.window_start END,
      count = CASE WHEN rate_limits.window_start <= ${windowFloor} THEN 1 ELSE rate_limits.count + 1 END
    RETURNING count`;
  return rows[0]!.count;
}

export async function clearRateLimit(db: Db, key: string): Promise<void> {
  await db.rateLimit.deleteMany({ where: { key } });
}
