// Settings' calendar feed section, server side: what it shows and its one form intent
// (`calendar-feed`, op `rotate` or `disable`). The section itself: components/calendar-feed.tsx.
import { data } from "@remix-run/node";
import {
  calendarFeedPath,
  calendarFeedStatus,
  disableCalendarFeed,
  rotateCalendarFeed,
} from "#accounts/calendar-feed.ts";
import { getDb } from "./db.server.ts";

export const CALENDAR_FEED_INTENT = "calendar-feed";

/** The origin people reach the app at: the ingress terminates TLS and says so in X-Forwarded-Proto. */
export function publicOrigin(request: Request): string {
  const url = new URL(request.url);
  const forwarded = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  const protocol = forwarded === "https" || forwarded === "http" ? `${forwarded}:` : url.protocol;
  return `${protocol}//${url.host}`;
}

/** What the section shows: whether the feed is on, since when, and when an app last fetched it. */
export async function calendarFeedSettings(userId: string) {
  const status = await calendarFeedStatus(getDb(), userId);
  return status
    ? {
        prefix: status.prefix,
        createdAt: status.createdAt.toISOString(),
        lastFetchedAt: status.lastFetchedAt?.toISOString() ?? null,
      }
    : null;
}

/** Turns the feed on or rotates it (the new address is in the reply, once), or turns it off. */
export async function calendarFeedAction(request: Request, userId: string, form: FormData) {
  const reply = (payload: { message?: string; error?: string; feedUrl?: string }, status = 200) =>
    data(
      {
        intent: CALENDAR_FEED_INTENT,
        message: null,
        error: null,
        fieldErrors: {},
        secret: null,
        feedUrl: null,
        ...payload,
      },
      { status },
    );
  const op = String(form.get("op") ?? "");
  if (op === "rotate") {
    const had = (await calendarFeedStatus(getDb(), userId)) !== null;
    const secret = await rotateCalendarFeed(getDb(), userId, new Date());
    return reply({
      feedUrl: publicOrigin(request) + calendarFeedPath(secret),
      message: had
        ? "New calendar address made: the old one has stopped working. Copy this one into your calendar apps now."
        : "Calendar address made. Copy it into your calendar apps now: it is shown only once.",
    });
  }
  if (op === "disable") {
    await disableCalendarFeed(getDb(), userId);
    return reply({ message: "Calendar feed turned off: its address no longer works." });
  }
  return reply({ error: "Unknown calendar feed action." }, 400);
}
