// A stand-in for daprd's publish endpoint, for tests of publishers before a sidecar is involved.
// It records what a real sidecar would accept, and can refuse or go away to test failure paths.
import { createServer, type Server } from "node:http";
import { WAIT_MS } from "./wait.ts";

export interface RecordedPublish {
  pubsub: string;
  topic: string;
  query: Record<string, string>;
  contentType: string | undefined;
  traceparent: string | undefined;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  at: number;
}

export interface PublishRecorder {
  port: number;
  published: RecordedPublish[];
  /** Answer the next publishes with this status (204 = accept). */
  respondWith(status: number): void;
  /**
   * Answer publishes of the CloudEvents `match` picks with `status`, whatever respondWith says,
   * until the returned function is called.
   */
  refuseEvents(match: (event: any) => boolean, status: number): () => void; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Publishes answered with a refusal, by CloudEvent id. */
  readonly refusals: Map<string, number>;
  /** Hold each publish this long before answering (a slow sidecar or broker). */
  delayResponses(ms: number): void;
  /** Hold every publish (received, not yet recorded or answered) until the returned release is called. */
  hold(): () => void;
  /** Publishes received and not answered yet. */
  readonly inFlight: number;
  /** Resolves once at least `count` publishes are in flight at the same time. */
  waitForInFlight(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once at least `count` publishes were recorded. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedPublish[]>;
  close(): Promise<void>;
}

function parsed(body: string): { id?: unknown } | undefined {
  try {
    return JSON.parse(body) as { id?: unknown };
  } catch {
    return undefined;
  }
}

export async function startPublishRecorder(port = 0): Promise<PublishRecorder> {
  const published: RecordedPublish[] = [];
  let status = 204;
  const refused: { match: (event: unknown) => boolean; status: number }[] = [];
  const refusals = new Map<string, number>();
  let delayMs = 0;
  let gate: Promise<void> | null = null;
  let inFlight = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const inFlightWaiters: { count: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      inFlight += 1;
      for (const w of inFlightWaiters.filter((w) => inFlight >= w.count)) w.resolve();
      if (gate) await gate;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      inFlight -= 1;
      const url = new URL(req.url ?? "/", "http://x");
      const match = /^\/v1\.0\/publish\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (req.method === "GET" && url.pathname === "/v1.0/healthz/outbound") {
        res.writeHead(204).end();
        return;
      }
      if (req.method !== "POST" || !match) {
        res.writeHead(404).end();
        return;
      }
      const event = parsed(Buffer.concat(chunks).toString("utf8"));
      const id = String(event?.id);
      const answer = refused.find((r) => event !== undefined && r.match(event))?.status ?? status;
      if (answer !== 204) {
        refusals.set(id, (refusals.get(id) ?? 0) + 1);
        res
          .writeHead(answer, { "content-type": "application/json" })
          .end(JSON.stringify({ errorCode: "ERR_PUBSUB_PUBLISH_MESSAGE" }));
        return;
      }
      published.push({
        pubsub: decodeURIComponent(match[1]!),
        topic: decodeURIComponent(match[2]!),
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers["content-type"],
        traceparent: req.headers.traceparent as string | undefined,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        at: Date.now(),
      });
      res.writeHead(204).end();
      for (const w of waiters.filter((w) => published.length >= w.count)) w.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    published,
    respondWith: (s) => {
      status = s;
    },
    refuseEvents: (match, s) => {
      const rule = { match, status: s };
      refused.push(rule);
      return () => {
        if (refused.includes(rule)) refused.splice(refused.indexOf(rule), 1);
      };
    },
    refusals,
    delayResponses: (ms) => {
      delayMs = ms;
    },
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = null;
        release();
      };
    },
    get inFlight() {
      return inFlight;
    },
    waitForInFlight: (count, timeoutMs = WAIT_MS) =>
      new Promise((resolve, reject) => {
        if (inFlight >= count) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} publishes in flight, got ${inFlight}`)),
          timeoutMs,
        );
        inFlightWaiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    waitFor: (count, timeoutMs = WAIT_MS) =>
      new Promise((resolve, reject) => {
        if (published.length >= count) return resolve(published);
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} publishes, got ${published.length}`)),
          timeoutMs,
        );
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve(published)) });
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
