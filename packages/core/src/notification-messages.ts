// What a notification says, rendered once for every channel (push, email, webhook). Pure: the
// clock, the user's zone and the web app's base URL come in as arguments.
import { DateTime } from "luxon";
import type { ReminderEvent } from "./events.ts";

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

/** A reminder as the user reads it: the due time in their own zone (UTC when theirs is unknown). */
export function reminderNotification(
  event: ReminderEvent,
  timeZone: string,
  webAppUrl: string | undefined,
  now: Date,
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
    emailSubject: `Reminder: ${event.title}`,
    emailHtml:
      `<p><strong>${escapeHtml(event.title)}</strong> is due ${escapeHtml(dueText)}.</p>` +
      (webAppUrl ? `<p><a href="${escapeHtml(url)}">Open the task in Orbit</a></p>` : ""),
    webhookData: {
      task_id: event.task_id,
      title: event.title,
      due_at: event.due_at,
      remind_at: event.remind_at,
      url,
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
    emailSubject: "Orbit test notification",
    emailHtml: "<p>This is a test: Orbit reminders will reach you at this address.</p>",
    webhookData: { message: "This is a test notification from Orbit.", sent_at: now.toISOString() },
  };
}
