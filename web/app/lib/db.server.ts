// One Prisma client and one live-update hub per web process.
import { createDb, type Db } from "#db/client.ts";
import { LiveHub, pruneLiveUpdates } from "#tasks/live-updates.ts";
import { env } from "./env.server.ts";

let db: Db | null = null;
let hub: LiveHub | null = null;

export function getDb(): Db {
  if (!db) {
    db = createDb({ url: env().DATABASE_URL, poolSize: env().DB_POOL_SIZE });
    // Keep live_updates to a day; every instance may prune, the DELETE is idempotent.
    const prune = () => pruneLiveUpdates(getDb(), new Date()).catch(() => {});
    setInterval(prune, 60 * 60_000).unref();
    void prune();
  }
  return db;
}

export function getLiveHub(): LiveHub {
  hub ??= new LiveHub(env().DATABASE_URL);
  return hub;
}
