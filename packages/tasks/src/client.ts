// The command functions as a typed client: create/update/complete/delete-task and notifications,
// reached through the caller's own Dapr sidecar (service invocation) with the user's credential
// forwarded, exactly as the public API is called. The web app and the MCP function both use it, so
// the app-ids, the paths, and how an invocation fails are written here once; each caller renders a
// failure its own way (a form's message and field errors, a sentence for a model).
import type { z } from "zod";
import type { sendAgainResultSchema } from "#core/channels.ts";
import type { createListSchema, ListDto, updateListSchema } from "#core/lists.ts";
import type { createTaskSchema, SubtaskChoice, TaskDto, updateTaskSchema } from "#core/tasks.ts";
import { ACTOR_HEADER, type AGENT_ACTOR } from "#platform/auth.ts";
import { SidecarUnavailableError, type DaprClient } from "#platform/dapr-client.ts";
import type { ProblemBody } from "#platform/problems.ts";

/** The command functions' app-ids (dapr.yaml, Knative Services). */
export const COMMAND_APPS = {
  create: "create-task",
  update: "update-task",
  complete: "complete-task",
  delete: "delete-task",
  notifications: "notifications",
  /** A reminder's "Complete" / "Snooze" buttons: the Reminder Service, which owns the jobs. */
  reminders: "on-reminder-fired",
} as const;
export type CommandApp = (typeof COMMAND_APPS)[keyof typeof COMMAND_APPS];

/** On whose behalf a command runs. */
export interface CommandCaller {
  /**
   * The Authorization header forwarded as it is: `Session …` from the web, `Bearer …` from MCP;
   * "" for a reminder's action, whose signed token in the body is its only credential.
   */
  authorization: string;
  /** `agent` (X-Orbit-Actor) when a model acts for the user: the audit log then names the agent. */
  actor?: typeof AGENT_ACTOR;
}

/** Why a command did not succeed; where the caller turns it into words. */
export type CommandFailure =
  /** The own sidecar did not answer at all. */
  | { kind: "unreachable"; appId: CommandApp; error: SidecarUnavailableError }
  /**
   * The sidecar answered for an app it could not reach (no live instance: 500 ERR_DIRECT_INVOKE):
   * its own error body, not the app's problem+json.
   */
  | { kind: "sidecar"; appId: CommandApp; status: number; body: string }
  /** The command function refused: its problem+json (or {} when the body was none). */
  | { kind: "problem"; appId: CommandApp; status: number; problem: Partial<ProblemBody> };

export type CommandReply<T> = { ok: true; status: number; value: T } | { ok: false; failure: CommandFailure };

/** A request body as sent: the schema's input, or its parsed value (a Date is sent as RFC 3339). */
type Body<S extends z.ZodType> = z.input<S> | z.output<S>;

export type DeleteScope = "series" | "occurrence";

/** A notification channel as GET /v1/channels lists it. */
export interface ChannelDto {
  kind: "push" | "email" | "webhook";
  enabled: boolean;
  push_subscriptions?: number;
  delivers_to?: string;
  /** Email: mail goes out only once the address is confirmed through the link mailed to it. */
  address_status?: "confirmed" | "pending" | "unconfirmed";
  webhook_url?: string | null;
  has_secret?: boolean;
}

export interface WebhookChannelInput {
  enabled: boolean;
  webhook_url: string | null;
  /** Omitted: the stored secret stays. */
  webhook_secret?: string;
}

/** A reminder's action as the web app passes it on (#core/reminder-actions.ts). */
export interface ReminderActionRequest {
  action: string;
  token: string;
}

interface ReminderActionTask {
  id: string;
  title: string;
  status: "pending" | "completed";
  due_at: string | null;
}

/** POST /v1/reminder-actions/preview. */
export interface ReminderActionPreview {
  action: "complete" | "snooze_10m" | "snooze_1h";
  task: ReminderActionTask;
  time_zone: string;
  prompt: string;
  settled: string | null;
}

/** POST /v1/reminder-actions. */
export interface ReminderActionReply {
  action: "complete" | "snooze_10m" | "snooze_1h";
  outcome: "completed" | "already_completed" | "snoozed";
  repeated: boolean;
  task: ReminderActionTask;
  snoozed_until: string | null;
  time_zone: string;
  message: string;
}

export type TaskCommands = ReturnType<typeof createTaskCommands>;

