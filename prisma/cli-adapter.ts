/**
 * Every workaround the Prisma 6.19.3 CLI needs to migrate offline lives in this one file
 * (docs/decisions/002-prisma-6-offline-migrations.md explains the choice).
 *
 * The CLI's native schema engine is downloaded on demand and cannot be fetched here, so the CLI
 * runs its wasm schema engine through a driver adapter (`engine: "js"` in prisma.config.ts).
 * That path has one bug we must work around:
 *
 * prisma/orm#27403 (https://github.com/prisma/prisma/issues/27403): @prisma/adapter-pg rejects
 * catalog column types (`name`, `"char"`, `int2vector`, `oidvector`, `regproc`, …) that the
 * schema engine's introspection queries return ("Column type 'name' could not be deserialized").
 * We report those OIDs as `text` (and `name[]` as `text[]`) on the CLI's connections only; the
 * application's own client never reads catalog tables and is untouched.
 *
 * @prisma/adapter-pg 6.19.3 runs a migration script by `script.split(";")` and one query per
 * piece, outside any transaction (dist/index.mjs, `executeScript`): a semicolon in a comment or
 * string literal breaks the migration, and a failure leaves it half applied. (No upstream report
 * found when this was written.) We send the script whole as one simple-protocol query, which
 * PostgreSQL runs as a single implicit transaction: a migration applies completely or not at all.
 * Consequence: no `CREATE INDEX CONCURRENTLY` in migrations (it refuses to run in a transaction).
 *
 * The wasm schema engine also arms a 10 s timer (from its wasm code) after a command is done, so
 * `migrate deploy` finishes its work in ~1 s and then lingers 10 s. We unref timers created from
 * wasm frames: they still fire while the CLI is busy, they just no longer hold the process open.
 *
 * Two further upstream bugs are avoided rather than patched, and must stay avoided:
 * - adapter-pg's connectToShadowDb() lets the connection string override the shadow database
 *   name and drops it before closing its pool: we never run `migrate dev` (which needs a shadow
 *   database); new migrations are written with `prisma migrate diff` (see the Makefile target
 *   `db-migration`), which needs none.
 * - prisma/orm#29635 (https://github.com/prisma/prisma/issues/29635): PostgreSQL 18 reports NOT
 *   NULL constraints with contype 'n' and crashes the engine's describer: we pin PostgreSQL 17.
 */
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";

const TEXT = 25;
const TEXT_ARRAY = 1009;
/** Catalog types the adapter cannot map, and the type we report instead. */
const REPORTED_AS: ReadonlyMap<number, number> = new Map([
  [18, TEXT], // "char"
  [19, TEXT], // name
  [22, TEXT], // int2vector
  [24, TEXT], // regproc
  [30, TEXT], // oidvector
  [194, TEXT], // pg_node_tree
  [2205, TEXT], // regclass
  [2206, TEXT], // regtype
  [1003, TEXT_ARRAY], // name[]
]);

function reportCatalogTypesAsText<T>(result: T): T {
  const fields = (result as { fields?: { dataTypeID: number }[] } | undefined)?.fields ?? [];
  for (const field of fields) {
    field.dataTypeID = REPORTED_AS.get(field.dataTypeID) ?? field.dataTypeID;
  }
  return result;
}

const patchedClients = new WeakSet<pg.PoolClient>();

/** A pool whose promise-style queries (the only style adapter-pg uses) report catalog types as text. */
class CatalogAsTextPool extends pg.Pool {
  override query(...args: unknown[]): never {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    return (result instanceof Promise ? result.then(reportCatalogTypesAsText) : result) as never;
  }

  override connect(...args: unknown[]): never {
    if (args.length > 0) return (super.connect as (...a: unknown[]) => never)(...args);
    return super.connect().then((client) => {
      if (!patchedClients.has(client)) {
        const query = client.query.bind(client) as (...a: unknown[]) => unknown;
        client.query = ((...a: unknown[]) => {
          const result = query(...a);
          return result instanceof Promise ? result.then(reportCatalogTypesAsText) : result;
        }) as typeof client.query;
        patchedClients.add(client);
      }
      return client;
    }) as never;
  }
}

let engineTimersUnrefed = false;
function unrefWasmEngineTimers(): void {
  if (engineTimersUnrefed) return;
  engineTimersUnrefed = true;
  const original = globalThis.setTimeout;
  globalThis.setTimeout = ((handler: () => void, ms?: number, ...args: unknown[]) => {
    const timer = original(handler, ms, ...args);
    if ((ms ?? 0) >= 5000 && new Error().stack?.includes("wasm://"))
      (timer as unknown as NodeJS.Timeout).unref();
    return timer;
  }) as typeof setTimeout;
}

type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;

/** Runs each migration script as one query, so PostgreSQL applies it atomically. */
class WholeScriptPrismaPg extends PrismaPg {
  constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  override async connect(): Promise<Adapter> {
    const adapter = await super.connect();
    adapter.executeScript = async (script: string) => {
      await this.pool.query(script);
    };
    return adapter;
  }
}

/** The adapter the Prisma CLI uses (prisma.config.ts); never used by the application. */
export function cliAdapter(connectionString: string): PrismaPg {
  unrefWasmEngineTimers();
  // allowExitOnIdle: without it the CLI would wait on pg's idle timers after it is done.
  return new WholeScriptPrismaPg(new CatalogAsTextPool({ connectionString, max: 2, allowExitOnIdle: true }));
}
