// A PostgreSQL server of a test's own (its own port and data folder, never the shared test
// server), migrated, that the test may stop and start again: for outages under load.
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { ensureDatabase, startEmbeddedServer, type RunningServer } from "#db/embedded-postgres.ts";
import { migrateDeploy, REPO_ROOT } from "#db/migrate.ts";
import { TEST_PG_PORT } from "./database.ts";

function portIsFree(candidate: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(candidate, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

export interface DedicatedPostgres {
  databaseUrl: string;
  /** Stops the server (connections are refused until start()). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  remove(): Promise<void>;
}

export async function startDedicatedPostgres(name: string): Promise<DedicatedPostgres> {
  // A fixed offset from this run's test server port (below the ephemeral range, as ports must be).
  let port = TEST_PG_PORT + 1_000;
  while (!(await portIsFree(port))) port += 1;
  // Beside the test server's folder (PostgreSQL's own user must be able to reach it), fresh each run.
  const dataDir = path.join(REPO_ROOT, `.data/${name}-postgres-${port}`);
  rmSync(dataDir, { recursive: true, force: true });
  const pgDir = path.join(dataDir, "pg");
  let server: RunningServer | null = await startEmbeddedServer({ dataDir: pgDir, port });
  const databaseUrl = await ensureDatabase(server.adminUrl, `orbit_${name.replace(/-/g, "_")}`);
  await migrateDeploy(databaseUrl);
  return {
    databaseUrl,
    stop: async () => {
      await server?.stop();
      server = null;
    },
    start: async () => {
      server = await startEmbeddedServer({ dataDir: pgDir, port });
    },
    remove: async () => {
      await server?.stop();
      server = null;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
