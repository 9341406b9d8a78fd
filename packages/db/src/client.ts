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

type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;
type Transaction = Awaited<ReturnType<Adapter["startTransaction"]>>;

/**
 * Prisma 6.19's transaction manager sends COMMIT (or ROLLBACK) as a query and only then calls the
 * adapter's commit()/rollback(), which release the pg client to the pool. When that query fails
 * (a deferred constraint trigger at COMMIT, a connection lost mid-commit) neither is called: the
 * client leaks, and after pool-size such failures every query waits for a connection forever.
 * PostgreSQL has ended the transaction by then (a failed COMMIT rolls back), so we release the
 * client ourselves, once (pg-pool throws on a double release; a broken client is dropped by it).
 */
function releaseOnFailedEnd(factory: PrismaPg): PrismaPg {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      const tx: Transaction = await startTransaction(isolationLevel);
      let released = false;
      const once = (release: () => Promise<void>) => async () => {
        if (released) return;
        released = true;
        await release();
      };
      tx.commit = once(tx.commit.bind(tx));
      tx.rollback = once(tx.rollback.bind(tx));
      const executeRaw = tx.executeRaw.bind(tx);
      tx.executeRaw = async (query) => {
        try {
          return await executeRaw(query);
        } catch (error) {
          if (query.sql === "COMMIT" || query.sql === "ROLLBACK") await tx.rollback();
          throw error;
        }
      };
      return tx;
    };
    return adapter;
  };
  return factory;
}

export function createDb(options: DbOptions): Db {
  const adapter = new PrismaPg({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    idleTimeoutMillis: 30_000,
  });
  return new PrismaClient({ adapter: releaseOnFailedEnd(adapter) });
}
