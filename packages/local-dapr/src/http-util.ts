// HTTP plumbing for the sidecar's API: Dapr's error shape, body reading, a tiny router.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

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
