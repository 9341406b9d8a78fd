// The sidecar → app HTTP channel (daprd's app channel): keep-alive connections, an optional
// per-call timeout (daprd has none unless a resiliency timeout applies), and the app API token.
import http from "node:http";
import net from "node:net";

export interface AppResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class AppCallError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  method: string;
  path: string;
  headers?: http.OutgoingHttpHeaders;
  body?: Buffer;
  timeoutMs?: number | null;
}

/** Opens one request: `onHead` gets the response as soon as its head arrives. */
function open(
  target: { host: string; port: number; agent?: http.Agent },
  options: CallOptions,
  onHead: (res: http.IncomingMessage) => void,
  reject: (error: AppCallError) => void,
): http.ClientRequest {
  const headers: http.OutgoingHttpHeaders = { ...options.headers };
  if (options.body) headers["content-length"] = options.body.length;
  const req = http.request(
    {
      host: target.host,
      port: target.port,
      method: options.method,
      path: options.path,
      headers,
      agent: target.agent,
    },
    onHead,
  );
  req.on("error", (error: Error & { code?: string }) => {
    reject(
      error instanceof AppCallError ? error : new AppCallError(error.message, error.code ?? "ECONNECTION"),
    );
  });
  return req;
}

/** Sends one HTTP request; rejects with AppCallError on connection errors and timeouts. */
export function httpCall(
  target: { host: string; port: number; agent?: http.Agent },
  options: CallOptions,
): Promise<AppResponse> {
  return new Promise((resolve, reject) => {
    const req = open(
      target,
      options,
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", (error) => reject(new AppCallError(error.message, "ERESPONSE")));
      },
      reject,
    );
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs) {
      timer = setTimeout(() => {
        req.destroy(new AppCallError(`no answer within ${options.timeoutMs} ms`, "ETIMEDOUT"));
      }, options.timeoutMs);
    }
    req.on("close", () => clearTimeout(timer));
    req.end(options.body);
  });
}

/** An app's answer whose body is still arriving (service invocation passes it on as it comes). */
export interface StreamedAppResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/**
 * Sends one HTTP request and resolves as soon as the response's head arrives, with its body as a
 * stream: daprd's HTTP service invocation streams both ways (dapr pkg/messaging/v1
 * invoke_method_response.go, `WithRawData(io.Reader)`; pkg/api/http/directmessaging.go copies the
 * reader to the caller), so a Server-Sent Events reply reaches the caller event by event.
 */
export function httpStream(
  target: { host: string; port: number; agent?: http.Agent },
  options: CallOptions,
): Promise<StreamedAppResponse> {
  return new Promise((resolve, reject) => {
    open(
      target,
      options,
      (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      reject,
    ).end(options.body);
  });
}

export class AppChannel {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly appToken: string | undefined,
  ) {}

  call(options: CallOptions): Promise<AppResponse> {
    const headers = { ...options.headers };
    if (this.appToken) headers["dapr-api-token"] = this.appToken;
    return httpCall({ host: this.host, port: this.port, agent: this.agent }, { ...options, headers });
  }

  /**
   * daprd's HTTP app health probe (pkg/channel/http/http_channel.go HealthProbe): `GET <path>`
   * without the app API token; any 2xx is healthy, any other status or a network error (a timeout
   * included) is not.
   */
  async probeHttp(path: string, timeoutMs: number): Promise<boolean> {
    try {
      const response = await httpCall(
        { host: this.host, port: this.port, agent: this.agent },
        { method: "GET", path, timeoutMs },
      );
      return response.status >= 200 && response.status <= 299;
    } catch {
      return false;
    }
  }

  /** True when the app port accepts a TCP connection (what daprd waits for before subscribing). */
  probe(timeoutMs = 1_000): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: this.host, port: this.port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(timeoutMs, () => done(false));
      socket.once("connect", () => done(true));
      socket.once("error", () => done(false));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
