// Writes go through the command functions (the same ones the public API serves), reached through
// this app's own Dapr sidecar with service invocation, on the signed-in user's behalf: the typed
// client of #tasks/client.ts, its failures rendered here for a form.
import {
  createTaskCommands,
  type CommandCaller,
  type CommandFailure,
  type CommandReply,
  type ReminderActionRequest,
  type TaskCommands,
} from "#tasks/client.ts";
import { DaprClient } from "#platform/dapr-client.ts";
import type { FieldError } from "#platform/problems.ts";
import type { CurrentUser } from "./session.server.ts";
import { env } from "./env.server.ts";

let client: TaskCommands | null = null;

function commands(): TaskCommands {
  client ??= createTaskCommands(
    new DaprClient({
      host: env().DAPR_HOST,
      port: env().DAPR_HTTP_PORT,
      apiToken: env().DAPR_API_TOKEN,
      timeoutMs: 10_000,
    }),
  );
  return client;
}

export type CommandResult<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; message: string; fieldErrors: Record<string, string> };

/** The client's commands with `caller` bound: what a route calls. */
type CommandsAsUser = {
  [K in keyof TaskCommands]: TaskCommands[K] extends (
    caller: CommandCaller,
    ...args: infer A
  ) => Promise<CommandReply<infer T>>
    ? (...args: A) => Promise<CommandResult<T>>
    : never;
};

/** The command functions as `user` (their session credential), each answer ready for a form. */
export function commandsAs(user: CurrentUser): CommandsAsUser {
  const caller: CommandCaller = { authorization: `Session ${user.secret}` };
  const bound: Record<string, (...args: unknown[]) => Promise<CommandResult<unknown>>> = {};
  for (const [name, command] of Object.entries(commands())) {
    const call = command as (caller: CommandCaller, ...args: unknown[]) => Promise<CommandReply<unknown>>;
    bound[name] = async (...args) => forForm(await call(caller, ...args));
  }
  return bound as CommandsAsUser;
}

function forForm<T>(reply: CommandReply<T>): CommandResult<T> {
  if (reply.ok) return { ok: true, status: reply.status, body: reply.value };
  return { ok: false, ...failureForForm(reply.failure) };
}

/** A failure as a form shows it: one message, and per-field errors keyed by the top-level field. */
function failureForForm(failure: CommandFailure): {
  status: number;
  message: string;
  fieldErrors: Record<string, string>;
} {
  // Our own sidecar did not answer, or it answered for a function it could not reach (daprd's
  // 500 ERR_DIRECT_INVOKE, the local sidecar's the same): either way the service is unavailable
  // for now, never "HTTP 500" on the user's screen. The form keeps what they typed.
  if (failure.kind === "unreachable" || failure.kind === "sidecar")
    return {
      status: 503,
      message:
        "Orbit cannot reach its task service right now. What you entered is kept: try again in a moment.",
      fieldErrors: {},
    };
  const { status } = failure;
  const problem = failure.kind === "problem" ? failure.problem : {};
  const fieldErrors: Record<string, string> = {};
  for (const error of (problem.errors ?? []) as FieldError[]) {
    const field = error.field.split(".")[0] || "form";
    fieldErrors[field] ??= error.detail;
  }
  // A 409 with a `reason` says what stands in the way itself (e.g. a reminder that cannot be sent
  // again); one for open subtasks says how many wait for an answer.
  const open = typeof problem.open_subtasks === "number" ? problem.open_subtasks : null;
  const message =
    status === 409 && open !== null
      ? `It has ${open} open subtask${open === 1 ? "" : "s"}: say whether to complete ${open === 1 ? "it" : "them"} too.`
      : status === 409 && typeof problem.reason !== "string"
        ? "Someone changed this task meanwhile. Reload to see the latest version."
        : status === 404
          ? "This task no longer exists."
          : (problem.detail ?? problem.title ?? `The request failed (HTTP ${status}).`);
  return { status, message, fieldErrors };
}

/** A reminder action's answer, or why it was refused (`reason`: the function's stable word). */
export type ReminderActionResult<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; message: string; reason: string | null };

/**
 * A reminder's "Complete" / "Snooze" links and buttons, passed on to the Reminder Service. No
 * session: the signed token in the body is the only credential (#core/reminder-actions.ts), so
 * they work from a mail opened on another device, and the session cookie is never what acts.
 */
export function reminderActions() {
  const anonymous: CommandCaller = { authorization: "" };
  const answer = <T>(reply: CommandReply<T>): ReminderActionResult<T> => {
    if (reply.ok) return { ok: true, status: reply.status, body: reply.value };
    const { failure } = reply;
    if (failure.kind !== "problem")
      return {
        ok: false,
        status: 503,
        message: "Orbit cannot reach its reminder service right now. Try the link again in a moment.",
        reason: "unavailable",
      };
    const problem = failure.problem;
    return {
      ok: false,
      status: failure.status,
      message: problem.detail ?? problem.title ?? `The request failed (HTTP ${failure.status}).`,
      reason: typeof problem.reason === "string" ? problem.reason : null,
    };
  };
  return {
    preview: async (body: ReminderActionRequest) =>
      answer(await commands().previewReminderAction(anonymous, body)),
    perform: async (body: ReminderActionRequest) =>
      answer(await commands().performReminderAction(anonymous, body)),
  };
}
