// The application's Prisma client: Prisma 6.19's TypeScript client over node-postgres through the
// pg driver adapter (no native engine; docs/decisions/002-prisma-6-offline-migrations.md).
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.ts";

export type Db = PrismaClient;
/** A transaction client, as handed to `db.$transaction(async (tx) => …)`. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

export interface DbOptions {
  url: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  /** Fail a query that waits this long for a connection (surfaces as 503, never a hang). */
  connectionTimeoutMs?: number;
  /** Server-side statement timeout, so a stuck query cannot hold a request forever. */
  statementTimeoutMs?: number;
}

export function createDb(options: DbOptions): Db {
  const adapter = new PrismaPg({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    idleTimeoutMillis: 30_000,
  });
  return new PrismaClient({ adapter });
}
