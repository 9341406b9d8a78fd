// 1. Write path: the bundled command functions over HTTP (auth and the per-token rate limit,
// validation, the write with its outbox rows, the relay publishing to its sidecar) vs a minimal
// Express + pg server making the same row change with one statement, same database, same pool size,
// same concurrency; load from another process. Rows: create at 200 and at 100 concurrent requests,
// update and complete at 200, each against its own same-run baseline.
import path from "node:path";
import pg from "pg";
import { REPO_ROOT } from "#db/migrate.ts";
import { Topology } from "#testing/topology.ts";
import { freePort } from "#testing/ports.ts";
import { benchUser, openDb, type BenchContext, type BenchRow } from "./context.ts";
import { runLoad, throughput, type LoadResult } from "./load.ts";
import { spawnProcess, waitHttp } from "./processes.ts";
import { round, summarize } from "./stats.ts";

const POOL = "10";
const APPS = ["create-task", "update-task", "complete-task"] as const;

interface Case {
  key: string;
  title: string;
  app: (typeof APPS)[number];
  method: string;
  /** The request's URLs: one per task for update and complete (each changes a task of its own). */
  urls: (base: string, ids: string[]) => string[];
  body: string;
  ok: string;
  concurrency: number;
  total: number;
  warmup: number;
  /** What one request of ours does that the baseline's single statement does not (the ratio's why). */
  work: string;
  p99Target?: number;
}

export async function writePath(ctx: BenchContext): Promise<BenchRow[]> {
  const full = !ctx.smoke;
  const big = { total: full ? 10_000 : 200, warmup: full ? 1_000 : 40 };
  const small = { total: full ? 5_000 : 200, warmup: full ? 500 : 40 };
  const createWork =
    "each create is one statement for the token and its rate limit (shared by the token's concurrent requests) and one writing the task, tags, reminders and its two outbox rows, plus zod validation, and the relay then publishes two events per create to the sidecar (its own statements and HTTP calls) where the baseline does one INSERT";
  const txWork =
    "each is a transaction of several statements (BEGIN, the row lock, the task read back with its tags and reminders, the update, its outbox rows, COMMIT) plus the token statement and the relay's publishing, where the baseline does one UPDATE";
  const cases: Case[] = [
    {
      key: "write",
      title: "1. Write path (create-task over HTTP)",
      app: "create-task",
      method: "POST",
      urls: (base) => [`${base}/v1/tasks`],
      body: '{"title":"Bench task {n}","priority":"medium","tags":["bench"]}',
      ok: "201",
      concurrency: full ? 200 : 20,
      ...big,
      work: createWork,
    },
    {
      key: "write-100",
      title: "1b. Write path, 100 concurrent (create-task)",
      app: "create-task",
      method: "POST",
      urls: (base) => [`${base}/v1/tasks`],
      body: '{"title":"Bench task {n}","priority":"medium","tags":["bench"]}',
      ok: "201",
      concurrency: full ? 100 : 10,
      ...small,
      work: createWork,
      p99Target: 1_000,
    },
    {
      key: "write-update",
      title: "1c. Write path: update (update-task)",
      app: "update-task",
      method: "PATCH",
      urls: (base, ids) => ids.map((id) => `${base}/v1/tasks/${id}`),
      body: '{"title":"Renamed {n}"}',
      ok: "200",
      concurrency: full ? 200 : 20,
      ...small,
      work: txWork,
    },
    {
      key: "write-complete",
      title: "1d. Write path: complete (complete-task)",
      app: "complete-task",
      method: "POST",
      urls: (base, ids) => ids.map((id) => `${base}/v1/tasks/${id}/complete`),
      body: "{}",
      ok: "200",
      concurrency: full ? 200 : 20,
      ...small,
      work: txWork,
    },
  ];

  const databaseUrl = await ctx.database("write");
  const db = openDb(databaseUrl);
  const user = await benchUser(db);
  await db.$disconnect();

  // ORBIT_CPU_PROF_DIR=<dir>: each function writes a V8 CPU profile there when it stops.
  const profDir = process.env.ORBIT_CPU_PROF_DIR;
  const nodeArgs = profDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profDir)}`] : [];
  const topology = await Topology.start({
    databaseUrl,
    apps: [...APPS],
    // The per-token limit stays on (its statement runs for every request), set above what one
    // token sends here: at 6000 a minute the run itself would be refused with 429s once it is fast.
    env: { DB_POOL_SIZE: POOL, TOKEN_RATE_LIMIT_PER_MINUTE: "10000000" },
    nodeArgs,
  });
  const basePort = await freePort();
  const baseline = spawnProcess(
    [process.execPath, "--import", "tsx", path.join(import.meta.dirname, "baseline-server.ts"), "write"],
    {
      ...process.env,
      PORT: String(basePort),
      DATABASE_URL: databaseUrl,
      BENCH_USER_ID: user.id,
      DB_POOL_SIZE: POOL,
    },
    REPO_ROOT,
  );
  const baseUrl = `http://127.0.0.1:${basePort}`;
  const rows: BenchRow[] = [];
  try {
    await waitHttp(`${baseUrl}/readyz`, "baseline write server", baseline);
    // Pending tasks made by the create runs, handed out in id order so that no two requests change
    // one task (keyset, not OFFSET: the ones completed meanwhile leave the pending set).
    let lastId = "00000000-0000-0000-0000-000000000000";
    const pendingTasks = async (count: number): Promise<string[]> => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows: found } = await client.query<{ id: string }>(
          "SELECT id FROM tasks WHERE user_id = $1 AND status = 'pending' AND id > $2 ORDER BY id LIMIT $3",
          [user.id, lastId, count],
        );
        if (found.length < count) throw new Error(`only ${found.length} of ${count} pending bench tasks`);
        lastId = found.at(-1)!.id;
        return found.map((r) => r.id);
      } finally {
        await client.end();
      }
    };
    for (const c of cases) {
      const ours = topology.app(c.app).url;
      const needsTasks = c.app !== "create-task";
      const job = async (url: string, count: number) =>
        runLoad({
          kind: "closed",
          urls: c.urls(url, needsTasks ? await pendingTasks(count) : []),
          method: c.method,
          headers: { authorization: user.auth, "content-type": "application/json" },
          body: c.body,
          concurrency: c.concurrency,
          total: count,
        });
      ctx.log(
        `write path (${c.key}): warm-up, then ${c.total} requests at concurrency ${c.concurrency} each`,
      );
      await job(baseUrl, c.warmup);
      await job(ours, c.warmup);
      const base = await job(baseUrl, c.total);
      const mine = await job(ours, c.total);
      // What the function logged about its failures, so a non-2xx in the report has its cause.
      const errorLines = [
        ...new Set(
          topology
            .logs(c.app)
            .split("\n")
            .filter((line) => /"level":"(error|warn)"|Error/.test(line))
            .map((line) => line.replace(/"(time|request_id|trace_id|span_id)":"[^"]*",?/g, "").slice(0, 300)),
        ),
      ].slice(0, 2);
      rows.push(report(c, mine, base, errorLines));
    }
  } finally {
    await baseline.stop();
    await topology.stop();
  }
  return rows;
}

