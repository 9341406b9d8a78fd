import { startEmbeddedServer, ensureDatabase } from "#db/embedded-postgres.ts";
import { migrateDeploy } from "#db/migrate.ts";
const t0 = performance.now();
const s = await startEmbeddedServer({
  dataDir: ".data/probe-postgres",
  port: 54399,
  fast: true,
  log: (l) => console.log("[pg]", l.slice(0, 120)),
});
console.log("started", s.adopted, performance.now() - t0);
const url = await ensureDatabase(s.adminUrl, "orbit");
await migrateDeploy(url, console.log);
console.log("migrated", performance.now() - t0);
if (process.argv[2] !== "leave") await s.stop();
console.log("stopped", performance.now() - t0);
