// Where a reminder mail's "Complete" / "Snooze 10 min" / "Snooze 1 h" links land (issue 16, item 2).
// A GET only shows what the link will do: mail scanners and link previews open links, and must not
// complete anyone's task. The button on the page POSTs, and only that acts. No sign-in: the signed
// token in the link is the credential (one action on one task, 7 days; #core/reminder-actions.ts),
// so the link works from a phone's mail app; the Reminder Service checks it (on-reminder-fired).
import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { ACTION_LABELS, REMINDER_ACTIONS, type ReminderAction } from "#core/reminder-actions.ts";
import { buttonClass } from "../components/ui.tsx";
import { reminderActions } from "../lib/commands.server.ts";

export const meta: MetaFunction = () => [
  { title: "Reminder · Orbit" },
  { name: "robots", content: "noindex, nofollow" },
];

/**
 * The token is in the page's URL: never sent on as a Referer, never cached, never indexed. The page
 * loads nothing but its own assets (the app's CSP), so nothing else sees the URL either.
 */
const PRIVATE = {
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Robots-Tag": "noindex, nofollow",
};

/** A page's headers come from here, not from its loader's or action's own (Remix). */
export const headers: HeadersFunction = () => PRIVATE;

const actionOf = (value: unknown): ReminderAction | null =>
  REMINDER_ACTIONS.find((action) => action === value) ?? null;

export async function loader({ request }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const action = actionOf(url.searchParams.get("action"));
  const token = url.searchParams.get("token") ?? "";
  if (!action || !token)
    return data(
      {
        ok: false as const,
        action,
        message: "This reminder link is incomplete: open it from the mail again.",
      },
      { status: 400, headers: PRIVATE },
    );
  const result = await reminderActions().preview({ action, token });
  if (!result.ok)
    return data(
      { ok: false as const, action, message: result.message },
      { status: result.status, headers: PRIVATE },
    );
  return data({ ok: true as const, action, token, preview: result.body }, { headers: PRIVATE });
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await request.formData();
  const action = actionOf(form.get("action"));
  const token = String(form.get("token") ?? "");
  if (!action || !token)
    return data(
      { ok: false as const, message: "This reminder link is incomplete." },
      { status: 400, headers: PRIVATE },
    );
  const result = await reminderActions().perform({ action, token });
  if (!result.ok)
    return data({ ok: false as const, message: result.message }, { status: result.status, headers: PRIVATE });
  const { message, repeated, task } = result.body;
  return data(
    {
      ok: true as const,
      message: repeated ? `You already used this link. ${message}` : message,
      taskId: task.id,
    },
    { headers: PRIVATE },
  );
}

export default function ReminderActionPage() {
  const loaded = useLoaderData<typeof loader>();
  const done = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === "submitting";
  const taskLink = (id: string) => (
    <Link to={`/tasks/${id}`} className="text-sm text-indigo-700 underline">
      Open the task in Orbit
    </Link>
  );

  if (done) {
    return (
      <div className="space-y-4" data-testid="reminder-action">
        <h1 className="text-2xl font-semibold">Reminder</h1>
        <p
          role={done.ok ? "status" : "alert"}
          data-outcome={done.ok ? "done" : "refused"}
          className={`rounded-md p-3 text-sm ${done.ok ? "bg-emerald-50 text-emerald-900" : "bg-red-50 text-red-800"}`}
        >
          {done.message}
        </p>
        {done.ok ? taskLink(done.taskId) : null}
      </div>
    );
  }
  if (!loaded.ok) {
    return (
      <div className="space-y-4" data-testid="reminder-action">
        <h1 className="text-2xl font-semibold">Reminder</h1>
        <p role="alert" data-outcome="refused" className="rounded-md bg-red-50 p-3 text-sm text-red-800">
          {loaded.message}
        </p>
      </div>
    );
  }
  const { preview } = loaded;
  return (
    <div className="space-y-4" data-testid="reminder-action">
      <h1 className="text-2xl font-semibold">{preview.prompt}</h1>
      {preview.settled ? (
        <p
          role="status"
          data-outcome="settled"
          className="rounded-md bg-slate-100 p-3 text-sm text-slate-800"
        >
          {preview.settled}
        </p>
      ) : (
        <Form method="post" className="flex flex-wrap items-center gap-3">
          <input type="hidden" name="action" value={loaded.action} />
          <input type="hidden" name="token" value={loaded.token} />
          <button type="submit" className={buttonClass} disabled={busy}>
            {busy ? "One moment…" : ACTION_LABELS[loaded.action]}
          </button>
          <span className="text-sm text-slate-700">Nothing changes until you press the button.</span>
        </Form>
      )}
      {taskLink(preview.task.id)}
    </div>
  );
}
