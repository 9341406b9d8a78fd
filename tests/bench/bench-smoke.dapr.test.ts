// The benchmarks that also run on real daprd + Kafka (`make bench`), at tiny sizes, so
// `make test-dapr` proves that half of the harness works as tests/bench/bench-smoke.e2e.test.ts proves
// the local half. Speed is never asserted here; `make bench` measures it (docs/benchmarks.md).
import { expect, inject, test } from "vitest";
import { ensureDatabase } from "#db/embedded-postgres.ts";
import { runDatabaseName } from "#testing/database.ts";
import type { BenchContext, BenchRow } from "../../scripts/bench/context.ts";
import { events } from "../../scripts/bench/events.ts";
import { reminders } from "../../scripts/bench/reminders.ts";

const database = (suffix: string) =>
  ensureDatabase(
    inject("adminUrl"),
    runDatabaseName(Number(inject("runId")), `bench_${suffix}_${process.env.VITEST_POOL_ID ?? "0"}`),
    inject("templateDb"),
  );
const ctx: BenchContext = { smoke: true, database, keptDatabase: database, log: () => {} };

function expectMeasured(row: BenchRow): void {
  expect(row.key).toMatch(/-daprd$/);
  expect(row.title).toContain("daprd 1.18 + Kafka");
  expect(typeof row.met).toBe("boolean");
  for (const [name, value] of Object.entries(row.figures))
    expect([name, Number.isFinite(value)]).toEqual([name, true]);
  expect(Number.isFinite(row.ratio!.value)).toBe(true);
}

test("event latency and throughput on daprd + Kafka: every sample arrives and none is lost", async () => {
  const [audit, recurrence, throughput] = await events(ctx, "daprd");
  for (const row of [audit!, recurrence!, throughput!]) expectMeasured(row);
  // None lost: every event daprd accepted arrived through Kafka. The open-loop generator may not
  // send all 2,000 in its 2 s on a busy machine (another suite's broker runs beside it); what it
  // did not send is reported as unsent, not as lost. Hundreds keep "none lost" meaningful. (A
  // clean-clone run counted 1,507 arrivals of 2,000 once; this test did not yet say which.)
  expect(throughput!.figures.published, throughput!.reason).toBeGreaterThan(200);
  expect(throughput!.figures.delivered, throughput!.reason).toBe(throughput!.figures.published);
}, 240_000);

test("reminders on daprd + the Dapr Scheduler: every reminder due at the same instant fires and is published", async () => {
  const row = await reminders(ctx, "daprd");
  expectMeasured(row);
  expect(row.ours!.note).toContain("20/20 fired, 20/20 published");
}, 180_000);
