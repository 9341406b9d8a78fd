// Job callbacks: POST /job/<name> from the Dapr Jobs API's triggers, to the first handler whose
// prefix the name starts with. 200 acknowledges; an error answers a problem, so the scheduler
// applies its failure policy; an unknown job is a 404, which the scheduler counts as delivered.
import type { Express, Request, Response } from "express";
import type { BaseEnv } from "../env.ts";
import type { Context, JobDef } from "../host.ts";
import type { Logger } from "../logger.ts";
import { jobsTriggered } from "../metrics.ts";
import { problems } from "../problems.ts";
import { sendProblem, toProblem } from "./errors.ts";
import type { RequireSender } from "./senders.ts";

export function registerJobs<E extends BaseEnv>(
  app: Express,
  jobs: JobDef<E>[],
  ctx: Context<E>,
  requireSender: RequireSender,
): void {
  if (jobs.length === 0) return;
  app.post("/job/:name", requireSender, async (req: Request, res: Response) => {
    const name = String(req.params.name);
    const job = jobs.find((j) => name.startsWith(j.prefix));
    const jobLog = (res.locals.log as Logger).child({ job: name });
    if (!job) {
      // 404 counts as delivered for the scheduler: an unknown job must not be retried forever.
      jobLog.warn("no handler for job");
      return sendProblem(res, problems.notFound(`No handler for job ${name}.`), req.originalUrl);
    }
    try {
      await job.handle(name, req.body ?? null, { ...ctx, log: jobLog });
      jobsTriggered.inc({ status: "success" });
      res.status(200).json({ status: "SUCCESS" });
    } catch (error) {
      jobsTriggered.inc({ status: "failed" });
      sendProblem(res, toProblem(error, jobLog), req.originalUrl);
    }
  });
}
