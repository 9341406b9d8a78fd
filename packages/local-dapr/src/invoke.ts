// Service invocation (https://docs.dapr.io/reference/api/service_invocation_api/). The target
// app-id is resolved through dapr_local.sidecars (live sidecars hold their advisory lock), and the
// request goes to one instance's app, chosen at random, as daprd 1.18.2 passes it on
// (pkg/api/http/directmessaging.go, pkg/messaging/direct_messaging.go,
// pkg/channel/http/http_channel.go constructRequest, pkg/messaging/v1 InternalMetadataToHTTPHeader):
// the method path cleaned, the query as it came, the caller's headers but hop-by-hop ones (the
// caller's `dapr-api-token` too, unless the target has an app API token, which replaces it), the
// caller/callee app-ids, namespace and X-Forwarded-*/Forwarded headers added to whatever the
// caller sent, and the body; the app's status, headers (hop-by-hop ones dropped) and body come back.
import dgram from "node:dgram";
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import http from "node:http";
import os from "node:os";
import type pg from "pg";
import { AppCallError, httpStream, type StreamedAppResponse } from "./app-channel.ts";
import { childSpan, parseTraceparent } from "./cloudevents.ts";
import { ApiError, readBody, type RouteContext, type Router } from "./http-util.ts";
import { LOCK_NAMESPACE } from "./schema.ts";

/** invokev1.IsHopByHopHeader (RFC 7230 §6.1), plus what the Connection header names. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "te",
  "trailer",
  "proxy-authorization",
  "proxy-authenticate",
]);

/**
 * The headers daprd passes on between a caller and an app, either way (InternalMetadataToHTTPHeader):
 * none that is hop-by-hop or named by Connection, no gRPC binary (`*-bin`) one, no
 * destination-app-id, `grpc-*` as `dapr-grpc-*`, and only the first baggage. Host, Content-Length,
 * Content-Type and the trace context are set by whoever sends the message on.
 */
export function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const drop = new Set([
    ...HOP_BY_HOP,
    "host",
    "content-length",
    "destination-app-id",
    "traceparent",
    "tracestate",
  ]);
  for (const value of [headers.connection ?? []].flat()) {
    for (const name of value.split(",")) if (name.trim()) drop.add(name.trim().toLowerCase());
  }
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || drop.has(name) || name.endsWith("-bin")) continue;
    if (name === "baggage") out[name] = [value].flat()[0]!;
    else out[name.startsWith("grpc-") ? `dapr-${name}` : name] = value;
  }
  return out;
}

/** Adds `value` after whatever the header already holds (daprd's metadata keeps both). */
function append(headers: OutgoingHttpHeaders, name: string, value: string): void {
  const current = headers[name];
  headers[name] = current === undefined ? value : [...[current].flat().map(String), value];
}

const PATH_SAFE = /^[A-Za-z0-9\-_.~$&+,/:;=@!'()*[\]]*$/;

/**
 * The path daprd asks the app for: the method unescaped (Go's r.URL.Path), cleaned as Go's
 * path.Clean cleans a rooted path ("//", "." and ".." resolved, no trailing slash), then escaped
 * again as net/url does (a path of safe characters only is kept as it is, any other is escaped
 * whole: only letters, digits and -_.~$&+,/:;=@ stay).
 */
export function appPath(method: string): string {
  let decoded = method;
  try {
    decoded = decodeURIComponent(method);
  } catch {
    // Not valid percent-encoding: daprd's HTTP server would have refused the request already.
  }
  const segments: string[] = [];
  for (const segment of decoded.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const cleaned = `/${segments.join("/")}`;
  if (PATH_SAFE.test(cleaned)) return cleaned;
  return cleaned.replace(/[^A-Za-z0-9\-_.~$&+,/:;=@]/gu, (c) =>
    [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );
}

function udpSourceAddress(family: "udp4" | "udp6", host: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(family);
    const done = (address: string | null) => {
      socket.removeAllListeners();
      socket.on("error", () => {});
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(address);
    };
    socket.on("error", () => done(null));
    socket.connect(80, host, () => {
      try {
        done(socket.address().address);
      } catch {
        done(null);
      }
    });
  });
}

/** Lower is better, -1 never (utils/host.go addrPriority). */
function addressPriority(address: string, family: string): number {
  if (family === "IPv4") {
    const [a = 0, b = 0] = address.split(".").map(Number);
    if (a === 169 && b === 254) return 99;
    if (a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168)) return 2;
    if (a === 100 && b >= 64 && b < 128) return 2;
    return 0;
  }
  const first = parseInt(address.split(":")[0] || "0", 16);
  if ((first & 0xffc0) === 0xfe80) return 99;
  if ((first & 0xfe00) === 0xfc00) return 3;
  if ((first & 0xff00) === 0xff00 || address === "::") return -1;
  return 1;
}

