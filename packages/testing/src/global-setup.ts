// vitest globalSetup: one PostgreSQL server and one migrated template database per test run.
import type { TestProject } from "vitest/node";
import {
  dropDatabase,
  ensureDatabase,
  startEmbeddedServer,
  type RunningServer,
} from "#db/embedded-postgres.ts";
import { migrateDeploy } from "#db/migrate.ts";
import pg from "pg";
import {
  migrationsHash,
  pidOfRunDatabase,
  runDatabaseName,
  TEST_PG_DIR,
  TEST_PG_PORT,
  withDatabase,
} from "./database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    runId: string;
  }
}

let server: RunningServer | null = null;
let ownDatabases: { adminUrl: string; pid: number } | null = null;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function setup(project: TestProject): Promise<void> {
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = withDatabase(process.env.DATABASE_URL, "postgres");
  } else {
    server = await startEmbeddedServer({ dataDir: TEST_PG_DIR, port: TEST_PG_PORT, fast: true });
    adminUrl = server.adminUrl;
  }
  const runId = String(process.pid);
  // Drop databases of earlier runs that were killed before their teardown (never a live run's:
  // several runs may share one server).
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const existing = await client.query<{ datname: string }>(
    "select datname from pg_database where datname like 'orbit_t%'",
  );
  await client.end();
  for (const { datname } of existing.rows) {
    const pid = pidOfRunDatabase(datname);
    if (pid !== null && !isAlive(pid)) await dropDatabase(adminUrl, datname).catch(() => {});
  }

  const templateDb = runDatabaseName(process.pid, `tpl_${migrationsHash()}`);
  const templateUrl = await ensureDatabase(adminUrl, templateDb);
  await migrateDeploy(templateUrl);
  ownDatabases = { adminUrl, pid: process.pid };
  project.provide("adminUrl", adminUrl);
  project.provide("templateDb", templateDb);
  project.provide("runId", runId);
}

export async function teardown(): Promise<void> {
  if (ownDatabases && !server) {
    // On a shared server (DATABASE_URL), leave it as we found it.
    const { adminUrl, pid } = ownDatabases;
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const mine = await client.query<{ datname: string }>(
      "select datname from pg_database where datname like $1",
      [`orbit_t${pid}\\_%`],
    );
    await client.end();
    for (const { datname } of mine.rows) await dropDatabase(adminUrl, datname).catch(() => {});
  }
  await server?.stop();
}
