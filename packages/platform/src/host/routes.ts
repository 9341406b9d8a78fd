// A function's own routes: auth (a user's token or session, or the operator's admin token), the
// per-caller rate limit, validation of params, query and body against the route's schemas, and the
// handler's reply; anything thrown becomes a problem. Also the routes' generated API description.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Express, Request, Response } from "express";
import type { z } from "zod";
import { ACTOR_HEADER, AGENT_ACTOR, withActorHint, type Principal } from "../auth.ts";
import { CallerGate } from "../caller-gate.ts";
import type { BaseEnv } from "../env.ts";
import type { AnyRouteDef, Context } from "../host.ts";
import type { Logger } from "../logger.ts";
import { openApiDocument } from "../openapi.ts";
import { fieldErrors, problems } from "../problems.ts";
import { Admission } from "./admission.ts";
import { sendProblem, toProblem } from "./errors.ts";

/**
 * The function's OpenAPI description, generated from its routes' schemas on the first request for
 * it and kept: not at start, where it cost every cold start tens of ms (JSON Schema conversion, the
 * ICU collator's first use) that no other request needs.
 */
export function serveOpenApi<E extends BaseEnv>(app: Express, name: string, routes: AnyRouteDef<E>[]): void {
  if (routes.length === 0) return;
  let openapi: string | undefined;
  app.get("/openapi.json", (_req, res) => {
    openapi ??= JSON.stringify(openApiDocument(name, routes));
    res.type("application/json").send(openapi);
  });
}

/** Operator routes: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
function authorizeAdmin(adminToken: string | undefined, authorization: string | undefined): void {
  if (!adminToken) throw problems.forbidden("Operator routes are disabled: ADMIN_TOKEN is not configured.");
  const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (!given) throw problems.unauthorized("Operator routes need `Authorization: Bearer <admin token>`.");
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(adminToken).digest();
  if (!timingSafeEqual(a, b)) throw problems.unauthorized("The admin token is not valid.");
}

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, location: string): T {
  if (!schema) return value as T;
  const result = schema.safeParse(value);
  if (!result.success) throw problems.validation(fieldErrors(location, result.error.issues));
  return result.data;
}

/**
 * TOKEN_RATE_LIMIT_PER_MINUTE per caller (token or session) and function, counted in the shared
 * rate_limits table, so every instance of the function sees one count and a cold start resets
 * nothing. The token's lookup and the take are one statement, shared by a token's concurrent
 * requests (caller-gate.ts). With the database down the request fails anyway (503).
 */
function callerGate<E extends BaseEnv>(ctx: Context<E>): CallerGate {
  const rule = { max: ctx.env.TOKEN_RATE_LIMIT_PER_MINUTE, windowMs: 60_000 };
  return new CallerGate(ctx.db, `api:${ctx.name}:`, rule, ctx.now);
}

/** Registers the routes; returns each path's methods, for the 405 fallback. */
export function registerRoutes<E extends BaseEnv>(
  app: Express,
  routes: AnyRouteDef<E>[],
  ctx: Context<E>,
): Map<string, string[]> {
  const { env } = ctx;
  const gate = callerGate(ctx);
  // The routes' requests share the pool's connections: beyond them, a bounded wait (admission.ts).
  const admission = new Admission({
    slots: env.DB_POOL_SIZE,
    maxQueue: env.DB_QUEUE_LIMIT,
    maxWaitMs: env.DB_QUEUE_TIMEOUT_MS,
  });
  const methodsByPath = new Map<string, string[]>();
  for (const r of routes) {
    methodsByPath.set(r.path, [...(methodsByPath.get(r.path) ?? []), r.method]);
    const register = app[r.method.toLowerCase() as "get" | "post" | "put" | "patch" | "delete"].bind(app);
    const handle = async (req: Request, res: Response, reqLog: Logger): Promise<void> => {
      let principal: Principal | null = null;
      if (r.auth === "admin") {
        authorizeAdmin(env.ADMIN_TOKEN, req.headers.authorization);
      } else if (r.auth !== "none") {
        const hint = req.headers[ACTOR_HEADER];
        const rated = "kind" in r ? r.rateLimit : undefined;
        // A request refused for its X-Orbit-Actor header (below, once authenticated) takes nothing.
        const cost = hint === undefined || hint === AGENT_ACTOR ? (rated?.cost(req.body) ?? 1) : 0;
        const admitted = await gate.admit(req.headers.authorization, r.auth === "write", cost);
        if (!admitted) throw problems.unauthorized();
        principal = withActorHint(admitted.principal, hint);
        const { status } = admitted;
        if (status.limited && rated?.refuse) return rated.refuse(res, status.retryAfterSeconds);
        if (status.limited) throw problems.rateLimited(status.retryAfterSeconds);
      }
      if ("kind" in r) {
        await r.handle({ req, res, principal }, { ...ctx, log: reqLog });
        return;
      }
      const params = validate(r.params, req.params, "params");
      const query = validate(r.query, req.query ?? {}, "query");
      let rawBody: unknown = req.body;
      if (r.body && rawBody === undefined) rawBody = {};
      if (r.body && (rawBody === null || typeof rawBody !== "object" || Array.isArray(rawBody)))
        throw problems.validation([{ pointer: "/body", field: "body", detail: "must be a JSON object" }]);
      const body = validate(r.body, rawBody, "body");
      const reply = await r.handle(
        {
          body,
          query,
          params,
          principal,
          headers: req.headers,
          requestId: res.locals.requestId as string,
          traceparent: req.headers.traceparent as string | undefined,
        },
        { ...ctx, log: reqLog },
      );
      for (const [key, value] of Object.entries(reply.headers ?? {})) res.setHeader(key, value);
      res.status(reply.status ?? 200);
      if (reply.body === undefined) res.end();
      else res.json(reply.body);
    };
    register(r.path, async (req: Request, res: Response) => {
      const reqLog = res.locals.log as Logger;
      try {
        // A raw route may hold its response open (a protocol's stream): it does not take a slot.
        if ("kind" in r) await handle(req, res, reqLog);
        else await admission.run(() => handle(req, res, reqLog));
      } catch (error) {
        sendProblem(res, toProblem(error, reqLog), req.originalUrl);
      }
    });
  }
  return methodsByPath;
}
