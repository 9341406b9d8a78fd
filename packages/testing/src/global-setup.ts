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
import { TEST_PG_DIR, TEST_PG_PORT, templateName, withDatabase } from "./database.ts";

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    templateDb: string;
    runId: string;
  }
}

let server: RunningServer | null = null;

export async function setup(project: TestProject): Promise<void> {
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = withDatabase(process.env.DATABASE_URL, "postgres");
  } else {
    server = await startEmbeddedServer({ dataDir: TEST_PG_DIR, port: TEST_PG_PORT, fast: true });
    adminUrl = server.adminUrl;
  }
  const runId = `${process.pid}`;
  // Databases of earlier runs that were killed before their teardown.
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const stale = await client.query<{ datname: string }>(
    "select datname from pg_database where datname like 'orbit_w%' or (datname like 'orbit_tpl_%' and datname <> $1)",
    [templateName()],
  );
  await client.end();
  for (const { datname } of stale.rows) await dropDatabase(adminUrl, datname).catch(() => {});

  const templateDb = templateName();
  const templateUrl = await ensureDatabase(adminUrl, templateDb);
  await migrateDeploy(templateUrl);
  project.provide("adminUrl", adminUrl);
  project.provide("templateDb", templateDb);
  project.provide("runId", runId);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
