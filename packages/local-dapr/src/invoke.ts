// Service invocation (https://docs.dapr.io/reference/api/service_invocation_api/). The target
// app-id is resolved through dapr_local.sidecars (live sidecars hold their advisory lock), and the
// request goes to one instance's app, chosen at random: method, path, query, headers (minus
// hop-by-hop ones, as Dapr ≥ 1.18 strips them) and body; the app's status and body come back.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import http from "node:http";
import type pg from "pg";
import { AppCallError, httpCall, type AppResponse } from "./app-channel.ts";
import { childSpan } from "./cloudevents.ts";
import { ApiError } from "./http-util.ts";
import { LOCK_NAMESPACE } from "./schema.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "trailers",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

export function forwardableHeaders(
  headers: IncomingHttpHeaders,
  extraDrop: string[] = [],
): OutgoingHttpHeaders {
  const drop = new Set([...HOP_BY_HOP, ...extraDrop]);
  const named = String(headers.connection ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const name of named) drop.add(name);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !drop.has(name)) out[name] = value;
  }
  return out;
}

/** Live instances of an app-id with a ready app channel: `host:port` of their apps. */
export async function liveInstances(pool: pg.Pool, appId: string): Promise<{ host: string; port: number }[]> {
  const { rows } = await pool.query<{ app_host: string; app_port: number }>(
    `SELECT s.app_host, s.app_port FROM dapr_local.sidecars s
     WHERE s.app_id = $1 AND s.app_port IS NOT NULL AND s.app_ready
       AND EXISTS (SELECT 1 FROM pg_locks l
                   WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $2 AND l.objsubid = 2
                     AND l.objid = s.instance_id
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
    [appId, LOCK_NAMESPACE],
  );
  return rows.map((r) => ({ host: r.app_host, port: r.app_port }));
}

export class Invoker {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

  constructor(
    private readonly pool: pg.Pool,
    private readonly callerAppId: string,
  ) {}

  async invoke(request: {
    target: string;
    method: string;
    /** Path and query on the target app, starting with "/". */
    path: string;
    headers: IncomingHttpHeaders;
    body: Buffer;
  }): Promise<AppResponse> {
    // `<app-id>.<namespace>`: there is one namespace locally.
    const appId = request.target.split(".")[0]!;
    const instances = await liveInstances(this.pool, appId);
    if (instances.length === 0) {
      throw new ApiError(
        500,
        "ERR_DIRECT_INVOKE",
        `fail to invoke, id: ${request.target}, err: no live instance of app ${appId}`,
      );
    }
    const headers = forwardableHeaders(request.headers, ["dapr-api-token", "dapr-app-id"]);
    headers["dapr-caller-app-id"] = this.callerAppId;
    headers["dapr-callee-app-id"] = appId;
    headers.traceparent = childSpan(request.headers.traceparent);
    // Try instances in random order; move on only when one refuses the connection (a stale entry).
    const order = instances.sort(() => Math.random() - 0.5);
    let lastError: unknown;
    for (const instance of order) {
      try {
        return await httpCall(
          { ...instance, agent: this.agent },
          {
            method: request.method,
            path: request.path,
            headers,
            body: request.body.length > 0 ? request.body : undefined,
          },
        );
      } catch (error) {
        lastError = error;
        if (!(error instanceof AppCallError) || error.code !== "ECONNREFUSED") break;
      }
    }
    throw new ApiError(
      500,
      "ERR_DIRECT_INVOKE",
      `fail to invoke, id: ${request.target}, err: ${(lastError as Error).message}`,
    );
  }

  close(): void {
    this.agent.destroy();
  }
}
