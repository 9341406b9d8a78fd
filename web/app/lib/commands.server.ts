// Writes go through the command functions (the same ones the public API serves), reached through
// this app's own Dapr sidecar with service invocation, on the signed-in user's behalf.
import { DaprClient } from "#platform/dapr-client.ts";
import type { FieldError, ProblemBody } from "#platform/problems.ts";
import type { CurrentUser } from "./session.server.ts";
import { env } from "./env.server.ts";

let client: DaprClient | null = null;

function dapr(): DaprClient {
  client ??= new DaprClient({
    host: env().DAPR_HOST,
    port: env().DAPR_HTTP_PORT,
    apiToken: env().DAPR_API_TOKEN,
    timeoutMs: 10_000,
  });
  return client;
}

export type CommandResult<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; message: string; fieldErrors: Record<string, string> };

/** Calls `appId` as the user; a problem+json answer becomes a message and per-field errors. */
export async function command<T = unknown>(
  user: CurrentUser,
  appId: string,
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<CommandResult<T>> {
  let response: Response;
  try {
    response = await dapr().invoke(appId, method, path, {
      body,
      headers: { authorization: `Session ${user.secret}` },
    });
  } catch {
    return {
      ok: false,
      status: 503,
      message: "Orbit cannot reach its task service right now. Try again in a moment.",
      fieldErrors: {},
    };
  }
  const text = await response.text();
  const parsed: unknown = text ? safeJson(text) : null;
  if (response.ok) return { ok: true, status: response.status, body: parsed as T };
  const problem = (parsed ?? {}) as Partial<ProblemBody>;
  const fieldErrors: Record<string, string> = {};
  for (const error of (problem.errors ?? []) as FieldError[]) {
    const field = error.field.split(".")[0] || "form";
    fieldErrors[field] ??= error.detail;
  }
  const message =
    response.status === 409
      ? "Someone changed this task meanwhile. Reload to see the latest version."
      : response.status === 404
        ? "This task no longer exists."
        : (problem.detail ?? problem.title ?? `The request failed (HTTP ${response.status}).`);
  return { ok: false, status: response.status, message, fieldErrors };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
