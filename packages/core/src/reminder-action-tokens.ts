// Signing and checking a reminder's action tokens (#core/reminder-actions.ts says what they are):
// `v1.<kid>.<payload>.<mac>`, HMAC-SHA256 under a key of the `reminder-action-key` keyring over the
// key id and the payload (the user, the task, the occurrence, the action, the channel, the expiry),
// compared in constant time. Pure: the keys and the clock come in as arguments. Server-side only.
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import {
  ACTION_CHANNELS,
  ACTION_TOKEN_TTL_MS,
  REMINDER_ACTIONS,
  type ActionChannel,
  type ActionClaims,
  type ReminderAction,
  type TokenRefusal,
} from "./reminder-actions.ts";
import { parseReminderJobName } from "./reminders.ts";

/** The keys tokens are signed with: `current` signs, every loaded key id verifies (rotation). */
export interface ActionKeyring {
  current: string;
  keys: ReadonlyMap<string, Buffer>;
}

const VERSION = "v1";
/** Domain separation: this key signs nothing else, and a v1 token is never read as another kind. */
const CONTEXT = "orbit.reminder-action";

const payloadSchema = z.strictObject({
  u: z.uuid(),
  t: z.uuid(),
  j: z.string().max(200),
  r: z.number().int().min(0).max(253_402_300_799_999),
  a: z.enum(REMINDER_ACTIONS),
  c: z.enum(ACTION_CHANNELS),
  e: z.number().int().min(0).max(253_402_300_799),
});

const mac = (key: Buffer, signed: string) =>
  createHmac("sha256", key).update(`${CONTEXT}.${signed}`).digest();

/**
 * A token for `claims`, signed with the keyring's current key: `v1.<kid>.<payload>.<mac>`, all
 * base64url (about 330 characters). The expiry is in whole seconds.
 */
export function signActionToken(claims: ActionClaims, keyring: ActionKeyring): string {
  const key = keyring.keys.get(keyring.current);
  if (!key) throw new Error(`the reminder action keyring lacks its current key "${keyring.current}"`);
  const payload = Buffer.from(
    JSON.stringify({
      u: claims.userId,
      t: claims.taskId,
      j: claims.jobName,
      r: claims.remindAt.getTime(),
      a: claims.action,
      c: claims.channel,
      e: Math.floor(claims.expiresAt.getTime() / 1000),
    }),
  ).toString("base64url");
  const signed = `${VERSION}.${keyring.current}.${payload}`;
  return `${signed}.${mac(key, signed).toString("base64url")}`;
}

/** The tokens of every action of one occurrence, for one channel, issued `now`. */
export function actionTokens(
  occurrence: { userId: string; taskId: string; jobName: string; remindAt: Date },
  channel: ActionChannel,
  keyring: ActionKeyring,
  now: Date,
): Record<ReminderAction, string> {
  const expiresAt = new Date(now.getTime() + ACTION_TOKEN_TTL_MS);
  const sign = (action: ReminderAction) =>
    signActionToken({ ...occurrence, action, channel, expiresAt }, keyring);
  return { complete: sign("complete"), snooze_10m: sign("snooze_10m"), snooze_1h: sign("snooze_1h") };
}

export type TokenVerdict = { ok: true; claims: ActionClaims } | { ok: false; reason: TokenRefusal };

/**
 * What `token` allows at `now`, if anything. The MAC is checked (in constant time) before anything
 * it covers is believed, so a forged or altered token is only ever "invalid" (never "expired": that
 * would confirm its fields); a token for another action than the one asked for (`expected`, the
 * button the user pressed) is refused too, so a link labelled "Snooze" never completes a task.
 */
export function verifyActionToken(
  token: string,
  keyring: Pick<ActionKeyring, "keys">,
  now: Date,
  expected?: ReminderAction,
): TokenVerdict {
  const invalid = { ok: false, reason: "invalid" } as const;
  if (token.length > 1024) return invalid;
  const parts = token.split(".");
  if (parts.length !== 4) return invalid;
  const [version, kid, payload, signature] = parts as [string, string, string, string];
  if (version !== VERSION || !/^[A-Za-z0-9_-]+$/.test(payload + signature + kid)) return invalid;
  const key = keyring.keys.get(kid);
  if (!key) return invalid;
  const given = Buffer.from(signature, "base64url");
  const wanted = mac(key, `${version}.${kid}.${payload}`);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return invalid;

  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return invalid;
  }
  const parsed = payloadSchema.safeParse(fields);
  if (!parsed.success) return invalid;
  const p = parsed.data;
  // The occurrence must be one of this task's reminder jobs.
  if (parseReminderJobName(p.j)?.taskId !== p.t) return invalid;
  const claims: ActionClaims = {
    userId: p.u,
    taskId: p.t,
    jobName: p.j,
    remindAt: new Date(p.r),
    action: p.a,
    channel: p.c,
    expiresAt: new Date(p.e * 1000),
  };
  if (claims.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: "expired" };
  if (expected !== undefined && expected !== claims.action) return { ok: false, reason: "wrong_action" };
  return { ok: true, claims };
}
