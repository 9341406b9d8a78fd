// The web app's delivery routes (/dapr/subscribe, /events/task-updates) take requests from its own
// Dapr sidecar only: daprd sends the app API token as `dapr-api-token` (#platform/delivery-auth.ts
// says when), compared in constant time. Refusals and oversized bodies are RFC 9457 problems, as
// the functions answer them.
import { APP_TOKEN_HEADER, secretMatches } from "#platform/delivery-auth.ts";
import { problems, type Problem } from "#platform/problems.ts";
import { env } from "./env.server.ts";

/** Largest delivery body read: a task update is a few KiB; anything near this is not one. */
export const DELIVERY_BODY_LIMIT_BYTES = 1024 * 1024;

export function problemResponse(problem: Problem, request: Request): Response {
  return new Response(JSON.stringify({ ...problem.body, instance: new URL(request.url).pathname }), {
    status: problem.status,
    headers: { ...problem.headers, "content-type": "application/problem+json" },
  });
}

/** null when the request carries this app's token; otherwise the 401 to answer with. */
export function refuseUnlessSidecar(request: Request): Response | null {
  const token = env().APP_API_TOKEN;
  if (secretMatches(token, request.headers.get(APP_TOKEN_HEADER) ?? undefined)) return null;
  return problemResponse(
    problems.unauthorized(
      token
        ? "Deliveries need the Dapr app API token (`dapr-api-token`)."
        : "Deliveries are refused: APP_API_TOKEN is not configured.",
    ),
    request,
  );
}

/**
 * The body as text, reading no more than `limit` bytes: a declared Content-Length over it is
 * refused before reading, a chunked body as soon as it passes it.
 */
export async function readBodyCapped(
  request: Request,
  limit = DELIVERY_BODY_LIMIT_BYTES,
): Promise<{ ok: true; text: string } | { ok: false; response: Response }> {
  const tooLarge = () => {
    const response = problemResponse(problems.tooLarge(limit), request);
    // The connection cannot carry another request: the rest of this body is still on it.
    response.headers.set("connection", "close");
    return { ok: false as const, response };
  };
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) return tooLarge();
  if (!request.body) return { ok: true, text: "" };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Stop reading and answer. Cancelling the stream would destroy the socket before the 413
      // is written; unread, the rest is left to the server, which closes the connection.
      reader.releaseLock();
      return tooLarge();
    }
    chunks.push(value);
  }
  return { ok: true, text: Buffer.concat(chunks).toString("utf8") };
}
