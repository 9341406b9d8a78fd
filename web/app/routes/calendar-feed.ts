// A user's calendar feed: GET /calendar/<secret>.ics (?as=todo for VTODOs instead of VEVENTs),
// which Google Calendar, Apple Calendar and Thunderbird subscribe to. No session (calendar apps
// cannot sign in): the secret in the URL is the credential (packages/accounts/src/calendar-feed.ts).
// An unknown, rotated or malformed secret is 404, the same answer for each. Each feed may be
// fetched CALENDAR_FEED_RATE_LIMIT times per window (shared counters, platform/rate-limit.ts): per
// feed, not per address, because a calendar service fetches many users' feeds from few addresses. The body carries a strong ETag, so a poll that finds nothing new is a 304.
import { createHash } from "node:crypto";
import type { LoaderFunctionArgs } from "@remix-run/node";
import { renderCalendar } from "#core/icalendar.ts";
import { CALENDAR_FEED_RATE_LIMIT, resolveCalendarFeed } from "#accounts/calendar-feed.ts";
import { takeRateLimit } from "#platform/rate-limit.ts";
import { calendarFeedTasks } from "#tasks/calendar-feed.ts";
import { publicOrigin } from "../lib/calendar-feed.server.ts";
import { getDb } from "../lib/db.server.ts";

/** Never kept by a shared cache (the URL is a credential); a client revalidates with its ETag. */
const COMMON_HEADERS = {
  "Cache-Control": "private, no-cache",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex, nofollow",
};

const text = (body: string, status: number, headers: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...COMMON_HEADERS, ...headers },
  });

export async function loader({ request, params }: LoaderFunctionArgs) {
  const secret = /^(.+)\.ics$/.exec(params.file ?? "")?.[1];
  const now = new Date();
  const db = getDb();
  try {
    const feed = secret ? await resolveCalendarFeed(db, secret, now) : null;
    if (!feed) return text("No calendar feed at this address. It may have been rotated in Settings.", 404);
    const limit = await takeRateLimit(db, `calendar-feed:${feed.userId}`, CALENDAR_FEED_RATE_LIMIT, now);
    if (limit.limited)
      return text("This feed is fetched too often; try again later.", 429, {
        "Retry-After": String(limit.retryAfterSeconds),
      });
    const flavour = new URL(request.url).searchParams.get("as") === "todo" ? "todos" : "events";
    const origin = publicOrigin(request);
    const tasks = await calendarFeedTasks(db, feed.userId, now, (id) => `${origin}/tasks/${id}`);
    const body = renderCalendar({
      flavour,
      tasks,
      now,
      name: flavour === "todos" ? "Orbit to-dos" : "Orbit tasks",
    });
    const etag = `"${createHash("sha256").update(body).digest("base64url")}"`;
    const headers = { ...COMMON_HEADERS, ETag: etag };
    const ifNoneMatch = request.headers.get("if-none-match");
    if (ifNoneMatch && ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag))
      return new Response(null, { status: 304, headers });
    return new Response(body, {
      headers: {
        ...headers,
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": `inline; filename="${flavour === "todos" ? "orbit-todos" : "orbit-tasks"}.ics"`,
      },
    });
  } catch (error) {
    console.error("calendar feed failed", error);
    return text("The calendar feed is unavailable right now; try again in a minute.", 503, {
      "Retry-After": "60",
    });
  }
}
