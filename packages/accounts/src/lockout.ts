// Sign-in failure streaks with an exponential lockout, kept in the shared rate_limits table beside
// the fixed-window counters (#platform/rate-limit.ts): one row per key (key, last attempt,
// attempts since the last success), so every web instance sees the same streak. A success clears
// it (clearRateLimit).
import type { Db } from "#db/client.ts";
import type { RateLimitStatus } from "#platform/rate-limit.ts";

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
