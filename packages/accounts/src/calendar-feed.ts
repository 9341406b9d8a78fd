// A user's calendar feed address (/calendar/<secret>.ics). Calendar apps fetch it without signing
// in, so the secret in the URL is the credential: 256 random bits, shown once when made, stored
// only as its SHA-256 (like API tokens, platform/tokens.ts). One per user: turning it on makes
// one, rotating replaces it (the old address answers 404 from that moment), turning it off
// deletes it.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "#db/client.ts";
import type { RateLimitRule } from "#platform/rate-limit.ts";
import { hashSecret } from "#platform/tokens.ts";

/** Every feed secret starts with this, so one pasted somewhere is recognisable. */
export const CALENDAR_FEED_PREFIX = "cal_";
/** The secret's form: the prefix and 32 random bytes in base64url. */
export const CALENDAR_FEED_SECRET = /^cal_[A-Za-z0-9_-]{43}$/;
/**
 * Fetches per feed and window (rate_limits key `calendar-feed:<user id>`): an app polling every
 * minute on two devices, and a person pressing Refresh, fit easily. Per feed, not per address: a
 * calendar service fetches many users' feeds from few addresses.
 */
export const CALENDAR_FEED_RATE_LIMIT: RateLimitRule = { max: 60, windowMs: 10 * 60_000 };
/** The last fetch is recorded at most this often (a bookkeeping write, not one per poll). */
const LAST_FETCH_RESOLUTION_MS = 5 * 60_000;

export interface CalendarFeedStatus {
  /** The secret's first characters, to tell which address an app has. */
  prefix: string;
  createdAt: Date;
  lastFetchedAt: Date | null;
}

/** The path of the feed with `secret` (relative to the web app's origin). */
export function calendarFeedPath(secret: string): string {
  return `/calendar/${secret}.ics`;
}

export async function calendarFeedStatus(db: Db, userId: string): Promise<CalendarFeedStatus | null> {
  const row = await db.calendarFeed.findUnique({ where: { userId } });
  return row ? { prefix: row.prefix, createdAt: row.createdAt, lastFetchedAt: row.lastFetchedAt } : null;
}

/**
 * Turns the feed on with a new secret, or replaces the secret (rotation): the old one stops
 * working with this statement. Returns the new secret, to be shown once.
 */
export async function rotateCalendarFeed(db: Db, userId: string, now: Date): Promise<string> {
  const secret = CALENDAR_FEED_PREFIX + randomBytes(32).toString("base64url");
  const data = {
    tokenHash: hashSecret(secret),
    prefix: secret.slice(0, 10),
    createdAt: now,
    lastFetchedAt: null,
  };
  await db.calendarFeed.upsert({ where: { userId }, create: { userId, ...data }, update: data });
  return secret;
}

/** Turns the feed off: its address answers 404. */
export async function disableCalendarFeed(db: Db, userId: string): Promise<void> {
  await db.calendarFeed.deleteMany({ where: { userId } });
}

/**
 * Whose feed `secret` opens, or null (malformed, unknown, rotated, turned off). Looked up by its
 * hash, as API tokens are: a lookup compares hashes of what the caller sent, which tell them
 * nothing about a secret; the stored hash is compared again in constant time all the same.
 */
export async function resolveCalendarFeed(
  db: Db,
  secret: string,
  now: Date,
): Promise<{ userId: string; timeZone: string } | null> {
  if (!CALENDAR_FEED_SECRET.test(secret)) return null;
  const hash = hashSecret(secret);
  const feed = await db.calendarFeed.findUnique({
    where: { tokenHash: hash },
    include: { user: { select: { timeZone: true } } },
  });
  if (!feed || !timingSafeEqual(Buffer.from(feed.tokenHash), Buffer.from(hash))) return null;
  if (!feed.lastFetchedAt || now.getTime() - feed.lastFetchedAt.getTime() > LAST_FETCH_RESOLUTION_MS) {
    // Best effort: a failed bookkeeping write must not fail the fetch. Only while the secret is
    // still this one (a rotation meanwhile resets it).
    db.calendarFeed
      .updateMany({ where: { userId: feed.userId, tokenHash: hash }, data: { lastFetchedAt: now } })
      .catch(() => {});
  }
  return { userId: feed.userId, timeZone: feed.user.timeZone };
}
