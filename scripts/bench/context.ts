// What every benchmark gets from its runner (scripts/bench/main.ts for `make bench`, the smoke
// test under vitest): where PostgreSQL is, fresh migrated databases, and how big to run.
import { createDb, type Db } from "#db/client.ts";
import { newApiToken } from "#platform/tokens.ts";

export interface BenchContext {
  /** Tiny sizes: the smoke test checks the harness, never speed. */
  smoke: boolean;
  /** A fresh migrated database for one benchmark, by suffix; returns its URL. */
  database(suffix: string): Promise<string>;
  /** A migrated database kept across runs (the read path's seed is slow); returns its URL. */
  keptDatabase(suffix: string): Promise<string>;
  log(message: string): void;
}

export interface Figure {
  label: string;
  p50: number;
  p99: number;
  /** Anything else worth printing beside the percentiles (throughput, counts). */
  note?: string;
}

export interface BenchRow {
  key: string;
  title: string;
  target: string;
  ours: Figure | null;
  baseline: Figure | null;
  /** ours / baseline of the figure the target is about, e.g. throughput. */
  ratio: { label: string; value: number } | null;
  /** null: not measured in this run (pending). */
  met: boolean | null;
  reason: string;
  /** One bar pair in the chart: ours vs baseline in one unit, and the target on that scale. */
  chart: { label: string; ours: number; baseline: number | null; target: number | null } | null;
  /** Every number this row reports (the smoke test checks each is finite). */
  figures: Record<string, number>;
}

export interface BenchUser {
  id: string;
  auth: string;
}

/** A user with a read-write API token, made the way the product makes them. */
export async function benchUser(db: Db, timeZone = "UTC"): Promise<BenchUser> {
  const user = await db.user.create({
    data: {
      email: `bench-${crypto.randomUUID()}@example.test`,
      passwordHash: "scrypt$disabled",
      timeZone,
      defaultReminderMinutes: [],
    },
  });
  const token = newApiToken();
  await db.apiToken.create({
    data: {
      userId: user.id,
      name: "bench",
      tokenHash: token.hash,
      prefix: token.prefix,
      scope: "read_write",
    },
  });
  return { id: user.id, auth: `Bearer ${token.secret}` };
}

export function openDb(url: string): Db {
  return createDb({ url, poolSize: 4 });
}
