// The assistant (functions/assistant, docs/assistant.md), reached like the command functions
// through this app's own Dapr sidecar with service invocation, as the signed-in user (their session
// credential). The web app adds nothing to its answers: a chat reply's Server-Sent Events are passed
// through chunk by chunk as they arrive, its JSON and problems as they are. What the web app owns is
// the one failure the assistant cannot describe itself: being out of reach.
import { DaprClient, SidecarUnavailableError } from "#platform/dapr-client.ts";
import { ProblemType, type ProblemBody } from "#platform/problems.ts";
import type { CurrentUser } from "./session.server.ts";
import { env } from "./env.server.ts";

const APP_ID = "assistant";

/** How long the assistant may take to start answering (a scaled-to-zero function boots first). */
const FIRST_BYTE_TIMEOUT_MS = 60_000;
/** A reply that streams for longer than this is cut off (a stuck provider must not hold a socket). */
const TURN_TIMEOUT_MS = 5 * 60_000;

let client: DaprClient | null = null;

function dapr(): DaprClient {
  client ??= new DaprClient({
    host: env().DAPR_HOST,
    port: env().DAPR_HTTP_PORT,
    apiToken: env().DAPR_API_TOKEN,
    timeoutMs: 15_000,
  });
  return client;
}

export function problemResponse(body: ProblemBody, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store", ...headers },
  });
}

export const UNAVAILABLE_DETAIL =
  "Orbit cannot reach its assistant right now. What you typed is kept: try again in a moment.";

function unavailable(): Response {
  return problemResponse({
    type: ProblemType.unavailable,
    title: "The assistant is unavailable",
    status: 503,
    detail: UNAVAILABLE_DETAIL,
  });
}

/**
 * The assistant's answer as this app's response: a problem+json of the assistant's passes through
 * with its status; the sidecar's own error (daprd's ERR_DIRECT_INVOKE: no live instance, the call
 * failed) and a sidecar that does not answer become the 503 above.
 */
async function passThrough(response: Response): Promise<Response> {
  if (response.ok && response.status !== 204 && response.body) {
    const headers = new Headers({ "Cache-Control": "no-store" });
    const type = response.headers.get("content-type");
    if (type) headers.set("Content-Type", type);
    return new Response(response.body, { status: response.status, headers });
  }
  const text = await response.text().catch(() => "");
  if (response.ok) return new Response(null, { status: response.status });
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: neither the assistant's problem nor the sidecar's error
  }
  if (!parsed || typeof parsed !== "object" || "errorCode" in parsed) return unavailable();
  return problemResponse(parsed as ProblemBody);
}

function credential(user: CurrentUser): Record<string, string> {
  return { authorization: `Session ${user.secret}` };
}

/**
 * POST /v1/chat, its event stream piped to the browser as it comes: no buffering here, and the
 * browser's disconnect (`clientSignal`) ends the call upstream, so the assistant stops writing.
 */
export async function chat(
  user: CurrentUser,
  body: { conversationId?: unknown; message: unknown },
  clientSignal: AbortSignal,
): Promise<Response> {
  const firstByte = new AbortController();
  const timer = setTimeout(() => firstByte.abort(new Error("no answer in time")), FIRST_BYTE_TIMEOUT_MS);
  const signal = AbortSignal.any([clientSignal, firstByte.signal, AbortSignal.timeout(TURN_TIMEOUT_MS)]);
  let response: Response;
  try {
    response = await dapr().invoke(APP_ID, "POST", "v1/chat", {
      body,
      headers: { ...credential(user), accept: "text/event-stream" },
      signal,
    });
  } catch (error) {
    if (error instanceof SidecarUnavailableError) return unavailable();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (
    !response.ok ||
    !response.body ||
    !/^text\/event-stream\b/.test(response.headers.get("content-type") ?? "")
  )
    return passThrough(response);
  const upstream = response.body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await upstream.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch {
        // The connection to the assistant broke mid-reply: end the stream; the panel says the reply
        // was cut off (it saw no `done`).
        controller.close();
      }
    },
    cancel(reason) {
      void upstream.cancel(reason).catch(() => {});
    },
  });
  return new Response(stream, {
    status: 200,
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      // no-transform: the server's compression middleware leaves the stream alone (it would hold
      // small frames back until its buffer fills); X-Accel-Buffering: the same for nginx.
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}

async function call(user: CurrentUser, method: "GET" | "DELETE", path: string): Promise<Response> {
  try {
    return await passThrough(await dapr().invoke(APP_ID, method, path, { headers: credential(user) }));
  } catch (error) {
    if (error instanceof SidecarUnavailableError) return unavailable();
    throw error;
  }
}

export const conversations = {
  list: (user: CurrentUser) => call(user, "GET", "v1/conversations"),
  get: (user: CurrentUser, id: string) => call(user, "GET", `v1/conversations/${encodeURIComponent(id)}`),
  delete: (user: CurrentUser, id: string) =>
    call(user, "DELETE", `v1/conversations/${encodeURIComponent(id)}`),
};
