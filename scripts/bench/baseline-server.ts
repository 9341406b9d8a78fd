// The baselines' servers, each the least code that does the same job, run as their own process:
//   write: a minimal Express + pg app inserting the same task row create-task inserts (no auth,
//          no validation, no outbox), and updating or completing it with one UPDATE, for the
//          write-path comparisons;
//   ready: bare node:http + pg answering GET /readyz with `SELECT 1`, for the cold-start one.
// Env: PORT, DATABASE_URL, BENCH_USER_ID (write), DB_POOL_SIZE.
import { createServer } from "node:http";
import express from "express";
import pg from "pg";

const mode = process.argv[2];
const port = Number(process.env.PORT);
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_SIZE ?? 10),
});

if (mode === "write") {
  const userId = process.env.BENCH_USER_ID;
  const app = express();
  app.use(express.json());
  app.post("/v1/tasks", async (req, res) => {
    const { rows } = await pool.query(
      `INSERT INTO tasks (id, user_id, title, time_zone) VALUES (gen_random_uuid(), $1, $2, 'UTC')
       RETURNING id, title, status, created_at`,
      [userId, (req.body as { title: string }).title],
    );
    res.status(201).json(rows[0]);
  });
  // The same rows' update and complete, as update-task and complete-task change them (no read-back,
  // no events): one UPDATE each.
  app.patch("/v1/tasks/:id", async (req, res) => {
    const { rows } = await pool.query(
      `UPDATE tasks SET title = $3, version = version + 1, updated_at = now()
       WHERE id = $1 AND user_id = $2 RETURNING id, title, version`,
      [req.params.id, userId, (req.body as { title: string }).title],
    );
    res.status(rows[0] ? 200 : 404).json(rows[0] ?? {});
  });
  app.post("/v1/tasks/:id/complete", async (req, res) => {
    const { rows } = await pool.query(
      `UPDATE tasks SET status = 'completed', completed_at = now(), version = version + 1, updated_at = now()
       WHERE id = $1 AND user_id = $2 RETURNING id, status, version`,
      [req.params.id, userId],
    );
    res.status(rows[0] ? 200 : 404).json(rows[0] ?? {});
  });
  app.get("/readyz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.listen(port, "127.0.0.1");
} else if (mode === "ready") {
  createServer((req, res) => {
    if (req.url !== "/readyz") {
      res.writeHead(404).end();
      return;
    }
    pool.query("SELECT 1").then(
      () => res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}'),
      () => res.writeHead(503).end(),
    );
  }).listen(port, "127.0.0.1");
} else {
  throw new Error("usage: baseline-server.ts write|ready");
}