export function createTaskCommands(dapr: Pick<DaprClient, "invoke">) {
  async function invoke<T>(
    caller: CommandCaller,
    appId: CommandApp,
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
  ): Promise<CommandReply<T>> {
    const headers: Record<string, string> = caller.authorization
      ? { authorization: caller.authorization }
      : {};
    if (caller.actor) headers[ACTOR_HEADER] = caller.actor;
    let response: Response;
    try {
      response = await dapr.invoke(appId, method, path, { body, headers });
    } catch (error) {
      if (error instanceof SidecarUnavailableError)
        return { ok: false, failure: { kind: "unreachable", appId, error } };
      throw error;
    }
    const text = await response.text();
    const parsed = text ? parseJson(text) : null;
    if (response.ok) return { ok: true, status: response.status, value: parsed as T };
    const problem = parsed && typeof parsed === "object" ? parsed : {};
    if ("errorCode" in problem)
      return { ok: false, failure: { kind: "sidecar", appId, status: response.status, body: text } };
    return { ok: false, failure: { kind: "problem", appId, status: response.status, problem } };
  }

  return {
    createTask: (caller: CommandCaller, task: Body<typeof createTaskSchema>) =>
      invoke<TaskDto>(caller, COMMAND_APPS.create, "POST", "v1/tasks", task),
    updateTask: (caller: CommandCaller, id: string, changes: Body<typeof updateTaskSchema>) =>
      invoke<TaskDto>(caller, COMMAND_APPS.update, "PATCH", `v1/tasks/${id}`, changes),
    /**
     * Completes the task, or with `reopen` marks it pending again; idempotent. A parent with open
     * subtasks needs `subtasks` (else 409 open-subtasks); the reply then names those it completed.
     */
    completeTask: (
      caller: CommandCaller,
      id: string,
      options: { reopen?: boolean; version?: number; subtasks?: SubtaskChoice } = {},
    ) =>
      invoke<TaskDto & { completed_subtasks?: string[] }>(
        caller,
        COMMAND_APPS.complete,
        "POST",
        `v1/tasks/${id}/${options.reopen ? "reopen" : "complete"}`,
        options.reopen
          ? { version: options.version }
          : { version: options.version, subtasks: options.subtasks },
      ),
    createList: (caller: CommandCaller, list: Body<typeof createListSchema>) =>
      invoke<ListDto>(caller, COMMAND_APPS.create, "POST", "v1/lists", list),
    /** Renames, recolours, archives (archived: true) or unarchives a list. */
    updateList: (caller: CommandCaller, id: string, changes: Body<typeof updateListSchema>) =>
      invoke<ListDto>(caller, COMMAND_APPS.update, "PATCH", `v1/lists/${id}`, changes),
    /** 204: nothing to read back. */
    deleteTask: (caller: CommandCaller, id: string, scope: DeleteScope) =>
      invoke<null>(caller, COMMAND_APPS.delete, "DELETE", `v1/tasks/${id}?scope=${scope}`),

    listChannels: (caller: CommandCaller) =>
      invoke<{ items: ChannelDto[] }>(caller, COMMAND_APPS.notifications, "GET", "v1/channels"),
    setEmailChannel: (caller: CommandCaller, input: { enabled: boolean }) =>
      invoke<ChannelDto>(caller, COMMAND_APPS.notifications, "PUT", "v1/channels/email", input),
    /** Mails a new confirmation link for the email channel's address. */
    sendEmailConfirmation: (caller: CommandCaller) =>
      invoke<ChannelDto>(caller, COMMAND_APPS.notifications, "POST", "v1/channels/email/confirmation", {}),
    /** The token from a confirmation link. */
    confirmEmail: (caller: CommandCaller, token: string) =>
      invoke<{ delivers_to: string }>(
        caller,
        COMMAND_APPS.notifications,
        "POST",
        "v1/channels/email/confirm",
        {
          token,
        },
      ),
    setWebhookChannel: (caller: CommandCaller, input: WebhookChannelInput) =>
      invoke<ChannelDto>(caller, COMMAND_APPS.notifications, "PUT", "v1/channels/webhook", input),
    /**
     * Sends a reminder's failed (or waiting) delivery again now; 200 with the outcome whether or not
     * it went out, 409 with a `reason` when it cannot be sent again.
     */
    sendDeliveryAgain: (caller: CommandCaller, taskId: string, deliveryId: string) =>
      invoke<z.infer<typeof sendAgainResultSchema>>(
        caller,
        COMMAND_APPS.notifications,
        "POST",
        `v1/tasks/${taskId}/deliveries/${deliveryId}/retry`,
        {},
      ),
    /** A browser's PushSubscription (its toJSON()), checked by notifications. */
    addPushSubscription: (caller: CommandCaller, subscription: unknown) =>
      invoke<unknown>(caller, COMMAND_APPS.notifications, "POST", "v1/push-subscriptions", subscription),
    vapidPublicKey: (caller: CommandCaller) =>
      invoke<{ public_key: string }>(caller, COMMAND_APPS.notifications, "GET", "v1/push/vapid-public-key"),

    /** What a reminder's action link would do (its confirmation page); the token is the credential. */
    previewReminderAction: (caller: CommandCaller, body: ReminderActionRequest) =>
      invoke<ReminderActionPreview>(
        caller,
        COMMAND_APPS.reminders,
        "POST",
        "v1/reminder-actions/preview",
        body,
      ),
    /** Completes the task or snoozes the reminder a signed token names; once per link. */
    performReminderAction: (caller: CommandCaller, body: ReminderActionRequest) =>
      invoke<ReminderActionReply>(caller, COMMAND_APPS.reminders, "POST", "v1/reminder-actions", body),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
