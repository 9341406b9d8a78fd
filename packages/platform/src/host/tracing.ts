// First in the chain: a request id, a server span continuing the caller's (or Dapr's delivery)
// trace, the request-duration histogram and one access-log line per request.
import { randomUUID } from "node:crypto";
import type { Express } from "express";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Logger } from "../logger.ts";
import { httpDuration } from "../metrics.ts";
import { contextFrom, SpanKind } from "../telemetry.ts";

/** Sets `res.locals.requestId` and `res.locals.log` (the request's logger) for everything after it. */
export function registerRequestTracing(app: Express, log: Logger): void {
  app.use((req, res, next) => {
    const requestId = (req.headers["x-request-id"] as string | undefined)?.slice(0, 128) || randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = log.child({ request_id: requestId, traceparent: req.headers.traceparent });
    res.setHeader("x-request-id", requestId);
    const started = process.hrtime.bigint();
    // A server span per request, continuing the caller's (or Dapr's delivery) trace.
    const parent = contextFrom(
      req.headers.traceparent as string | undefined,
      req.headers.tracestate as string | undefined,
    );
    const span = trace
      .getTracer("orbit")
      .startSpan(
        req.method,
        { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "url.path": req.path } },
        parent,
      );
    res.on("finish", () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const routePath = (req.route as { path?: string } | undefined)?.path ?? "unmatched";
      span.updateName(`${req.method} ${routePath}`);
      span.setAttribute("http.route", routePath);
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      httpDuration.observe(
        { method: req.method, route: routePath, status_code: String(res.statusCode) },
        durationMs / 1000,
      );
      const quiet = req.path === "/healthz" || req.path === "/readyz" || req.path === "/metrics";
      (res.locals.log as Logger)[quiet ? "debug" : "info"]("request", {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        duration_ms: Math.round(durationMs * 100) / 100,
      });
    });
    // Bind the request and response emitters too: the body parser's stream callbacks would
    // otherwise run outside the span's context, and the handler's spans would start new traces.
    const spanContext = trace.setSpan(parent, span);
    context.bind(spanContext, req);
    context.bind(spanContext, res);
    context.with(spanContext, next);
  });
}
