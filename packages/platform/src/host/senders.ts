// Delivery routes (/dapr/*, /events/*, /job/*): only this app's sidecar, which sends the app API
// token, or (eventing overlay) a Knative source with its OIDC token (delivery-auth.ts). Checked
// before the body is read, and again on each delivery route itself, so no spelling of a path
// that Express would route there (case, trailing slash) gets past. A refusal is a 401: daprd
// retries it per its resiliency policy and then dead-letters it (a job trigger: its failure
// policy, then the trigger is gone); Knative dead-letters a 401 at once. docs/deployment.md.
import type { Express, NextFunction, Request, Response } from "express";
import { authorizeDelivery, isDeliveryPath, OidcVerifier } from "../delivery-auth.ts";
import type { BaseEnv } from "../env.ts";
import type { Logger } from "../logger.ts";
import { deliveriesRefused } from "../metrics.ts";
import { problems } from "../problems.ts";
import { sendProblem } from "./errors.ts";

export type RequireSender = (req: Request, res: Response, next: NextFunction) => Promise<void>;

/**
 * Guards every delivery path from here on, and returns the same check for the delivery routes to
 * repeat (it passes at once when the guard already admitted the request).
 */
export function guardDeliveries(app: Express, env: BaseEnv, log: Logger): RequireSender {
  const oidc = env.DELIVERY_OIDC_AUDIENCE
    ? new OidcVerifier({
        apiServer: env.DELIVERY_OIDC_API_SERVER,
        audience: env.DELIVERY_OIDC_AUDIENCE,
        subjects: env.DELIVERY_OIDC_SUBJECTS,
        tokenFile: env.DELIVERY_OIDC_TOKEN_FILE,
      })
    : null;
  if (!env.APP_API_TOKEN) log.warn("APP_API_TOKEN is not set: every delivery route refuses every request");
  const requireSender: RequireSender = async (req, res, next) => {
    if (res.locals.sender) return next();
    const auth = await authorizeDelivery(req.headers, env.APP_API_TOKEN, oidc);
    if (auth.ok) {
      res.locals.sender = auth.sender;
      return next();
    }
    deliveriesRefused.inc({ reason: auth.reason });
    (res.locals.log as Logger).warn("delivery refused", {
      reason: auth.reason,
      detail: auth.detail,
      path: req.path,
    });
    sendProblem(
      res,
      auth.reason === "unavailable"
        ? problems.unavailable("The sender's identity cannot be checked right now; retry shortly.")
        : problems.unauthorized(auth.detail),
      req.originalUrl,
    );
  };
  app.use((req, res, next) => (isDeliveryPath(req.path) ? requireSender(req, res, next) : next()));
  return requireSender;
}
