// The sidecar registry (dapr_local.sidecars) and how sidecars know who is alive. Each sidecar holds
// an advisory lock (LOCK_NAMESPACE, its instance id) on a connection of its own, which also LISTENs
// for wake-ups: a sidecar whose lock is gone is dead, whatever its row says. A periodic sweep
// releases what dead sidecars held (their claimed deliveries and jobs go back to the live ones),
// deletes their rows, heartbeats ours, deletes old delivered messages, and catches the wake-ups a
// lost notification missed.
import pg from "pg";
import type { Logger } from "#platform/logger.ts";
import { DELIVERY_CHANNEL } from "./broker.ts";
import { JOBS_CHANNEL } from "./jobs.ts";
import { LOCK_NAMESPACE } from "./schema.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The listen connection: notifications for this app-id, and the advisory lock that proves we are alive. */
export class NotificationListener {
  private client: pg.Client | null = null;

  constructor(
    private readonly options: {
      storageUrl: string;
      appId: string;
      instanceId: number;
      log: Logger;
      isStopping(): boolean;
      /** A delivery (DELIVERY_CHANNEL) or a job (JOBS_CHANNEL) for this app-id is waiting. */
      onDelivery(): void;
      onJob(): void;
      /** Connected again after a loss: anything may have been missed meanwhile. */
      onReconnected(): void;
    },
  ) {}

  async connect(): Promise<void> {
    const { storageUrl, appId, instanceId, log } = this.options;
    const client = new pg.Client({
      connectionString: storageUrl,
      application_name: `local-dapr:${appId}:listen`.slice(0, 63),
    });
    client.on("notification", (message) => {
      if (message.payload !== appId) return;
      if (message.channel === DELIVERY_CHANNEL) this.options.onDelivery();
      else if (message.channel === JOBS_CHANNEL) this.options.onJob();
    });
    const lost = (error?: Error) => {
      if (this.options.isStopping() || this.client !== client) return;
      log.warn("lost the notification connection; reconnecting", { err: error });
      void this.reconnect();
    };
    client.on("error", lost);
    client.on("end", () => lost());
    await client.connect();
    await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_NAMESPACE, instanceId]);
    await client.query(`LISTEN ${DELIVERY_CHANNEL}; LISTEN ${JOBS_CHANNEL}`);
    this.client = client;
  }

  // While this connection is down our advisory lock is gone, so other sidecars may release our
  // claims: those messages can be delivered twice, which at-least-once allows.
  private async reconnect(): Promise<void> {
    const old = this.client;
    this.client = null;
    await old?.end().catch(() => {});
    while (!this.options.isStopping()) {
      try {
        await this.connect();
        this.options.onReconnected();
        return;
      } catch (error) {
        this.options.log.warn("could not reconnect the notification connection; retrying in 1 s", {
          err: error,
        });
        await sleep(1_000);
      }
    }
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {});
  }
}

/** Release what dead sidecars held, heartbeat, delete old messages, catch missed wake-ups. */
export class Sweeper {
  private lastRetention = 0;
  private sweeping = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: {
      pool: pg.Pool;
      instanceId: number;
      /** Messages older than this with nothing left to deliver are deleted (at most once a minute). */
      retentionMs: number;
      log: Logger;
      /** Called after every sweep: look for work a lost notification did not announce. */
      wake(): void;
    },
  ) {}

  async sweep(): Promise<void> {
    const { pool, instanceId, retentionMs, wake } = this.options;
    await pool.query(
      `WITH live AS (
         SELECT objid::bigint AS id FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND classid = $1 AND objsubid = 2
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       ),
       d AS (UPDATE dapr_local.deliveries SET locked_by = NULL
             WHERE locked_by IS NOT NULL AND locked_by NOT IN (SELECT id FROM live) RETURNING app_id),
       j AS (UPDATE dapr_local.jobs SET locked_by = NULL
             WHERE locked_by IS NOT NULL AND locked_by NOT IN (SELECT id FROM live) RETURNING app_id),
       gone AS (DELETE FROM dapr_local.sidecars WHERE instance_id NOT IN (SELECT id FROM live)),
       beat AS (UPDATE dapr_local.sidecars SET heartbeat_at = now() WHERE instance_id = $2)
       SELECT pg_notify('${DELIVERY_CHANNEL}', app_id) FROM (SELECT DISTINCT app_id FROM d) a
       UNION ALL
       SELECT pg_notify('${JOBS_CHANNEL}', app_id) FROM (SELECT DISTINCT app_id FROM j) b`,
      [LOCK_NAMESPACE, instanceId],
    );
    if (Date.now() - this.lastRetention < 60_000) return wake();
    this.lastRetention = Date.now();
    await pool.query(
      `DELETE FROM dapr_local.messages WHERE id IN (
         SELECT m.id FROM dapr_local.messages m
         WHERE m.published_at < now() - $1 * interval '1 millisecond'
           AND NOT EXISTS (SELECT 1 FROM dapr_local.deliveries d WHERE d.message_id = m.id)
         LIMIT 10000)`,
      [retentionMs],
    );
    wake();
  }

  /** Sweeps every `intervalMs`, skipping a tick while the previous sweep runs or once stopping. */
  start(intervalMs: number, isStopping: () => boolean): void {
    this.timer = setInterval(() => {
      if (this.sweeping || isStopping()) return;
      this.sweeping = true;
      this.sweep()
        .catch((error) => this.options.log.warn("sweep failed", { err: error }))
        .finally(() => {
          this.sweeping = false;
        });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** Announces a started sidecar: what invocations of its app-id need to reach its app. */
export async function registerSidecar(
  pool: pg.Pool,
  sidecar: {
    instanceId: number;
    appId: string;
    appHost: string | null;
    appPort: number | null;
    httpPort: number;
    /** Callers' sidecars send it to our app on invocations, as daprd's app channel does. */
    appApiToken: string | null;
  },
): Promise<void> {
  await pool.query(
    `INSERT INTO dapr_local.sidecars (instance_id, app_id, app_host, app_port, http_port, pid, app_api_token)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      sidecar.instanceId,
      sidecar.appId,
      sidecar.appHost,
      sidecar.appPort,
      sidecar.httpPort,
      process.pid,
      sidecar.appApiToken,
    ],
  );
}

/** The app channel is up: invocations may now be routed to this sidecar's app. */
export async function markAppReady(pool: pg.Pool, instanceId: number): Promise<void> {
  await pool.query("UPDATE dapr_local.sidecars SET app_ready = true WHERE instance_id = $1", [instanceId]);
}

export async function deregisterSidecar(pool: pg.Pool, instanceId: number): Promise<void> {
  await pool.query("DELETE FROM dapr_local.sidecars WHERE instance_id = $1", [instanceId]);
}
