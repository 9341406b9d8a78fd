// The database the developer tools use: DATABASE_URL when set, else the embedded PostgreSQL in
// .data/dev-postgres (started here, or reused when `make dev` already runs it).
import path from "node:path";
import { ensureDatabase, startEmbeddedServer } from "#db/embedded-postgres.ts";
import { migrateDeploy, REPO_ROOT } from "#db/migrate.ts";

export const DEV_PG_PORT = Number(process.env.ORBIT_PG_PORT ?? 25432);
export const DEV_PG_DIR = path.join(REPO_ROOT, ".data/dev-postgres");

export interface DevDatabase {
  url: string;
  embedded: boolean;
  /** Stops the embedded server if this process owns it. */
  stop(): Promise<void>;
}

/**
 * @param own true for `make dev` (a server left by a killed run is adopted and stopped at exit);
 *            false for one-off tools (a running server is used and left running).
 */
export async function openDevDatabase(
  own: boolean,
  log: (line: string) => void = () => {},
): Promise<DevDatabase> {
  if (process.env.DATABASE_URL) {
    await migrateDeploy(process.env.DATABASE_URL, log);
    return { url: process.env.DATABASE_URL, embedded: false, stop: async () => {} };
  }
  const server = await startEmbeddedServer({ dataDir: DEV_PG_DIR, port: DEV_PG_PORT, log });
  const url = await ensureDatabase(server.adminUrl, "orbit");
  await migrateDeploy(url, log);
  const stop = own || !server.adopted ? server.stop : async () => {};
  return { url, embedded: true, stop };
}