function report(c: Case, ours: LoadResult, base: LoadResult, errorLines: string[]): BenchRow {
  const oursOk = ours.statuses[c.ok] ?? 0;
  const baseOk = base.statuses[c.ok] ?? 0;
  const o = summarize(ours.latencies);
  const b = summarize(base.latencies);
  const ratio = throughput(ours) / throughput(base);
  const allOk = oursOk === c.total && baseOk === c.total;
  const p99Met = c.p99Target === undefined || o.p99 < c.p99Target;
  const met = allOk && ratio >= 0.7 && p99Met;
  const reasons: string[] = [];
  if (!allOk)
    reasons.push(
      `non-${c.ok} answers: ours ${JSON.stringify(ours.statuses)}, baseline ${JSON.stringify(base.statuses)}; ${c.app} logged: ${errorLines.join(" / ") || "nothing at warn or above"}`,
    );
  if (ratio < 0.7) reasons.push(`throughput ratio ${round(ratio, 2)}: ${c.work}`);
  if (!p99Met)
    reasons.push(
      `p99 ${round(o.p99)} ms at ${c.concurrency} concurrent requests: with a pool of ${POOL} connections, requests wait for one (p99 ≈ concurrency / throughput); the baseline's p99 is ${round(b.p99)} ms under the same queueing`,
    );
  return {
    key: c.key,
    title: c.title,
    target: `≥ 0.7 × baseline throughput; every answer ${c.ok} at ${c.concurrency} concurrent${c.p99Target ? `; p99 < ${c.p99Target / 1000} s` : ""}`,
    ours: {
      label: `${c.app} (bundle)`,
      p50: o.p50,
      p99: o.p99,
      note: `${Math.round(throughput(ours))} req/s`,
    },
    baseline: {
      label: `Express + pg ${c.app === "create-task" ? "INSERT" : "UPDATE"}`,
      p50: b.p50,
      p99: b.p99,
      note: `${Math.round(throughput(base))} req/s`,
    },
    ratio: { label: "throughput", value: ratio },
    met,
    reason: met ? `ratio ${round(ratio, 2)}, p99 ${round(o.p99)} ms` : reasons.join("; "),
    chart: {
      label: c.key === "write" ? "WRITE REQ/S" : `${c.key.replace("write-", "").toUpperCase()} REQ/S`,
      ours: throughput(ours),
      baseline: throughput(base),
      target: 0.7 * throughput(base),
    },
    figures: {
      ours_rps: throughput(ours),
      base_rps: throughput(base),
      ours_p50: o.p50,
      ours_p99: o.p99,
      base_p50: b.p50,
      base_p99: b.p99,
      ratio,
    },
  };
}
