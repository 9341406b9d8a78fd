// `make db-migration NAME=…`: writes prisma/migrations/<timestamp>_<name>/migration.sql from the
// difference between the committed schema (git HEAD) and the working prisma/schema.prisma.
// A datamodel-to-datamodel diff needs no database, hence no shadow database: `migrate dev` is
// avoided on purpose (prisma/cli-adapter.ts says why). Review the SQL before committing: SQL that
// Prisma's schema language cannot express (indexes on expressions, generated columns) is
// hand-written into migrations, as in the init migration.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import { openDevDatabase } from "./dev-database.ts";

const name = process.argv[2] ?? "";
if (!/^[a-z0-9_]+$/.test(name)) {
  console.error("migration name must be snake_case: letters, digits, underscores");
  process.exit(64);
}
const before = path.join(mkdtempSync(path.join(tmpdir(), "orbit-schema-")), "schema.prisma");
writeFileSync(before, execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { cwd: REPO_ROOT }));
// The CLI connects through its adapter even for a datamodel-only diff (it only reads).
const database = await openDevDatabase(false);
const sql = execFileSync(
  path.join(REPO_ROOT, "node_modules/.bin/prisma"),
  [
    "migrate",
    "diff",
    "--from-schema-datamodel",
    before,
    "--to-schema-datamodel",
    "prisma/schema.prisma",
    "--script",
  ],
  { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: database.url } },
).toString();
await database.stop();
if (!sql.trim() || /This is an empty migration/.test(sql)) {
  console.log("prisma/schema.prisma has no changes against HEAD; nothing to write");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const dir = path.join(REPO_ROOT, "prisma/migrations", `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, "migration.sql"), sql);
console.log(`wrote ${path.relative(REPO_ROOT, dir)}/migration.sql — review it, then run make test`);
