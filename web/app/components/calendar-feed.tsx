// Settings' "Calendar feed" section: a private address calendar apps subscribe to (the server side
// is lib/calendar-feed.server.ts, the feed itself routes/calendar-feed.ts). Orbit keeps only a
// fingerprint of the address, so it is shown once, when it is made or rotated, with a Copy button.
import { Form, useActionData } from "@remix-run/react";
import { useState } from "react";
import { formatInstant } from "../lib/format.ts";
import { buttonClass, CsrfInput, dangerButtonClass, secondaryButtonClass } from "./ui.tsx";

export interface CalendarFeedView {
  prefix: string;
  createdAt: string;
  lastFetchedAt: string | null;
}

const INTENT = "calendar-feed";

export function CalendarFeedSection({
  feed,
  csrf,
  timeZone,
}: {
  feed: CalendarFeedView | null;
  csrf: string;
  timeZone: string;
}) {
  const result = useActionData<{ intent?: string; feedUrl?: string | null }>();
  const feedUrl = result?.intent === INTENT ? (result.feedUrl ?? null) : null;
  return (
    <section
      className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
      aria-labelledby="calendar-heading"
      data-testid="calendar-feed"
    >
      <h2 id="calendar-heading" className="text-lg font-semibold">
        Calendar feed
      </h2>
      <p className="mt-1 text-sm text-slate-700">
        See your dated tasks in Google Calendar, Apple Calendar or Thunderbird: they subscribe to a private
        address and fetch it themselves. Repeating tasks show their coming dates; reminders come along as
        alerts where the app keeps them. Tasks done in the last 30 days stay, marked ✓.
      </p>
      {feedUrl ? <NewAddress url={feedUrl} /> : null}
      {feed ? (
        <p className="mt-3 text-sm text-slate-800" data-testid="calendar-feed-status">
          On since {formatInstant(feed.createdAt, timeZone)}: the address starting{" "}
          <code className="rounded bg-slate-100 px-1.5 font-mono text-xs">…/calendar/{feed.prefix}…</code>,{" "}
          {feed.lastFetchedAt
            ? `last fetched ${formatInstant(feed.lastFetchedAt, timeZone)}`
            : "not fetched by any app yet"}
          .
        </p>
      ) : null}
      <div className="mt-3 flex flex-wrap gap-2">
        <Form method="post">
          <CsrfInput token={csrf} />
          <input type="hidden" name="intent" value={INTENT} />
          <input type="hidden" name="op" value="rotate" />
          <button type="submit" className={feed ? secondaryButtonClass : buttonClass}>
            {feed ? "Rotate address" : "Create calendar address"}
          </button>
        </Form>
        {feed ? (
          <Form method="post">
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value={INTENT} />
            <input type="hidden" name="op" value="disable" />
            <button type="submit" className={dangerButtonClass}>
              Turn off
            </button>
          </Form>
        ) : null}
      </div>
      {feed ? (
        <p className="mt-2 text-xs text-slate-600">
          Rotating makes a new address and stops the current one at once: use it if the address got out, or to
          see it again (Orbit keeps only a fingerprint of it). Apps subscribed to the old one then need the
          new one.
        </p>
      ) : null}
      <details className="mt-3 text-sm text-slate-800">
        <summary className="cursor-pointer font-medium">How to subscribe</summary>
        <ul className="mt-2 list-disc space-y-1 pl-5">
          <li>
            <strong>Google Calendar</strong> (on the web): Other calendars → + → From URL, paste the address.
            Google refreshes it on its own schedule (several hours) and uses its own reminders.
          </li>
          <li>
            <strong>Apple Calendar</strong>: on a Mac, File → New Calendar Subscription; on iPhone, Settings →
            Calendar → Accounts → Add Account → Other → Add Subscribed Calendar. Set Auto-refresh to every
            hour, and untick “Remove Alerts” to keep Orbit’s reminders.
          </li>
          <li>
            <strong>Thunderbird</strong>: New Calendar → On the Network → paste the address (format
            iCalendar). For tasks in Thunderbird’s Tasks instead of events, use the to-do address.
          </li>
        </ul>
      </details>
    </section>
  );
}

function NewAddress({ url }: { url: string }) {
  const todoUrl = `${url}?as=todo`;
  return (
    <div className="mt-3 space-y-2 rounded-md bg-amber-50 p-3 text-sm">
      <p className="font-medium">Your calendar address (shown once):</p>
      <CopyField label="Calendar address" value={url} testId="calendar-feed-url" />
      <p>
        <a className="text-indigo-700 underline" href={url.replace(/^https?:/, "webcal:")}>
          Open in my calendar app
        </a>
      </p>
      <p className="text-slate-700">Or, for apps with a task list (to-dos, e.g. Thunderbird’s Tasks):</p>
      <CopyField label="To-do address" value={todoUrl} testId="calendar-feed-todo-url" />
    </div>
  );
}

function CopyField({ label, value, testId }: { label: string; value: string; testId: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("Copied.");
    } catch {
      setCopied("Could not copy: select the address and copy it.");
    }
  };
  return (
    <div className="flex flex-wrap items-center gap-2">
      <input
        readOnly
        aria-label={label}
        value={value}
        data-testid={testId}
        onFocus={(event) => event.currentTarget.select()}
        className="min-w-0 flex-1 rounded border border-slate-300 bg-white px-2 py-1 font-mono text-xs"
      />
      <button type="button" className={secondaryButtonClass} onClick={() => void copy()}>
        Copy {label.toLowerCase()}
      </button>
      {copied ? (
        <span role="status" className="text-xs text-slate-700">
          {copied}
        </span>
      ) : null}
    </div>
  );
}
