// Request bodies: JSON only, size-limited, strict; everything else is a 415 on routes that take a
// body. Two exceptions: subscription routes read whatever comes (their handler DROPs what is not a
// CloudEvent), and job callbacks carry JSON whatever their declared type. Parse failures become
// problems here, before any route sees the request.
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { problems } from "../problems.ts";
import { sendProblem } from "./errors.ts";

const JSON_TYPES = ["application/json", "application/*+json"];

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const type = value.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

function hasBody(req: Request): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

export function registerBodyParsing(app: Express, limitBytes: number, subscriptionPaths: Set<string>): void {
  const jsonParser = express.json({ limit: limitBytes, type: JSON_TYPES, strict: false });
  app.use((req, res, next) => {
    if (!hasBody(req)) return next();
    const contentType = req.headers["content-type"];
    if (subscriptionPaths.has(req.path)) {
      // Whatever reaches a subscription route is read, whatever its content type, and what is not a
      // CloudEvent is DROPped by the handler: a 400 or 415 would make Dapr redeliver it until its
      // retries run out.
      return express.text({ type: () => true, limit: limitBytes })(req, res, (error?: unknown) => {
        if (error) return next(error);
        if (typeof req.body === "string" && isJsonContentType(contentType)) {
          try {
            req.body = JSON.parse(req.body);
          } catch {
            // Not JSON: stays text, which parseCloudEvent or the topic's schema rejects.
          }
        }
        next();
      });
    }
    if (!isJsonContentType(contentType) && !req.path.startsWith("/job/")) {
      // Knative binary-mode CloudEvents may carry any content type; parse the body as text.
      if (req.headers["ce-id"] !== undefined)
        return express.text({ type: () => true, limit: limitBytes })(req, res, next);
      return sendProblem(res, problems.unsupportedMediaType(contentType), req.originalUrl);
    }
    // Job callbacks carry JSON regardless of the declared type.
    if (req.path.startsWith("/job/"))
      return express.json({ limit: limitBytes, type: () => true, strict: false })(req, res, next);
    jsonParser(req, res, next);
  });
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    const e = error as { type?: string; status?: number; message?: string };
    if (e?.type === "entity.too.large")
      return sendProblem(res, problems.tooLarge(limitBytes), req.originalUrl);
    if (e?.type === "entity.parse.failed")
      return sendProblem(
        res,
        problems.malformedJson(`The body is not valid JSON: ${e.message}`),
        req.originalUrl,
      );
    if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported")
      return sendProblem(res, problems.unsupportedMediaType(req.headers["content-type"]), req.originalUrl);
    if (e?.status && e.status >= 400 && e.status < 500)
      return sendProblem(res, problems.validation([], e.message ?? "Bad request."), req.originalUrl);
    next(error);
  });
}
