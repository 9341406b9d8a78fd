// docs/benchmarks.md and docs/benchmarks.png from one run's rows.
import os from "node:os";
import type { BenchRow, Figure } from "./context.ts";
import { barChart } from "./png.ts";
import { ms, round } from "./stats.ts";

export interface RunInfo {
  startedAt: Date;
  finishedAt: Date;
  loadStart: number[];
  loadEnd: number[];
  database: string;
}

const fig = (f: Figure | null) =>
  f ? `${f.label}: p50 ${ms(f.p50)}, p99 ${ms(f.p99)}${f.note ? `, ${f.note}` : ""}` : "—";

const verdict = (met: boolean | null) => (met === null ? "pending" : met ? "met" : "missed");

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

export function markdown(rows: BenchRow[], info: RunInfo, details: string[]): string {
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(" / ");
  const lines = [
    "# Benchmarks",
    "",
    "Written by `make bench` (scripts/bench/main.ts) from one real run; do not edit by hand. Every",
    "figure is measured beside its baseline in the same run, on the same machine and database, so",
    "the ratios hold even when the machine is busy. Latencies are milliseconds (p50 / p99,",
    "nearest-rank); the load generator runs in its own process.",
    "",
    `- Run: ${info.startedAt.toISOString()} → ${info.finishedAt.toISOString()}`,
    `- Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    `- Load average (1/5/15 min) at start: ${load(info.loadStart)}; at end: ${load(info.loadEnd)} (other work on the machine shows here)`,
    `- Database: ${info.database}`,
    "",
    "![Ours (blue) vs baseline (grey) per benchmark; red tick: the target on the same scale](benchmarks.png)",
    "",
    "| Benchmark | Target | Measured | Baseline (same run) | Ratio | Result | Why |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${cell(r.title)} | ${cell(r.target)} | ${cell(fig(r.ours))} | ${cell(fig(r.baseline))} | ${
          r.ratio ? `${r.ratio.label} ${round(r.ratio.value, 2)}` : "—"
        } | **${verdict(r.met)}** | ${cell(r.reason)} |`,
    ),
    ...sideBySide(rows),
    "",
    ...PEERS,
    "",
    "## Details",
    "",
    ...details.map((d) => `- ${d}`),
    "",
  ];
  return lines.join("\n");
}

/**
 * Peers in the same run: the product people pick instead, built from its Go module beside ours.
 * Checked again on 2026-12-05 (`go list -m -versions`, and exact versions v0.22.1, v0.24.6,
 * v1.0.0): the Go module proxy this machine reaches refuses Vikunja under both of its module
 * paths, so it cannot be built here and has no row.
 */
const PEERS = [
  "## Peers",
  "",
  "Vikunja's API (the open-source task manager users pick instead) would run here for create and",
  "list on the same PostgreSQL, but it cannot be built on our machines: the Go module proxy they",
  "reach answers `403 Forbidden` for `code.vikunja.io/api` (its module path: the version list and",
  'the exact versions v0.22.1, v0.24.6 and v1.0.0) and "not available" for',
  "`github.com/go-vikunja/vikunja`, and a prebuilt binary is not a build from source. Until one of",
  "those is served, the baselines above (a bare Express + pg INSERT, raw sidecar hops, timers,",
  "bare node:http + pg) are the bar: each is the floor any implementation of the same work pays.",
];

/** The benchmarks run on both runtimes, one line each: the local sidecar beside real daprd + Kafka. */
function sideBySide(rows: BenchRow[]): string[] {
  const pairs = rows.flatMap((daprd) => {
    const local = daprd.key.endsWith("-daprd") && rows.find((r) => `${r.key}-daprd` === daprd.key);
    return local ? [{ local, daprd }] : [];
  });
  if (pairs.length === 0) return [];
  return [
    "",
    "## The two runtimes side by side",
    "",
    "The same benchmark, in the same run, beside the local sidecar (`make dev`, `make test`) and beside",
    "real daprd 1.18.2 with the Dapr Scheduler and Kafka 4.1 (`make test-dapr`, production's runtime).",
    "",
    "| Benchmark | Local sidecar | daprd + Kafka | Baseline (local / daprd) | Result (local / daprd) |",
    "| --- | --- | --- | --- | --- |",
    ...pairs.map(
      ({ local, daprd }) =>
        `| ${cell(local.title)} | ${cell(fig(local.ours))} | ${cell(fig(daprd.ours))} | ${cell(fig(local.baseline))} / ${cell(fig(daprd.baseline))} | ${verdict(local.met)} / ${verdict(daprd.met)} |`,
    ),
  ];
}

export function chart(rows: BenchRow[]): Buffer {
  return barChart(rows.flatMap((r) => (r.chart ? [r.chart] : [])));
}
