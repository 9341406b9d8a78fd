// `make bench`: every benchmark at full size against its same-run baseline, on a PostgreSQL of its
// own (embedded, durable commits as in production; or DATABASE_URL), then docs/benchmarks.md and
// docs/benchmarks.png. `--smoke` runs the tiny sizes and writes under .data/bench-smoke instead;
// `--only` runs some benchmarks at full size and writes under .data/bench-only.
//   npx tsx scripts/bench/main.ts [--smoke] [--only write,events,...]
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { dropDatabase, ensureDatabase, startEmbeddedServer } from "#db/embedded-postgres.ts";
import { migrateDeploy, REPO_ROOT } from "#db/migrate.ts";
import type { BenchContext } from "./context.ts";
import { chart, markdown } from "./report.ts";
import { BENCHMARKS, runBenchmarks } from "./run.ts";

const { values } = parseArgs({
  options: { smoke: { type: "boolean", default: false }, only: { type: "string" } },
});
const smoke = values.smoke ?? false;
const only = values.only?.split(",");
const port = Number(process.env.ORBIT_BENCH_PG_PORT ?? 26480);
const log = (message: string) => console.log(`[bench] ${message}`);

const startedAt = new Date();
const loadStart = os.loadavg();
const server = process.env.DATABASE_URL
  ? null
  : await startEmbeddedServer({ dataDir: path.join(REPO_ROOT, `.data/bench-postgres-${port}`), port });
const adminUrl = server?.adminUrl ?? new URL("/postgres", process.env.DATABASE_URL).toString();

async function migrated(name: string): Promise<string> {
  const url = await ensureDatabase(adminUrl, name);
  await migrateDeploy(url);
  return url;
}

const template = "orbit_bench_template";
await dropDatabase(adminUrl, template);
await migrated(template);
const ctx: BenchContext = {
  smoke,
  async database(suffix) {
    const name = `orbit_bench_${suffix}`;
    await dropDatabase(adminUrl, name);
    return ensureDatabase(adminUrl, name, template);
  },
  keptDatabase: (suffix) => migrated(`orbit_bench_kept_${suffix}`),
  log,
};

try {
  const { rows, details } = await runBenchmarks(ctx, only);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  const version = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!
    .server_version;
  const fsync = (await client.query<{ fsync: string }>("SHOW fsync")).rows[0]!.fsync;
  await client.end();
  const info = {
    startedAt,
    finishedAt: new Date(),
    loadStart,
    loadEnd: os.loadavg(),
    database: `PostgreSQL ${version} (${server ? "embedded" : "DATABASE_URL"}, fsync ${fsync}), loopback`,
  };
  // docs/ holds a whole run only: a smoke run or a partial one (--only) is written under .data/.
  const outDir = path.join(REPO_ROOT, smoke ? ".data/bench-smoke" : only ? ".data/bench-only" : "docs");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "benchmarks.md"), markdown(rows, info, details));
  writeFileSync(path.join(outDir, "benchmarks.png"), chart(rows));
  log(`wrote ${path.relative(REPO_ROOT, outDir)}/benchmarks.md and benchmarks.png`);
  for (const r of rows)
    log(`${r.title}: ${r.met === null ? "pending" : r.met ? "met" : "MISSED"} — ${r.reason}`);
  if (only && rows.length === 0) log(`nothing matched --only; known: ${BENCHMARKS.join(", ")}`);
} finally {
  await server?.stop();
}
