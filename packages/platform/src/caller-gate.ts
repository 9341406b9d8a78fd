// Who is calling and whether their rate limit admits the request, in one statement per token: the
// API token's lookup (revocation and expiry checked by the same statement, so a revoked token is
// refused by the very next request) and the take from the per-caller window in the shared
// rate_limits table (rate-limit.ts). Concurrent requests with the same token are coalesced: while
// one statement for a token is in flight, the requests that arrive meanwhile wait for it and are
// then admitted together by the next one, which takes the sum of their units all or none. Each
// request is still checked by a statement that started after it arrived, and the count stays in
// the database, shared by every instance. A batch that does not fit whole falls back to one
// statement per request, in arrival order, so each gets the answer it would have had alone.
// Sessions (`Authorization: Session …`) keep their own lookup (auth.ts) and take one by one.
import type { Db } from "#db/client.ts";
import { authenticate, type Principal, type Scope } from "./auth.ts";
import { problems } from "./problems.ts";
import {
  takeRateLimitUnits,
  takeUnitsOnConflict,
  type RateLimitRule,
  type RateLimitStatus,
} from "./rate-limit.ts";
import { hashSecret } from "./tokens.ts";

const LAST_USED_RESOLUTION_MS = 60_000;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

export interface Admission {
  principal: Principal;
  /** Whether the caller's rate limit took the request's units (nothing is taken when it refused). */
  status: RateLimitStatus;
}

interface TokenRow {
  id: string;
  scope: Scope;
  revoked_at: Date | null;
  expires_at: Date | null;
  last_used_at: Date | null;
  user_id: string;
  time_zone: string;
  default_reminder_minutes: number[] | null;
  taken_start: Date | null;
  current_start: Date | null;
}

interface Waiter {
  cost: number;
  resolve(value: Admission): void;
  reject(error: unknown): void;
}

interface Lane {
  running: boolean;
  waiting: Waiter[];
}

/** Seconds from `now` until `endsAt`, at least 1 (as rate-limit.ts answers). */
function secondsUntil(endsAt: number, now: Date): number {
  return Math.max(1, Math.ceil((endsAt - now.getTime()) / 1000));
}

export class CallerGate {
  private readonly lanes = new Map<string, Lane>();
  /** Token ids whose last use was recorded recently by this process (one write a minute each). */
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(
    private readonly db: Db,
    /** Rate-limit keys are `<keyPrefix><caller's rateKey>`, e.g. `api:create-task:`. */
    private readonly keyPrefix: string,
    private readonly rule: RateLimitRule,
    private readonly now: () => Date,
  ) {}

  /**
   * Authenticates the caller (null when no credentials were sent; throws 401 for bad ones, 403 for a
   * read-only token on a write) and takes `cost` units of its rate limit.
   */
  async admit(authorization: string | undefined, write: boolean, cost: number): Promise<Admission | null> {
    if (!authorization) return null;
    const bearer = BEARER.exec(authorization)?.[1];
    if (!bearer) {
      // Sessions and malformed headers: auth.ts answers (and throws its 401s).
      const principal = await authenticate(this.db, authorization, this.now());
      if (!principal) return null;
      if (write && principal.scope !== "read_write") throw readOnly();
      const status = await takeRateLimitUnits(
        this.db,
        `${this.keyPrefix}${principal.rateKey}`,
        this.rule,
        cost,
        this.now(),
      );
      return { principal, status };
    }
    const laneKey = `${write ? "w" : "r"}:${hashSecret(bearer)}`;
    let lane = this.lanes.get(laneKey);
    if (!lane) {
      lane = { running: false, waiting: [] };
      this.lanes.set(laneKey, lane);
    }
    const admitted = new Promise<Admission>((resolve, reject) =>
      lane.waiting.push({ cost, resolve, reject }),
    );
    if (!lane.running) void this.drain(laneKey, lane);
    return admitted;
  }

