// Runs the benchmarks in order; each returns its report row(s) and detail lines.
import type { BenchContext, BenchRow } from "./context.ts";
import { coldStarts } from "./cold-start.ts";
import { events } from "./events.ts";
import { readPath } from "./read-path.ts";
import { reminders } from "./reminders.ts";
import { webApp } from "./web.ts";
import { writePath } from "./write-path.ts";

export const BENCHMARKS = [
  "write",
  "events",
  "events-daprd",
  "reminders",
  "reminders-daprd",
  "reminders-5000",
  "cold-start",
  "read",
  "web",
] as const;

export async function runBenchmarks(
  ctx: BenchContext,
  only?: string[],
): Promise<{ rows: BenchRow[]; details: string[] }> {
  const rows: BenchRow[] = [];
  const details: string[] = [];
  const want = (key: string) => !only || only.includes(key);
  if (want("write")) {
    rows.push(...(await writePath(ctx)));
    details.push(
      "Write path: create-task, update-task and complete-task run as esbuild bundles (scripts/build.ts `bundle()`, unminified as the test topology builds them), each in its own process beside its local sidecar (packages/testing/src/topology.ts); the baseline is scripts/bench/baseline-server.ts (one INSERT or UPDATE per request). Both use a pool of 10 connections; both get the same warm-up first. Create runs 10,000 requests at 200 concurrent; the 100-concurrent, update and complete rows 5,000 each (update and complete change each task once, tasks the create runs made). The per-token rate limit is on, set above the run's volume.",
    );
  }
  if (want("events")) {
    rows.push(...(await events(ctx)));
    details.push(
      "Event latency: one sample at a time, measured from just before the HTTP command to the NOTIFY of a trigger on the consumer's table (benchmark database only); the functions are esbuild bundles beside their own sidecar processes. Throughput: the publisher is a separate process posting at a fixed rate (open loop); lag = arrival − send time per message (one clock).",
    );
  }
  if (want("events-daprd")) {
    rows.push(...(await events(ctx, "daprd")));
    details.push(
      "Events on daprd: the same benchmark with every function, and the no-op subscriber, beside real daprd 1.18.2 (tools/dapr-runtime) on one real Kafka 4.1 broker (tools/kafka, KRaft, loopback, production's six partitions per topic), in the same run as the local sidecar's.",
    );
  }
  if (want("reminders")) {
    rows.push(await reminders(ctx));
    details.push(
      "Reminders: all reminders share one instant; create-task, on-reminder-fired and notifications are esbuild bundles beside their own sidecars; the timer baseline runs in the load process during the same window.",
    );
  }
  // 5,000 due at once: long (every task created and scheduled first), so only when named.
  if (only?.includes("reminders-5000")) {
    rows.push(await reminders(ctx, "local", 5_000));
    details.push(
      "Reminders, 5,000 due at once: the same benchmark at ten times the size, on the local sidecar (only with `--only reminders-5000`).",
    );
  }
  if (want("reminders-daprd")) {
    rows.push(await reminders(ctx, "daprd"));
    details.push(
      "Reminders on daprd: the same benchmark beside real daprd 1.18.2 with the real Dapr Scheduler (embedded etcd), in the same run as the local sidecar's.",
    );
  }
  if (want("cold-start")) {
    const cold = await coldStarts(ctx);
    rows.push(cold.row);
    details.push(...cold.details);
  }
  if (want("read")) {
    const read = await readPath(ctx);
    rows.push(read.row);
    details.push(...read.details);
    details.push(
      "Read path: eight query shapes in turn (full-text search + status, search sorted by due date, tag + priority filter, pending by priority, all by title, overdue, pending latest due first, all lowest priority first), one request at a time; query-tasks is an esbuild bundle beside its sidecar.",
    );
  }
  if (want("web")) {
    rows.push(...(await webApp(ctx)));
    details.push(
      "Web: the built web app (web/build) under remix-serve beside its own sidecar; the page is fetched with a session cookie made by the product's own createSession; live sync listens on /live, the stream the page's EventSource opens (no browser: the figure excludes the browser's own rendering).",
    );
  }
  return { rows, details };
}
