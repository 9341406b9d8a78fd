// Liveness and readiness: /healthz answers while the process runs; /readyz only while the database
// answers within 2 s and the function is not draining (shutdown flips it to 503 first).
import type { Express } from "express";
import type { Db } from "#db/client.ts";
import type { Logger } from "../logger.ts";

export function registerProbes(
  app: Express,
  probe: { name: string; db: Db; log: Logger; isDraining(): boolean },
): void {
  const { name, db, log } = probe;
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", service: name });
  });
  app.get("/readyz", async (_req, res) => {
    if (probe.isDraining()) {
      res.status(503).json({ status: "draining", service: name });
      return;
    }
    try {
      await Promise.race([
        db.$queryRaw`SELECT 1`,
        new Promise((_resolve, reject) =>
          setTimeout(() => reject(new Error("readiness query timed out")), 2_000).unref(),
        ),
      ]);
      res.json({ status: "ready", service: name });
    } catch (error) {
      log.warn("not ready: database unreachable", { err: error });
      res.status(503).json({ status: "database unreachable", service: name });
    }
  });
}
