// What a notification says, rendered once for every channel (push, email, webhook). Pure: the
// clock, the user's zone and the web app's base URL come in as arguments.
import { DateTime } from "luxon";
import type { ReminderEvent } from "./events.ts";
import { ACTION_LABELS, REMINDER_ACTIONS, type ReminderAction } from "./reminder-actions.ts";

/** A reminder's signed action tokens, one set per channel that shows buttons (#core/reminder-actions.ts). */
export interface ReminderActionTokens {
  push: Record<ReminderAction, string>;
  email: Record<ReminderAction, string>;
  webhook: Record<ReminderAction, string>;
}

/**
 * An action of a webhook's reminder, for the receiver to offer (a chat bot's buttons): `url` is the
 * page that asks before it acts (for a person), `post` where to POST `{"action", "token"}` as JSON
 * to act at once (for a program; web/app/routes/reminders.act.ts). The token is the credential.
 */
export interface WebhookAction {
  action: ReminderAction;
  title: string;
  token: string;
  url: string;
  post: string;
}

/** A button of a push notification: the service worker posts its token when it is pressed. */
export interface PushAction {
  action: ReminderAction;
  title: string;
  token: string;
}

/** The message, rendered for each channel. */
export interface Notification {
  event: string;
  title: string;
  body: string;
  taskId: string | null;
  dueAt: string | null;
  url: string;
  /** Seconds a push service should keep it for an offline device. */
  ttlSeconds: number;
  /** The push notification's buttons (none for a test notification). */
  pushActions: PushAction[];
  emailSubject: string;
  emailHtml: string;
  webhookData: unknown;
}

/** The longest a push service keeps a message: four weeks. */
const MAX_TTL_SECONDS = 2_419_200;

export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** A link into the web app: absolute under `webAppUrl`, else relative. */
export function appLink(webAppUrl: string | undefined, path: string): string {
  return webAppUrl ? new URL(path, webAppUrl).toString() : path;
}

/**
 * The web app's page for one action link of a mail: it asks before it acts (GET shows what the
 * button will do, only its POST does it), so a mail scanner following links changes nothing.
 */
export const actionLink = (webAppUrl: string, action: ReminderAction, token: string) =>
  appLink(webAppUrl, `/reminders/action?action=${action}&token=${encodeURIComponent(token)}`);

/**
 * A reminder as the user reads it: the due time in their own zone (UTC when theirs is unknown), and,
 * with `actions`, buttons to complete the task or snooze the reminder (push) and links to the same
 * (email; only with an absolute `webAppUrl`, as a relative link in a mail leads nowhere).
 */
export function reminderNotification(
  event: ReminderEvent,
  timeZone: string,
  webAppUrl: string | undefined,
  now: Date,
  actions?: ReminderActionTokens,
): Notification {
  const zoned = DateTime.fromISO(event.due_at, { zone: timeZone });
  const due = zoned.isValid ? zoned : DateTime.fromISO(event.due_at, { zone: "UTC" });
  // The zone by name: short names ("CET") depend on the runtime's ICU data, the IANA name does not.
  const dueText = `${due.toFormat("ccc d LLL yyyy, HH:mm")} (${due.zoneName})`;
  const url = appLink(webAppUrl, `/tasks/${event.task_id}`);
  const secondsToDue = Math.round((Date.parse(event.due_at) - now.getTime()) / 1000);
  return {
    event: "reminder.due",
    title: event.title,
    body: `Due ${dueText}`,
    taskId: event.task_id,
    dueAt: event.due_at,
    url,
    // Kept until the task is due (at least a minute): a reminder delivered after that is noise.
    ttlSeconds: Math.min(MAX_TTL_SECONDS, Math.max(60, secondsToDue)),
    pushActions: actions
      ? REMINDER_ACTIONS.map((action) => ({
          action,
          title: ACTION_LABELS[action],
          token: actions.push[action],
        }))
      : [],
    emailSubject: `Reminder: ${event.title}`,
    emailHtml:
      `<p><strong>${escapeHtml(event.title)}</strong> is due ${escapeHtml(dueText)}.</p>` +
      (webAppUrl && actions
        ? `<p>${REMINDER_ACTIONS.map(
            (action) =>
              `<a href="${escapeHtml(actionLink(webAppUrl, action, actions.email[action]))}" data-action="${action}">${ACTION_LABELS[action]}</a>`,
          ).join(" · ")}</p>`
        : "") +
      (webAppUrl ? `<p><a href="${escapeHtml(url)}">Open the task in Orbit</a></p>` : "") +
      (webAppUrl && actions
        ? "<p>Each link asks you to confirm before anything changes, and works for 7 days.</p>"
        : ""),
    webhookData: {
      task_id: event.task_id,
      title: event.title,
      due_at: event.due_at,
      remind_at: event.remind_at,
      url,
      // Only with an absolute web app URL, as for mail: a receiver cannot resolve a relative one.
      ...(webAppUrl && actions
        ? {
            actions: REMINDER_ACTIONS.map((action): WebhookAction => ({
              action,
              title: ACTION_LABELS[action],
              token: actions.webhook[action],
              url: actionLink(webAppUrl, action, actions.webhook[action]),
              post: appLink(webAppUrl, "/reminders/act"),
            })),
          }
        : {}),
    },
  };
}

/** What POST /v1/notifications/test sends through every enabled channel. */
export function testNotification(webAppUrl: string | undefined, now: Date): Notification {
  return {
    event: "notification.test",
    title: "Orbit test notification",
    body: "Reminders will reach you here.",
    taskId: null,
    dueAt: null,
    url: appLink(webAppUrl, "/"),
    ttlSeconds: 300,
    pushActions: [],
    emailSubject: "Orbit test notification",
    emailHtml: "<p>This is a test: Orbit reminders will reach you at this address.</p>",
    webhookData: { message: "This is a test notification from Orbit.", sent_at: now.toISOString() },
  };
}
