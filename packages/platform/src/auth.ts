// Who is calling: `Authorization: Bearer <API token>` (hashed lookup, revocation and expiry
// checked, last use recorded at most once a minute per token).
import type { Actor } from "#core/actor.ts";
import type { Db } from "#db/client.ts";
import { problems } from "./problems.ts";
import { hashSecret } from "./tokens.ts";

export type Scope = "read" | "read_write";

export interface Principal {
  userId: string;
  timeZone: string;
  defaultReminderMinutes: number[];
  scope: Scope;
  actor: Actor;
  /** Key for per-caller rate limiting. */
  rateKey: string;
}

const LAST_USED_RESOLUTION_MS = 60_000;

/** Returns the principal, null when no credentials were sent; throws 401 for bad credentials. */
export async function authenticate(
  db: Db,
  authorization: string | undefined,
  now: Date,
): Promise<Principal | null> {
  if (!authorization) return null;
  const session = /^Session\s+(\S+)\s*$/i.exec(authorization);
  if (session?.[1]) return authenticateSession(db, session[1], now);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw problems.unauthorized("The Authorization header must be `Bearer <API token>`.");
  const token = await db.apiToken.findUnique({
    where: { tokenHash: hashSecret(match[1]) },
    include: { user: { select: { id: true, timeZone: true, defaultReminderMinutes: true } } },
  });
  if (!token || token.revokedAt || (token.expiresAt && token.expiresAt <= now)) {
    throw problems.unauthorized("The API token is unknown, revoked or expired.");
  }
  if (!token.lastUsedAt || now.getTime() - token.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    // Best effort and off the request's critical path: a failed bookkeeping write must not fail the call.
    db.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: now } }).catch(() => {});
  }
  return {
    userId: token.user.id,
    timeZone: token.user.timeZone,
    defaultReminderMinutes: token.user.defaultReminderMinutes,
    scope: token.scope,
    actor: { type: "api_token", id: token.id },
    rateKey: `token:${token.id}`,
  };
}

/**
 * The web app calls the command functions on a signed-in user's behalf (through its Dapr
 * sidecar) with `Authorization: Session <session secret>`: the same secret its cookie carries,
 * looked up by hash like an API token. The actor is the user.
 */
async function authenticateSession(db: Db, secret: string, now: Date): Promise<Principal> {
  const session = await db.session.findUnique({
    where: { tokenHash: hashSecret(secret) },
    include: { user: { select: { id: true, timeZone: true, defaultReminderMinutes: true } } },
  });
  if (!session || session.expiresAt <= now)
    throw problems.unauthorized("The session is unknown or expired; sign in again.");
  return {
    userId: session.user.id,
    timeZone: session.user.timeZone,
    defaultReminderMinutes: session.user.defaultReminderMinutes,
    scope: "read_write",
    actor: { type: "user", id: session.user.id },
    rateKey: `session:${session.id}`,
  };
}

/**
 * `X-Orbit-Actor: agent`: the MCP function sends it when it calls the command functions for an AI
 * agent, and the assistant when it calls MCP, so the audit log shows "agent" instead of "api_token"
 * or "user". The id stays the credential's: the token's id for an API token, the user's id for a
 * session (the web app's chat, whose assistant acts with the signed-in user's session). Other actors
 * (a reminder's action, the system) are never relabelled. Any credential holder could label their
 * own calls this way: harmless, as it only changes how their own data's history reads.
 */
export const ACTOR_HEADER = "x-orbit-actor";
export const AGENT_ACTOR = "agent";

export function withActorHint(principal: Principal, hint: string | string[] | undefined): Principal {
  if (hint === undefined) return principal;
  if (hint !== AGENT_ACTOR)
    throw problems.validation(
      [{ pointer: "/headers/x-orbit-actor", field: "X-Orbit-Actor", detail: `must be "${AGENT_ACTOR}"` }],
      "The X-Orbit-Actor header names who acts for the token holder; the only value is agent.",
    );
  if (principal.actor.type !== "api_token" && principal.actor.type !== "user") return principal;
  return { ...principal, actor: { type: "agent", id: principal.actor.id } };
}