  private async drain(laneKey: string, lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.waiting.length > 0) {
        const batch = lane.waiting.splice(0);
        const [write, tokenHash] = [laneKey.startsWith("w:"), laneKey.slice(2)];
        try {
          await this.admitBatch(tokenHash, write, batch);
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      lane.running = false;
      this.lanes.delete(laneKey);
    }
  }

  private async admitBatch(tokenHash: string, write: boolean, batch: Waiter[]): Promise<void> {
    const total = batch.reduce((sum, w) => sum + w.cost, 0);
    const first = await this.take(tokenHash, write, total);
    if (first.status.limited && batch.length > 1) {
      // Not all of them fit: each alone, in order (some may, e.g. the cheaper ones).
      for (const waiter of batch) {
        try {
          waiter.resolve(await this.take(tokenHash, write, waiter.cost));
        } catch (error) {
          waiter.reject(error);
        }
      }
      return;
    }
    for (const waiter of batch) waiter.resolve(first);
  }

  /** One statement: the token and its user, and (when the token may make the request) the take. */
  private async take(tokenHash: string, write: boolean, cost: number): Promise<Admission> {
    const now = this.now();
    const windowFloor = new Date(now.getTime() - this.rule.windowMs);
    const prefix = `${this.keyPrefix}token:`;
    const rows = await this.db.$queryRaw<TokenRow[]>`
      WITH token AS (
        SELECT t.id, t.scope, t.revoked_at, t.expires_at, t.last_used_at,
          u.id AS user_id, u.time_zone, u.default_reminder_minutes
        FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = ${tokenHash}
      ),
      taken AS (
        INSERT INTO rate_limits (key, window_start, count)
        SELECT ${prefix} || token.id::text, ${now}::timestamptz, ${cost}::integer FROM token
        WHERE token.revoked_at IS NULL
          AND (token.expires_at IS NULL OR token.expires_at > ${now}::timestamptz)
          AND (NOT ${write}::boolean OR token.scope = 'read_write')
          AND ${cost}::integer > 0 AND ${cost}::integer <= ${this.rule.max}::integer
        ${takeUnitsOnConflict(windowFloor, this.rule.max)}
        RETURNING window_start
      )
      SELECT token.*, (SELECT window_start FROM taken) AS taken_start,
        (SELECT window_start FROM rate_limits WHERE key = ${prefix} || token.id::text) AS current_start
      FROM token`;
    const token = rows[0];
    if (!token || token.revoked_at || (token.expires_at && token.expires_at <= now)) {
      throw problems.unauthorized("The API token is unknown, revoked or expired.");
    }
    if (write && token.scope !== "read_write") throw readOnly();
    this.recordLastUse(token, now);
    const principal: Principal = {
      userId: token.user_id,
      timeZone: token.time_zone,
      defaultReminderMinutes: token.default_reminder_minutes ?? [],
      scope: token.scope,
      actor: { type: "api_token", id: token.id },
      rateKey: `token:${token.id}`,
    };
    if (token.taken_start || cost <= 0) return { principal, status: { limited: false } };
    const started =
      token.current_start && token.current_start > windowFloor
        ? token.current_start.getTime()
        : now.getTime();
    return {
      principal,
      status: { limited: true, retryAfterSeconds: secondsUntil(started + this.rule.windowMs, now) },
    };
  }

  /** Best effort and off the request's path, at most once a minute per token and process. */
  private recordLastUse(token: TokenRow, now: Date): void {
    const last = Math.max(token.last_used_at?.getTime() ?? 0, this.lastUsedWrites.get(token.id) ?? 0);
    if (now.getTime() - last <= LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWrites.set(token.id, now.getTime());
    if (this.lastUsedWrites.size > 10_000) this.lastUsedWrites.clear();
    this.db.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: now } }).catch(() => {});
  }
}

function readOnly() {
  return problems.forbidden("This API token is read-only; this request changes data.");
}
