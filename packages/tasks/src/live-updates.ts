// Live sync for the web app across instances. A task-updates delivery (a task's update or a list's)
// reaches ONE web instance (the consumer group is the app-id), so that instance appends it to
// live_updates and announces the new row with pg_notify in the same statement; every instance
// LISTENs on one connection and wakes the browsers of that user it serves. The row id is the SSE
// event id: a browser that reconnects with Last-Event-ID is sent every row after it, so no change
// is lost on screen.
import pg from "pg";
import type { TaskUpdatesPayload } from "#core/events.ts";
import type { Db } from "#db/client.ts";

export const LIVE_CHANNEL = "orbit_live_updates";
/** Rows older than this are pruned; a browser away longer reloads its list instead. */
export const LIVE_RETENTION_MS = 24 * 60 * 60_000;

export interface LiveUpdateRow {
  id: bigint;
  /** A task's update or a list's (isTaskUpdate tells them apart). */
  payload: TaskUpdatesPayload;
}

/** Stores one delivered update (once per event id) and notifies every instance. */
export async function recordLiveUpdate(
  db: Db,
  eventId: string,
  update: TaskUpdatesPayload,
): Promise<boolean> {
  const rows = await db.$queryRaw<{ id: bigint }[]>`
    WITH inserted AS (
      INSERT INTO live_updates (event_id, user_id, payload)
      VALUES (${eventId}, ${update.user_id}::uuid, ${JSON.stringify(update)}::jsonb)
      ON CONFLICT (event_id) DO NOTHING
      RETURNING id, user_id
    )
    SELECT id, pg_notify(${LIVE_CHANNEL}, user_id::text || ':' || id::text)::text AS notified FROM inserted`;
  return rows.length === 1;
}

/** The user's updates after `afterId`, oldest first. */
export async function liveUpdatesSince(
  db: Db,
  userId: string,
  afterId: bigint,
  limit = 500,
): Promise<LiveUpdateRow[]> {
  return db.$queryRaw<LiveUpdateRow[]>`
    SELECT id, payload FROM live_updates
    WHERE user_id = ${userId}::uuid AND id > ${afterId}
    ORDER BY id ASC LIMIT ${limit}`;
}

/** The newest update id of the user (0 when none): where a freshly loaded page starts listening. */
export async function latestLiveUpdateId(db: Db, userId: string): Promise<bigint> {
  const rows = await db.$queryRaw<{ id: bigint | null }[]>`
    SELECT max(id) AS id FROM live_updates WHERE user_id = ${userId}::uuid`;
  return rows[0]?.id ?? 0n;
}

export async function pruneLiveUpdates(db: Db, now: Date): Promise<number> {
  return db.$executeRaw`DELETE FROM live_updates WHERE created_at < ${new Date(now.getTime() - LIVE_RETENTION_MS)}`;
}

type Listener = () => void;

/**
 * One LISTEN connection per process, fanned out to the streams of each user. Listeners are only
 * woken ("something new for you"); they read the rows themselves from their own last id, so a
 * notification lost while reconnecting costs nothing: every reconnect wakes everyone.
 */
export class LiveHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private client: pg.Client | null = null;
  private stopped = false;
  private connecting: Promise<void> | null = null;

  constructor(private readonly databaseUrl: string) {}

  subscribe(userId: string, listener: Listener): () => void {
    let set = this.listeners.get(userId);
    if (!set) this.listeners.set(userId, (set = new Set()));
    set.add(listener);
    void this.ensureConnected();
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(userId);
    };
  }

  /** Resolves once LISTEN is in place. */
  ensureConnected(): Promise<void> {
    if (this.client || this.stopped) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on("notification", (message) => {
      const userId = message.payload?.split(":")[0];
      if (userId) this.wake(userId);
    });
    client.on("error", () => this.reconnect(client));
    client.on("end", () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${LIVE_CHANNEL}`);
    } catch {
      await client.end().catch(() => {});
      if (!this.stopped) setTimeout(() => void this.ensureConnected(), 1_000).unref();
      return;
    }
    this.client = client;
    // Anything committed while no connection listened is picked up now.
    for (const userId of this.listeners.keys()) this.wake(userId);
  }

  private reconnect(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    if (!this.stopped) setTimeout(() => void this.ensureConnected(), 500).unref();
  }

  private wake(userId: string): void {
    for (const listener of this.listeners.get(userId) ?? []) listener();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}
