// GET /metrics: the Prometheus registry (metrics.ts), behind `Authorization: Bearer <METRICS_TOKEN>`
// when that is set (compared in constant time). Gauges that need a query (the outbox backlog, the
// function's own collectMetrics) are refreshed per scrape; a failed refresh serves the rest.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Express } from "express";
import type { BaseEnv } from "../env.ts";
import type { Context, FunctionDef } from "../host.ts";
import { outboxLag, outboxPending, registry } from "../metrics.ts";
import { problems } from "../problems.ts";
import { sendProblem } from "./errors.ts";

export function registerMetrics<E extends BaseEnv>(app: Express, def: FunctionDef<E>, ctx: Context<E>): void {
  const { db, env, log } = ctx;
  app.get("/metrics", async (req, res) => {
    if (env.METRICS_TOKEN) {
      const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
      const a = createHash("sha256").update(given).digest();
      const b = createHash("sha256").update(env.METRICS_TOKEN).digest();
      if (!timingSafeEqual(a, b))
        return sendProblem(res, problems.unauthorized("Scrapes need the metrics token."), req.originalUrl);
    }
    try {
      if (def.outbox) {
        const [row] = await db.$queryRaw<{ pending: bigint; oldest: Date | null }[]>`
          SELECT count(*) AS pending, min(created_at) AS oldest FROM outbox WHERE status = 'pending'`;
        outboxPending.set(Number(row?.pending ?? 0));
        outboxLag.set(row?.oldest ? Math.max(0, (Date.now() - row.oldest.getTime()) / 1000) : 0);
      }
      await def.collectMetrics?.(ctx);
    } catch (error) {
      log.warn("metrics collection failed; serving the rest", { err: error });
    }
    res.type(registry.contentType).send(await registry.metrics());
  });
}
