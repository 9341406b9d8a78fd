// HTTP plumbing for the sidecar's API: Dapr's error shape, body reading, a tiny router, and the
// server in front of it.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "#platform/logger.ts";
import { AppCallError } from "./app-channel.ts";

/**
 * Whether a token a client sent equals the expected one, in time independent of where they differ
 * (daprd: subtle.ConstantTimeCompare, pkg/http/api_token.go). Both sides are hashed first so that
 * timingSafeEqual sees equal lengths and the expected token's length does not leak either.
 */
export function sameToken(given: string | string[] | undefined, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  const matches = timingSafeEqual(digest(typeof given === "string" ? given : ""), digest(expected));
  return matches && typeof given === "string";
}

/** Dapr's default `max-body-size` (4 MiB). */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * An API error in Dapr's shape: `{ errorCode, message }`, plus the google.rpc.ErrorInfo detail
 * that dapr/kit errors carry (`details[0].reason` equals the error code).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly withDetails = false,
  ) {
    super(message);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status = 204, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

export function sendError(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: Record<string, unknown> = { errorCode: error.errorCode, message: error.message };
  if (error.withDetails) {
    body.details = [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: error.errorCode,
        domain: "dapr.io",
        metadata: null,
      },
    ];
  }
  sendJson(res, error.status, body);
}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new ApiError(413, "ERR_BODY_TOO_LARGE", `the request body exceeds ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Parses a JSON body; a malformed one is Dapr's 400 ERR_MALFORMED_REQUEST. */
export function parseJsonBody(body: Buffer, errorCode = "ERR_MALFORMED_REQUEST"): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new ApiError(400, errorCode, `failed deserializing HTTP body: ${(error as Error).message}`);
  }
}

/** `metadata.<key>=<value>` query parameters, keys without the prefix. */
export function queryMetadata(url: URL): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key.startsWith("metadata.")) metadata[key.slice("metadata.".length)] = value;
  }
  return metadata;
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Named path parameters; a trailing `*rest` parameter keeps its slashes. */
  params: Record<string, string>;
}

type Handler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  methods: string[];
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  /** `path` like `/v1.0/state/:store/:key` or `/v1.0/publish/:pubsub/*topic`. */
  on(methods: string | string[], path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split("/")
      .map((segment) => {
        if (segment.startsWith(":")) {
          names.push(segment.slice(1));
          return "([^/]*)";
        }
        if (segment.startsWith("*")) {
          names.push(segment.slice(1));
          return "(.*)";
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    this.routes.push({
      methods: Array.isArray(methods) ? methods : [methods],
      pattern: new RegExp(`^${source}$`),
      names,
      handler,
    });
    return this;
  }

  /** Finds the handler; `null` when no path matches, `"method"` when only the method differs. */
  match(
    method: string,
    pathname: string,
  ): { handler: Handler; params: Record<string, string> } | null | "method" {
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(pathname);
      if (!match) continue;
      pathMatched = true;
      if (!route.methods.includes(method)) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        const raw = match[index + 1] ?? "";
        try {
          params[name] = decodeURIComponent(raw);
        } catch {
          params[name] = raw;
        }
      });
      return { handler: route.handler, params };
    }
    return pathMatched ? "method" : null;
  }
}

/**
 * The API server (not yet listening): the API token on every request but the health endpoints
 * (when one is set), then the router's route, or `fallback` for what no route takes. An ApiError
 * is answered in Dapr's shape, a failed call to an app as 500 ERR_DIRECT_INVOKE, anything else is
 * logged and answered 500 ERR_INTERNAL.
 */
export function createApiServer(options: {
  router: Router;
  apiToken: string | undefined;
  fallback: (request: Omit<RouteContext, "params">) => Promise<void>;
  log: Logger;
}): Server {
  const { router, apiToken, fallback, log } = options;
  return createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://sidecar");
      try {
        const isHealth = url.pathname === "/v1.0/healthz" || url.pathname === "/v1.0/healthz/outbound";
        if (apiToken && !isHealth && !sameToken(req.headers["dapr-api-token"], apiToken)) {
          throw new ApiError(401, "ERR_UNAUTHORIZED", "invalid api token");
        }
        const match = router.match(req.method ?? "GET", url.pathname);
        if (match === null || match === "method") await fallback({ req, res, url });
        else await match.handler({ req, res, url, params: match.params });
      } catch (error) {
        if (error instanceof ApiError) sendError(res, error);
        else if (error instanceof AppCallError)
          sendError(res, new ApiError(500, "ERR_DIRECT_INVOKE", error.message));
        else {
          log.error("request failed", { method: req.method, path: url.pathname, err: error });
          sendError(res, new ApiError(500, "ERR_INTERNAL", (error as Error).message ?? "internal error"));
        }
      }
    })();
  });
}
