// vitest globalSetup: one PostgreSQL server and one migrated template database per test run.
// The projects that need a database (int, e2e: vitest.config.ts) each name this setup; vitest runs
// every project's setup in its main process, so the first one starts the server and the others
// share it (a count on globalThis, which holds across the module copies vitest may load).
import type { TestProject } from "vitest/node";
import {
  dropDatabase,
  ensureDatabase,
  isAlive,
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

interface Shared {
  server: RunningServer | null;
  adminUrl: string;
  templateDb: string;
  runId: string;
  users: number;
}
const SHARED = Symbol.for("orbit.test-database");
type WithShared = typeof globalThis & { [SHARED]?: Promise<Shared> };
const holder = globalThis as WithShared;

export async function setup(project: TestProject): Promise<void> {
  const shared = await (holder[SHARED] ??= start());
  shared.users += 1;
  project.provide("adminUrl", shared.adminUrl);
  project.provide("templateDb", shared.templateDb);
  project.provide("runId", shared.runId);
}

async function start(): Promise<Shared> {
  let server: RunningServer | null = null;
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
  return { server, adminUrl, templateDb, runId, users: 0 };
}

export async function teardown(): Promise<void> {
  const pending = holder[SHARED];
  if (!pending) return;
  const shared = await pending;
  shared.users -= 1;
  if (shared.users > 0) return;
  delete holder[SHARED];
  const { server, adminUrl } = shared;
  if (!server) {
    // On a shared server (DATABASE_URL), leave it as we found it.
    const pid = process.pid;
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
