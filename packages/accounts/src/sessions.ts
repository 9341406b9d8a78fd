// Browser sessions: a random secret in an HttpOnly cookie, stored only as its SHA-256, with a
// 30-day sliding expiry (renewed at most once an hour, so reads do not write on every request).
// Each session has its own CSRF secret; forms carry an HMAC of it (csrf.ts).
import { randomBytes } from "node:crypto";
import { pastReminderPolicyOf, type PastReminderPolicy } from "#core/reminders.ts";
import type { Db } from "#db/client.ts";
import { hashSecret, newSessionSecret } from "#platform/tokens.ts";

export const SESSION_TTL_MS = 30 * 24 * 60 * 60_000;
const RENEW_AFTER_MS = 60 * 60_000;

export interface SessionUser {
  sessionId: string;
  userId: string;
  email: string;
  timeZone: string;
  /** Reminder offsets a task that gets a due date without its own is given (minutes before). */
  defaultReminderMinutes: number[];
  /** Reminders already past when a task is saved: sent now or skipped. */
  pastReminderPolicy: PastReminderPolicy;
  csrfSecret: string;
  expiresAt: Date;
  /** True when this lookup extended the expiry: the cookie should be sent again. */
  renewed: boolean;
}

export async function createSession(
  db: Db,
  userId: string,
  userAgent: string | null,
  now: Date,
): Promise<{ secret: string; expiresAt: Date }> {
  const { secret, hash } = newSessionSecret();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.session.create({
    data: {
      userId,
      tokenHash: hash,
      csrfSecret: randomBytes(32).toString("base64url"),
      userAgent: userAgent?.slice(0, 300) ?? null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
    },
  });
  return { secret, expiresAt };
}

/** The signed-in user of a session secret, or null when unknown or expired. */
export async function sessionUser(db: Db, secret: string, now: Date): Promise<SessionUser | null> {
  const session = await db.session.findUnique({
    where: { tokenHash: hashSecret(secret) },
    include: {
      user: {
        select: {
          id: true,
          email: true,
          timeZone: true,
          defaultReminderMinutes: true,
          pastReminderPolicy: true,
        },
      },
    },
  });
  if (!session || session.expiresAt <= now) return null;
  let expiresAt = session.expiresAt;
  let renewed = false;
  if (now.getTime() - session.lastSeenAt.getTime() > RENEW_AFTER_MS) {
    expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await db.session.update({ where: { id: session.id }, data: { lastSeenAt: now, expiresAt } });
    renewed = true;
  }
  return {
    sessionId: session.id,
    userId: session.user.id,
    email: session.user.email,
    timeZone: session.user.timeZone,
    defaultReminderMinutes: session.user.defaultReminderMinutes,
    pastReminderPolicy: pastReminderPolicyOf(session.user.pastReminderPolicy),
    csrfSecret: session.csrfSecret,
    expiresAt,
    renewed,
  };
}

export async function destroySession(db: Db, secret: string): Promise<void> {
  await db.session.deleteMany({ where: { tokenHash: hashSecret(secret) } });
}
