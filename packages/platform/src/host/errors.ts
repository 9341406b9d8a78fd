// How the host answers with an error: always an RFC 9457 problem (problems.ts) as
// application/problem+json; and the last stops of the chain: 405 for a known path, 404 otherwise,
// and a last-resort error handler.
import type { Express, NextFunction, Request, Response } from "express";
import { SidecarUnavailableError } from "../dapr-client.ts";
import { isDatabaseUnavailable } from "../db-errors.ts";
import type { Logger } from "../logger.ts";
import { knownProblem, problems, type Problem } from "../problems.ts";

export function sendProblem(res: Response, problem: Problem, instance: string): void {
  if (res.headersSent) return;
  for (const [key, value] of Object.entries(problem.headers)) res.setHeader(key, value);
  res
    .status(problem.status)
    .type("application/problem+json")
    .send(JSON.stringify({ ...problem.body, instance }));
}

/** Maps any thrown error to a Problem, logging what the client must not see. */
export function toProblem(error: unknown, log: Logger): Problem {
  const known = knownProblem(error);
  if (known) return known;
  if (error instanceof SidecarUnavailableError) {
    log.error("dapr sidecar unreachable", { err: error });
    return problems.unavailable("The Dapr sidecar is not reachable; retry shortly.");
  }
  if (isDatabaseUnavailable(error)) {
    log.error("database unavailable", { err: error });
    return problems.unavailable("The database is not reachable; retry shortly.");
  }
  log.error("unhandled error", { err: error });
  return problems.internal();
}

/** Registered last: what no route took, and what no handler caught. */
export function registerFallbacks(app: Express, methodsByPath: Map<string, string[]>, log: Logger): void {
  app.use((req: Request, res: Response) => {
    for (const [path, methods] of methodsByPath) {
      const pattern = new RegExp(`^${path.replace(/:[^/]+/g, "[^/]+")}/?$`);
      if (pattern.test(req.path))
        return sendProblem(res, problems.methodNotAllowed(methods), req.originalUrl);
    }
    sendProblem(res, problems.notFound(`No route for ${req.method} ${req.path}.`), req.originalUrl);
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendProblem(res, toProblem(error, (res.locals.log as Logger | undefined) ?? log), req.originalUrl);
  });
}
