// A function's own routes: auth (a user's token or session, or the operator's admin token), the
// per-caller rate limit, validation of params, query and body against the route's schemas, and the
// handler's reply; anything thrown becomes a problem. Also the routes' generated API description.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Express, Request, Response } from "express";
import type { z } from "zod";
import { ACTOR_HEADER, authenticate, withActorHint, type Principal } from "../auth.ts";
import type { BaseEnv } from "../env.ts";
import type { AnyRouteDef, Context } from "../host.ts";
import type { Logger } from "../logger.ts";
import { openApiDocument } from "../openapi.ts";
import { fieldErrors, problems } from "../problems.ts";
import { takeRateLimitUnits } from "../rate-limit.ts";
import { sendProblem, toProblem } from "./errors.ts";

/** The function's OpenAPI description, generated once at start from its routes' schemas. */
export function serveOpenApi<E extends BaseEnv>(app: Express, name: string, routes: AnyRouteDef<E>[]): void {
  if (routes.length === 0) return;
  const openapi = JSON.stringify(openApiDocument(name, routes));
  app.get("/openapi.json", (_req, res) => {
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
 * nothing. One statement per request. With the database down the request fails anyway (503):
 * the caller was just authenticated against the same database.
 */
function callerRateLimit<E extends BaseEnv>(ctx: Context<E>) {
  const rule = { max: ctx.env.TOKEN_RATE_LIMIT_PER_MINUTE, windowMs: 60_000 };
  return (principal: Principal, cost: number) =>
    takeRateLimitUnits(ctx.db, `api:${ctx.name}:${principal.rateKey}`, rule, cost, new Date());
}

/** Registers the routes; returns each path's methods, for the 405 fallback. */
export function registerRoutes<E extends BaseEnv>(
  app: Express,
  routes: AnyRouteDef<E>[],
  ctx: Context<E>,
): Map<string, string[]> {
  const { db, env, now } = ctx;
  const takeUnits = callerRateLimit(ctx);
  const methodsByPath = new Map<string, string[]>();
  for (const r of routes) {
    methodsByPath.set(r.path, [...(methodsByPath.get(r.path) ?? []), r.method]);
    const register = app[r.method.toLowerCase() as "get" | "post" | "put" | "patch" | "delete"].bind(app);
    register(r.path, async (req: Request, res: Response) => {
      const reqLog = res.locals.log as Logger;
      try {
        let principal: Principal | null = null;
        if (r.auth === "admin") {
          authorizeAdmin(env.ADMIN_TOKEN, req.headers.authorization);
        } else if (r.auth !== "none") {
          principal = await authenticate(db, req.headers.authorization, now());
          if (!principal) throw problems.unauthorized();
          principal = withActorHint(principal, req.headers[ACTOR_HEADER]);
          if (r.auth === "write" && principal.scope !== "read_write")
            throw problems.forbidden("This API token is read-only; this request changes data.");
          const rated = "kind" in r ? r.rateLimit : undefined;
          const status = await takeUnits(principal, rated?.cost(req.body) ?? 1);
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
      } catch (error) {
        sendProblem(res, toProblem(error, reqLog), req.originalUrl);
      }
    });
  }
  return methodsByPath;
}