const inClatSubnet = (address: string) => /^192\.0\.0\.[0-7]$/.test(address);

/**
 * utils.GetHostAddress: DAPR_HOST_IP, else the source address the kernel picks to reach the
 * documentation addresses 192.0.2.1 / 2001:db8::1 (no packet is sent), else the best interface
 * address (public IPv4, IPv6 global, private IPv4, IPv6 ULA, link-local). null when there is none.
 */
export async function hostAddress(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (env.DAPR_HOST_IP) return env.DAPR_HOST_IP;
  for (const [family, host] of [
    ["udp4", "192.0.2.1"],
    ["udp6", "2001:db8::1"],
  ] as const) {
    const address = await udpSourceAddress(family, host);
    if (address && !inClatSubnet(address)) return address;
  }
  let best: { address: string; priority: number } | null = null;
  for (const entry of Object.values(os.networkInterfaces()).flat()) {
    if (!entry || entry.internal || inClatSubnet(entry.address)) continue;
    const priority = addressPriority(entry.address, entry.family);
    if (priority >= 0 && (!best || priority < best.priority)) best = { address: entry.address, priority };
  }
  return best?.address ?? null;
}

/** Live instances of an app-id with a ready app channel: `host:port` of their apps and their app tokens. */
export async function liveInstances(
  pool: pg.Pool,
  appId: string,
): Promise<{ host: string; port: number; appApiToken: string | null }[]> {
  const { rows } = await pool.query<{ app_host: string; app_port: number; app_api_token: string | null }>(
    `SELECT s.app_host, s.app_port, s.app_api_token FROM dapr_local.sidecars s
     WHERE s.app_id = $1 AND s.app_port IS NOT NULL AND s.app_ready
       AND EXISTS (SELECT 1 FROM pg_locks l
                   WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $2 AND l.objsubid = 2
                     AND l.objid = s.instance_id
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
    [appId, LOCK_NAMESPACE],
  );
  return rows.map((r) => ({ host: r.app_host, port: r.app_port, appApiToken: r.app_api_token }));
}

export class Invoker {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  private forwarded: Promise<{ address: string | null; hostname: string }> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly callerAppId: string,
  ) {}

  /** What daprd's direct messaging puts in X-Forwarded-For / X-Forwarded-Host / Forwarded. */
  private forwardedBy(): Promise<{ address: string | null; hostname: string }> {
    this.forwarded ??= hostAddress().then((address) => ({ address, hostname: os.hostname() }));
    return this.forwarded;
  }

  async invoke(request: {
    target: string;
    method: string;
    /** Path and query on the target app, starting with "/". */
    path: string;
    headers: IncomingHttpHeaders;
    body: Buffer;
  }): Promise<StreamedAppResponse> {
    // `<app-id>.<namespace>`: there is one namespace locally.
    const appId = request.target.split(".")[0]!;
    const instances = await liveInstances(this.pool, appId);
    if (instances.length === 0) {
      throw new ApiError(
        500,
        "ERR_DIRECT_INVOKE",
        `failed to invoke, id: ${request.target}, err: no live instance of app ${appId}`,
      );
    }
    const query = request.path.indexOf("?");
    const path =
      query < 0
        ? appPath(request.path)
        : `${appPath(request.path.slice(0, query))}${request.path.slice(query)}`;
    const headers = forwardableHeaders(request.headers);
    delete headers["dapr-app-id"];
    append(headers, "dapr-caller-namespace", process.env.NAMESPACE || "default");
    append(headers, "dapr-caller-app-id", this.callerAppId);
    append(headers, "dapr-callee-app-id", appId);
    const { address, hostname } = await this.forwardedBy();
    const forwardedFor = address?.includes(":") ? `"[${address}]"` : address;
    if (address) append(headers, "x-forwarded-for", address);
    if (hostname) append(headers, "x-forwarded-host", hostname);
    append(
      headers,
      "forwarded",
      [forwardedFor ? `for=${forwardedFor};by=${forwardedFor}` : "", hostname ? `host=${hostname}` : ""]
        .filter(Boolean)
        .join(";"),
    );
    headers.traceparent = childSpan(request.headers.traceparent);
    if (parseTraceparent(request.headers.traceparent) && typeof request.headers.tracestate === "string") {
      headers.tracestate = request.headers.tracestate;
    }
    // Try instances in random order; move on only when one refuses the connection (a stale entry).
    const order = instances.sort(() => Math.random() - 0.5);
    let lastError: unknown;
    for (const instance of order) {
      try {
        const response = await httpStream(
          { ...instance, agent: this.agent },
          {
            method: request.method,
            path,
            // The target's app API token replaces whatever dapr-api-token the caller sent.
            headers: instance.appApiToken ? { ...headers, "dapr-api-token": instance.appApiToken } : headers,
            body: request.body.length > 0 ? request.body : undefined,
          },
        );
        const answer = forwardableHeaders(response.headers) as IncomingHttpHeaders;
        if (response.headers["content-length"] !== undefined)
          answer["content-length"] = response.headers["content-length"];
        answer.traceparent = [response.headers.traceparent ?? headers.traceparent].flat()[0]!;
        return { ...response, headers: answer };
      } catch (error) {
        lastError = error;
        if (!(error instanceof AppCallError) || error.code !== "ECONNREFUSED") break;
      }
    }
    throw new ApiError(
      500,
      "ERR_DIRECT_INVOKE",
      `failed to invoke, id: ${request.target}, err: ${(lastError as Error).message}`,
    );
  }

  close(): void {
    this.agent.destroy();
  }
}

async function invokeAndAnswer(
  invoker: Invoker,
  req: IncomingMessage,
  res: ServerResponse,
  target: string,
  path: string,
): Promise<void> {
  const response = await invoker.invoke({
    target,
    method: req.method ?? "GET",
    path,
    headers: req.headers,
    body: await readBody(req),
  });
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (
      value !== undefined &&
      !["connection", "keep-alive", "transfer-encoding", "content-length"].includes(name)
    ) {
      headers[name] = value;
    }
  }
  // The body is passed on as it arrives (a stream of events included); its length, when the app
  // gave one, stays the same.
  const length = response.headers["content-length"];
  if (length !== undefined) headers["content-length"] = length;
  res.writeHead(response.status, headers);
  res.flushHeaders();
  await new Promise<void>((resolve) => {
    response.body.on("data", (chunk: Buffer) => res.write(chunk));
    response.body.on("end", () => res.end(resolve));
    response.body.on("error", () => {
      res.destroy();
      resolve();
    });
    // The caller went away: stop reading the app's answer.
    res.on("close", () => {
      if (!response.body.complete) response.body.destroy();
      resolve();
    });
  });
}

/**
 * `/v1.0/invoke/{app-id}/method/{method}` for every method; returns the fallback for requests no
 * route takes (unknown path or method), which daprd hands to service invocation too
 * (pkg/api/http/directmessaging.go `onDirectMessage`): the dapr-app-id header names the target
 * app, else it is 404 ERR_DIRECT_INVOKE.
 */
export function registerInvokeRoutes(
  router: Router,
  invoker: Invoker,
): (request: Omit<RouteContext, "params">) => Promise<void> {
  router.on(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    "/v1.0/invoke/:target/method/*path",
    ({ req, res, url, params }) => {
      // A dapr-app-id header wins over the path, which is then the method as a whole
      // (pkg/api/http/directmessaging.go findTargetIDAndMethod).
      const headerTarget = req.headers["dapr-app-id"];
      return typeof headerTarget === "string" && headerTarget
        ? invokeAndAnswer(invoker, req, res, headerTarget, `${url.pathname}${url.search}`)
        : invokeAndAnswer(
            invoker,
            req,
            res,
            params.target!,
            `/${url.pathname.split("/method/").slice(1).join("/method/")}${url.search}`,
          );
    },
  );
  return async ({ req, res, url }) => {
    const headerTarget = req.headers["dapr-app-id"];
    if (typeof headerTarget === "string" && headerTarget) {
      await invokeAndAnswer(invoker, req, res, headerTarget, `${url.pathname}${url.search}`);
      return;
    }
    throw new ApiError(
      404,
      "ERR_DIRECT_INVOKE",
      "failed getting app id either from the URL path or the header dapr-app-id",
    );
  };
}
