// Where tests get PostgreSQL: DATABASE_URL when set, else the embedded server (started once per
// test run by global-setup.ts). Each vitest worker gets its own database, copied from a migrated
// template, so workers never share rows.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";

export const TEST_PG_PORT = Number(process.env.ORBIT_TEST_PG_PORT ?? 26432);
/** One data folder per port, so test runs on different ports never share a server. */
export const TEST_PG_DIR = path.join(REPO_ROOT, `.data/test-postgres-${TEST_PG_PORT}`);

/** Hash of the migrations: part of the template's name, so a stale template is never reused. */
export function migrationsHash(): string {
  const dir = path.join(REPO_ROOT, "prisma/migrations");
  const hash = createHash("sha256");
  for (const entry of readdirSync(dir, { recursive: true }).map(String).sort()) {
    if (entry.endsWith(".sql")) hash.update(entry).update(readFileSync(path.join(dir, entry)));
  }
  return hash.digest("hex").slice(0, 10);
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Test databases carry the pid of the run that made them: `orbit_t<pid>_<suffix>`. */
export function runDatabaseName(pid: number, suffix: string): string {
  return `orbit_t${pid}_${suffix}`;
}

export function pidOfRunDatabase(name: string): number | null {
  const match = /^orbit_t(\d+)_/.exec(name);
  return match ? Number(match[1]) : null;
}
