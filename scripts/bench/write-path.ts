// 1. Write path: POST /v1/tasks on the bundled create-task process (auth, validation, one
// transaction with its outbox row, the relay publishing to its sidecar) vs a minimal Express + pg
// insert of the same row, same database, same pool size, same concurrency; load from another process.
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import { Topology } from "#testing/topology.ts";
import { freePort } from "#testing/ports.ts";
import { benchUser, openDb, type BenchContext, type BenchRow } from "./context.ts";
import { runLoad, throughput, type LoadResult } from "./load.ts";
import { spawnProcess, waitHttp } from "./processes.ts";
import { round, summarize } from "./stats.ts";

const POOL = "10";

export async function writePath(ctx: BenchContext): Promise<BenchRow> {
  const concurrency = ctx.smoke ? 20 : 200;
  const total = ctx.smoke ? 200 : 10_000;
  const warmup = ctx.smoke ? 40 : 1_000;
  const databaseUrl = await ctx.database("write");
  const db = openDb(databaseUrl);
  const user = await benchUser(db);
  await db.$disconnect();

  const topology = await Topology.start({ databaseUrl, apps: ["create-task"], env: { DB_POOL_SIZE: POOL } });
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
  let ours: LoadResult;
  let base: LoadResult;
  let errorLines: string[] = [];
  try {
    await waitHttp(`${baseUrl}/readyz`, "baseline write server", baseline);
    const job = (url: string, count: number) =>
      runLoad({
        kind: "closed",
        urls: [`${url}/v1/tasks`],
        method: "POST",
        headers: { authorization: user.auth, "content-type": "application/json" },
        body: '{"title":"Bench task {n}","priority":"medium","tags":["bench"]}',
        concurrency,
        total: count,
      });
    ctx.log(`write path: warm-up, then ${total} creates at concurrency ${concurrency} each`);
    await job(baseUrl, warmup);
    await job(topology.app("create-task").url, warmup);
    base = await job(baseUrl, total);
    ours = await job(topology.app("create-task").url, total);
    // What the function logged about its failures, so a non-201 in the report has its cause.
    errorLines = [
      ...new Set(
        topology
          .logs("create-task")
          .split("\n")
          .filter((line) => /"level":"(error|warn)"|Error/.test(line))
          .map((line) => line.replace(/"(time|request_id|trace_id|span_id)":"[^"]*",?/g, "").slice(0, 300)),
      ),
    ].slice(0, 2);
  } finally {
    await baseline.stop();
    await topology.stop();
  }
  const oursOk = ours.statuses["201"] ?? 0;
  const baseOk = base.statuses["201"] ?? 0;
  const o = summarize(ours.latencies);
  const b = summarize(base.latencies);
  const ratio = throughput(ours) / throughput(base);
  const allOk = oursOk === total && baseOk === total;
  const met = allOk && ratio >= 0.7 && o.p99 < 25;
  const reasons: string[] = [];
  if (!allOk)
    reasons.push(
      `non-201 answers: ours ${JSON.stringify(ours.statuses)}, baseline ${JSON.stringify(base.statuses)}; create-task logged: ${errorLines.join(" / ") || "nothing at warn or above"}`,
    );
  if (ratio < 0.7)
    reasons.push(
      `throughput ratio ${round(ratio, 2)}: each create does a token lookup, zod validation and a transaction of several statements (task, tags, outbox) where the baseline does one INSERT`,
    );
  if (o.p99 >= 25)
    reasons.push(
      `p99 ${round(o.p99)} ms at ${concurrency} concurrent requests: with a pool of ${POOL} connections, requests queue for a connection (p99 ≈ concurrency / throughput); the baseline's p99 is ${round(b.p99)} ms under the same queueing`,
    );
  return {
    key: "write",
    title: "1. Write path (create-task over HTTP)",
    target: "≥ 0.7 × baseline throughput; p99 < 25 ms at 200 concurrent",
    ours: {
      label: "create-task (bundle)",
      p50: o.p50,
      p99: o.p99,
      note: `${Math.round(throughput(ours))} req/s`,
    },
    baseline: {
      label: "Express + pg INSERT",
      p50: b.p50,
      p99: b.p99,
      note: `${Math.round(throughput(base))} req/s`,
    },
    ratio: { label: "throughput", value: ratio },
    met,
    reason: met ? `ratio ${round(ratio, 2)}, p99 ${round(o.p99)} ms` : reasons.join("; "),
    chart: {
      label: "WRITE REQ/S",
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
