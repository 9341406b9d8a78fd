// The calling vitest worker's own database (created on first use from the template).
import { inject } from "vitest";
import { createDb, type Db } from "#db/client.ts";
import { ensureDatabase } from "#db/embedded-postgres.ts";
import { runDatabaseName } from "./database.ts";

let urlPromise: Promise<string> | null = null;
let db: Db | null = null;

/** URL of this worker's database. */
export function workerDatabaseUrl(): Promise<string> {
  urlPromise ??= ensureDatabase(
    inject("adminUrl"),
    runDatabaseName(Number(inject("runId")), `w${process.env.VITEST_POOL_ID ?? "0"}`),
    inject("templateDb"),
  );
  return urlPromise;
}

/** A shared Prisma client on this worker's database. */
export async function workerDb(): Promise<Db> {
  db ??= createDb({ url: await workerDatabaseUrl(), poolSize: 5 });
  return db;
}
