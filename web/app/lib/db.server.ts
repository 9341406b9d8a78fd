// One Prisma client and one live-update hub per web process.
import { createDb, type Db } from "#db/client.ts";
import { createLogger } from "#platform/logger.ts";
import { pruneExpired } from "#platform/retention.ts";
import { LiveHub, pruneLiveUpdates } from "#tasks/live-updates.ts";
import { env } from "./env.server.ts";

const HOUSEKEEPING_INTERVAL_MS = 60 * 60_000;

let db: Db | null = null;
let hub: LiveHub | null = null;

export function getDb(): Db {
  if (!db) {
    db = createDb({ url: env().DATABASE_URL, poolSize: env().DB_POOL_SIZE });
    // Hourly housekeeping: live updates kept a day, and what pruneExpired names (consumers'
    // processed events, idle rate-limit rows, expired sessions). Every instance may run it: each
    // DELETE is idempotent and batched.
    const log = createLogger("web", "info");
    const prune = async () => {
      try {
        const now = new Date();
        const pruned = {
          live_updates: await pruneLiveUpdates(getDb(), now),
          ...(await pruneExpired(getDb(), now)),
        };
        if (Object.values(pruned).some((n) => n > 0)) log.info("housekeeping pruned rows", pruned);
      } catch (error) {
        log.warn("housekeeping failed; trying again in an hour", { err: error });
      }
    };
    setInterval(() => void prune(), HOUSEKEEPING_INTERVAL_MS).unref();
    void prune();
  }
  return db;
}

export function getLiveHub(): LiveHub {
  hub ??= new LiveHub(env().DATABASE_URL);
  return hub;
}
