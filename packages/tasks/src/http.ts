// Glue between the function host and the task commands: one place that turns an authenticated
// request into a CommandContext, and a task into an HTTP reply.
import type { TaskDto } from "#core/tasks.ts";
import type { Principal } from "#platform/auth.ts";
import type { Context } from "#platform/host.ts";
import { problems } from "#platform/problems.ts";
import { currentTraceparent } from "#platform/telemetry.ts";
import type { CommandContext } from "./commands.ts";

export function commandContext(
  principal: Principal | null,
  ctx: Context,
  request: { traceparent: string | undefined },
): CommandContext {
  if (!principal) throw problems.unauthorized();
  return {
    db: ctx.db,
    pubsub: ctx.env.PUBSUB_NAME,
    source: ctx.name,
    actor: principal.actor,
    userId: principal.userId,
    userTimeZone: principal.timeZone,
    defaultReminderMinutes: principal.defaultReminderMinutes,
    now: ctx.now(),
    // The request's server span (when tracing runs), so the events continue this trace.
    traceparent: currentTraceparent() ?? request.traceparent,
  };
}

/** The task as a response body, with its version as a strong ETag for If-Match. */
export function taskReply(task: TaskDto, status = 200) {
  return { status, body: task, headers: { ETag: `"${task.version}"` } };
}

/** Version from `If-Match: "3"` (or W/"3"), when the body does not name one. */
export function versionFromHeaders(
  headers: Record<string, string | string[] | undefined>,
): number | undefined {
  const value = headers["if-match"];
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw || raw === "*") return undefined;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(raw.trim());
  if (!match) {
    throw problems.validation([
      { pointer: "/headers/if-match", field: "If-Match", detail: 'must be a task version, e.g. "3"' },
    ]);
  }
  return Number(match[1]);
}
