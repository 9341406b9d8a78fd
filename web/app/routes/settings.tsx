import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { useEffect, useState } from "react";
import { pastReminderPolicySchema, type PastReminderPolicy } from "#core/reminders.ts";
import { isValidTimeZone } from "#core/tasks.ts";
import { updatePastReminderPolicy, updateTimeZone } from "#accounts/accounts.ts";
import { createApiToken, createApiTokenSchema, listApiTokens, revokeApiToken } from "#accounts/api-tokens.ts";
import type { WebhookChannelInput } from "#tasks/client.ts";
import { ImportExport } from "../components/import-export.tsx";
import { CalendarFeedSection } from "../components/calendar-feed.tsx";
import { SpokenRepliesSetting } from "../components/spoken-replies-setting.tsx";
import { useActionResult } from "../components/live-sync.tsx";
import {
  buttonClass,
  CsrfInput,
  dangerButtonClass,
  Field,
  inputClass,
  secondaryButtonClass,
} from "../components/ui.tsx";
import {
  calendarFeedAction,
  calendarFeedSettings,
  CALENDAR_FEED_INTENT,
} from "../lib/calendar-feed.server.ts";
import { commandsAs } from "../lib/commands.server.ts";
import { getDb } from "../lib/db.server.ts";
import { formatInstant } from "../lib/format.ts";
import { renewalHeaders, requireUser, requireUserWithCsrf } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Settings · Orbit" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const commands = commandsAs(user);
  const [tokens, channels, vapid, calendarFeed] = await Promise.all([
    listApiTokens(getDb(), user.userId),
    commands.listChannels(),
    commands.vapidPublicKey(),
    calendarFeedSettings(user.userId),
  ]);
  const vapidKey = vapid.ok ? vapid.body.public_key : null;
  return data(
    {
      email: user.email,
      timeZone: user.timeZone,
      pastReminderPolicy: user.pastReminderPolicy,
      csrf: user.csrf,
      tokens: tokens.map((t) => ({
        ...t,
        createdAt: t.createdAt.toISOString(),
        lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
      })),
      channels: channels.ok ? channels.body.items : null,
      vapidKey,
      calendarFeed,
    },
    { headers: renewalHeaders(user) },
  );
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await request.formData();
  const user = await requireUserWithCsrf(request, form);
  const intent = String(form.get("intent") ?? "");
  if (intent === CALENDAR_FEED_INTENT) return calendarFeedAction(request, user.userId, form);
  const reply = (
    payload: { message?: string; error?: string; fieldErrors?: Record<string, string>; secret?: string },
    status = 200,
  ) => data({ intent, message: null, error: null, fieldErrors: {}, secret: null, ...payload }, { status });
  switch (intent) {
    case "time-zone": {
      const zone = String(form.get("time_zone") ?? "");
      if (!isValidTimeZone(zone))
        return reply({ fieldErrors: { time_zone: "Pick a time zone from the list." } }, 400);
      await updateTimeZone(getDb(), user.userId, zone);
      return reply({ message: "Time zone saved." });
    }
    case "past-reminders": {
      const policy = pastReminderPolicySchema.safeParse(form.get("past_reminders") ?? undefined);
      if (!policy.success)
        return reply(
          {
            fieldErrors: { past_reminders: policy.error.issues[0]?.message ?? "Pick “Send now” or “Skip”." },
          },
          400,
        );
      await updatePastReminderPolicy(getDb(), user.userId, policy.data);
      return reply({
        message:
          policy.data === "skip"
            ? "Saved: reminders already past when you save a task will be skipped."
            : "Saved: reminders already past when you save a task will be sent at once.",
      });
    }
    case "create-token": {
      const parsed = createApiTokenSchema.safeParse({ name: form.get("name"), scope: form.get("scope") });
      if (!parsed.success)
        return reply({ fieldErrors: { name: parsed.error.issues[0]?.message ?? "Invalid" } }, 400);
      const { secret } = await createApiToken(getDb(), user.userId, parsed.data);
      return reply({ secret, message: "Copy this token now: it will not be shown again." });
    }
    case "revoke-token": {
      const ok = await revokeApiToken(getDb(), user.userId, String(form.get("id") ?? ""), new Date());
      if (!ok) throw new Response("No such token.", { status: 404 });
      return reply({ message: "Token revoked." });
    }
    case "email-channel": {
      const result = await commandsAs(user).setEmailChannel({ enabled: form.get("enabled") === "on" });
      if (!result.ok) return reply({ error: result.message, fieldErrors: result.fieldErrors }, result.status);
      return reply({
        message:
          result.body.enabled && result.body.address_status !== "confirmed"
            ? `Confirmation sent to ${result.body.delivers_to}: open the link in it to start email reminders.`
            : "Email reminders saved.",
      });
    }
    case "email-resend": {
      const result = await commandsAs(user).sendEmailConfirmation();
      return result.ok
        ? reply({ message: `Confirmation sent to ${result.body.delivers_to}.` })
        : reply({ error: result.message }, result.status);
    }
    case "webhook-channel": {
      const body: WebhookChannelInput = {
        enabled: form.get("enabled") === "on",
        webhook_url: String(form.get("webhook_url") ?? "").trim() || null,
      };
      const secret = String(form.get("webhook_secret") ?? "");
      if (secret) body.webhook_secret = secret;
      const result = await commandsAs(user).setWebhookChannel(body);
      return result.ok
        ? reply({ message: "Webhook saved." })
        : reply({ error: result.message, fieldErrors: result.fieldErrors }, result.status);
    }
    case "push-subscribe": {
      let subscription: unknown;
      try {
        subscription = JSON.parse(String(form.get("subscription") ?? ""));
      } catch {
        return reply({ error: "The browser did not give a push subscription." }, 400);
      }
      const result = await commandsAs(user).addPushSubscription(subscription);
      return result.ok
        ? reply({ message: "Browser notifications are on for this device." })
        : reply({ error: result.message }, result.status);
    }
  }
  return reply({ error: "Unknown action." }, 400);
}

function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf?.("timeZone") ?? ["UTC"];
}

export default function Settings() {
  const loaded = useLoaderData<typeof loader>();
  const actionData = useActionResult<typeof action>();
  const errors = (actionData?.fieldErrors ?? {}) as Record<string, string | undefined>;
  const email = loaded.channels?.find((c) => c.kind === "email");
  const webhook = loaded.channels?.find((c) => c.kind === "webhook");
  const push = loaded.channels?.find((c) => c.kind === "push");
  const zoneList = zones().includes(loaded.timeZone) ? zones() : [loaded.timeZone, ...zones()];
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Settings</h1>
      <p className="text-sm text-slate-700">Signed in as {loaded.email}</p>
      {actionData?.message || actionData?.error ? (
        <p
          role={actionData.error ? "alert" : "status"}
          className={`rounded-md p-3 text-sm ${actionData.error ? "bg-red-50 text-red-800" : "bg-emerald-50 text-emerald-900"}`}
        >
          {actionData.error ?? actionData.message}
        </p>
      ) : null}

      <section
        className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        aria-labelledby="tz-heading"
      >
        <h2 id="tz-heading" className="text-lg font-semibold">
          Time zone
        </h2>
        <Form method="post" className="mt-2 flex flex-wrap items-end gap-2">
          <CsrfInput token={loaded.csrf} />
          <input type="hidden" name="intent" value="time-zone" />
          <Field label="Your time zone (due dates are shown in it)" name="time_zone" error={errors.time_zone}>
            <select id="time_zone" name="time_zone" defaultValue={loaded.timeZone} className={inputClass}>
              {zoneList.map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </select>
          </Field>
          <button type="submit" className={buttonClass}>
            Save
          </button>
        </Form>
      </section>

      <section
        className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        aria-labelledby="notify-heading"
      >
        <h2 id="notify-heading" className="text-lg font-semibold">
          Notifications
        </h2>
        {loaded.channels === null ? (
          <p className="mt-2 text-sm text-amber-800">Notification settings are unavailable right now.</p>
        ) : (
          <div className="mt-2 space-y-4">
            <PushSetup
              vapidKey={loaded.vapidKey}
              csrf={loaded.csrf}
              devices={push?.push_subscriptions ?? 0}
            />
            <Form method="post" className="flex flex-wrap items-center gap-3">
              <CsrfInput token={loaded.csrf} />
              <input type="hidden" name="intent" value="email-channel" />
              <label className="inline-flex items-center gap-2 text-sm">
                <input type="checkbox" name="enabled" defaultChecked={email?.enabled ?? false} /> Email
                reminders to {email?.delivers_to ?? loaded.email}
              </label>
              <button type="submit" className={secondaryButtonClass}>
                Save
              </button>
            </Form>
            {email?.enabled && email.address_status !== "confirmed" ? (
              <Form
                method="post"
                className="flex flex-wrap items-center gap-3"
                data-testid="email-confirmation"
              >
                <CsrfInput token={loaded.csrf} />
                <input type="hidden" name="intent" value="email-resend" />
                <p className="text-sm text-amber-800">
                  {email.address_status === "pending"
                    ? `Confirmation sent to ${email.delivers_to}: no reminder is mailed until its link is opened.`
                    : `${email.delivers_to} is not confirmed: no reminder is mailed to it.`}
                </p>
                <button type="submit" className={secondaryButtonClass}>
                  {email.address_status === "pending" ? "Resend" : "Send confirmation link"}
                </button>
              </Form>
            ) : email?.address_status === "confirmed" ? (
              <p className="text-sm text-slate-700" data-testid="email-confirmation">
                {email.delivers_to} is confirmed.
              </p>
            ) : null}
            <Form method="post" className="grid gap-2 sm:grid-cols-2">
              <CsrfInput token={loaded.csrf} />
              <input type="hidden" name="intent" value="webhook-channel" />
              <Field label="Webhook URL" name="webhook_url" error={errors.webhook_url}>
                <input
                  id="webhook_url"
                  name="webhook_url"
                  type="url"
                  defaultValue={webhook?.webhook_url ?? ""}
                  className={inputClass}
                />
              </Field>
              <Field
                label={
                  webhook?.has_secret
                    ? "Signing secret (set; type to replace)"
                    : "Signing secret (16+ characters)"
                }
                name="webhook_secret"
                error={errors.webhook_secret}
              >
                <input
                  id="webhook_secret"
                  name="webhook_secret"
                  type="password"
                  autoComplete="off"
                  className={inputClass}
                />
              </Field>
              <label className="inline-flex items-center gap-2 text-sm">
                <input type="checkbox" name="enabled" defaultChecked={webhook?.enabled ?? false} /> Send
                reminders to this webhook
              </label>
              <div>
                <button type="submit" className={secondaryButtonClass}>
                  Save webhook
                </button>
              </div>
            </Form>
          </div>
        )}
      </section>

      <PastRemindersSetting
        policy={loaded.pastReminderPolicy}
        csrf={loaded.csrf}
        error={errors.past_reminders}
      />

      <SpokenRepliesSetting />

      <ImportExport csrf={loaded.csrf} timeZone={loaded.timeZone} />

      <CalendarFeedSection feed={loaded.calendarFeed} csrf={loaded.csrf} timeZone={loaded.timeZone} />

      <section
        className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        aria-labelledby="tokens-heading"
      >
        <h2 id="tokens-heading" className="text-lg font-semibold">
          API tokens
        </h2>
        {actionData?.secret ? (
          <div className="mt-2 rounded-md bg-amber-50 p-3 text-sm">
            <p className="font-medium">New token (shown once):</p>
            <code data-testid="new-token" className="mt-1 block break-all rounded bg-white p-2 font-mono">
              {actionData.secret}
            </code>
          </div>
        ) : null}
        <Form method="post" className="mt-3 flex flex-wrap items-end gap-2">
          <CsrfInput token={loaded.csrf} />
          <input type="hidden" name="intent" value="create-token" />
          <Field label="Token name" name="name" error={errors.name}>
            <input
              id="name"
              name="name"
              required
              maxLength={100}
              placeholder="e.g. laptop script"
              className={inputClass}
            />
          </Field>
          <Field label="Access" name="scope">
            <select id="scope" name="scope" defaultValue="read_write" className={inputClass}>
              <option value="read_write">Read and write</option>
              <option value="read">Read only</option>
            </select>
          </Field>
          <button type="submit" className={buttonClass}>
            Create token
          </button>
        </Form>
        {loaded.tokens.length === 0 ? (
          <p className="mt-3 text-sm text-slate-700">No tokens yet.</p>
        ) : (
          <ul className="mt-3 divide-y divide-slate-100">
            {loaded.tokens.map((token) => (
              <li key={token.id} className="flex flex-wrap items-center gap-2 py-2 text-sm">
                <span className="font-medium">{token.name}</span>
                <code className="rounded bg-slate-100 px-1.5 font-mono text-xs">{token.prefix}…</code>
                <span className="text-slate-700">
                  {token.scope === "read" ? "read only" : "read and write"}
                </span>
                <span className="text-slate-600">
                  {token.lastUsedAt
                    ? `last used ${formatInstant(token.lastUsedAt, loaded.timeZone)}`
                    : "never used"}
                </span>
                <Form method="post" className="ml-auto">
                  <CsrfInput token={loaded.csrf} />
                  <input type="hidden" name="intent" value="revoke-token" />
                  <input type="hidden" name="id" value={token.id} />
                  <button
                    type="submit"
                    className={dangerButtonClass}
                    aria-label={`Revoke token ${token.name}`}
                  >
                    Revoke
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

const PAST_REMINDER_CHOICES: { value: PastReminderPolicy; label: string; detail: string }[] = [
  { value: "send_now", label: "Send now", detail: "it is sent the moment the task is saved" },
  { value: "skip", label: "Skip", detail: "nothing is sent for it; the task's reminders show it as skipped" },
];

/**
 * What becomes of a reminder whose time has already passed when a task is saved (e.g. "15 min
 * before" on a task due in 10 minutes); the task editor says which of its reminders that is.
 */
function PastRemindersSetting({
  policy,
  csrf,
  error,
}: {
  policy: PastReminderPolicy;
  csrf: string;
  error: string | undefined;
}) {
  return (
    <section
      className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
      aria-labelledby="reminders-heading"
    >
      <h2 id="reminders-heading" className="text-lg font-semibold">
        Reminders
      </h2>
      {/* Keyed by the stored choice, so the radios show it again after a save or a reload. */}
      <Form key={policy} method="post" className="mt-2 space-y-3">
        <CsrfInput token={csrf} />
        <input type="hidden" name="intent" value="past-reminders" />
        <fieldset aria-describedby={error ? "past_reminders-error" : undefined}>
          <legend className="text-sm font-medium text-slate-800">
            Reminders already past when a task is saved
          </legend>
          <p className="text-xs text-slate-600">
            For a task that is not due yet, e.g. “15 min before” on a task due in 10 minutes.
          </p>
          <div className="mt-2 space-y-1">
            {PAST_REMINDER_CHOICES.map((choice) => (
              <label key={choice.value} className="flex items-center gap-2 text-sm">
                <input
                  type="radio"
                  name="past_reminders"
                  value={choice.value}
                  defaultChecked={policy === choice.value}
                />
                <span>
                  <span className="font-medium">{choice.label}</span>
                  <span className="text-slate-600">
                    {" "}
                    — {choice.detail}
                    {choice.value === "send_now" ? " (default)" : ""}
                  </span>
                </span>
              </label>
            ))}
          </div>
          {error ? (
            <p id="past_reminders-error" role="alert" className="mt-1 text-sm text-red-700">
              {error}
            </p>
          ) : null}
        </fieldset>
        <button type="submit" className={secondaryButtonClass}>
          Save
        </button>
      </Form>
    </section>
  );
}

/** Browser push: register /sw.js, subscribe with the VAPID key, hand the subscription to the server. */
function PushSetup({ vapidKey, csrf, devices }: { vapidKey: string | null; csrf: string; devices: number }) {
  const [supported, setSupported] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [subscription, setSubscription] = useState<string | null>(null);
  useEffect(() => setSupported("serviceWorker" in navigator && "PushManager" in window), []);
  const enable = async () => {
    if (!vapidKey) return;
    setStatus("Asking your browser…");
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        setStatus("Notifications are blocked for this site in your browser settings.");
        return;
      }
      const registration = await navigator.serviceWorker.register("/sw.js");
      const raw = atob(vapidKey.replace(/-/g, "+").replace(/_/g, "/"));
      const key = Uint8Array.from(raw, (c) => c.charCodeAt(0));
      const sub = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      });
      setSubscription(JSON.stringify(sub.toJSON()));
      setStatus(null);
    } catch (error) {
      setStatus(`Could not turn on notifications: ${(error as Error).message}`);
    }
  };
  return (
    <div className="space-y-2">
      <p className="text-sm text-slate-800">
        Browser notifications: {devices > 0 ? `on for ${devices} device${devices === 1 ? "" : "s"}` : "off"}
      </p>
      {subscription ? (
        <Form method="post">
          <CsrfInput token={csrf} />
          <input type="hidden" name="intent" value="push-subscribe" />
          <input type="hidden" name="subscription" value={subscription} />
          <button type="submit" className={buttonClass}>
            Confirm this device
          </button>
        </Form>
      ) : supported && vapidKey ? (
        <button type="button" onClick={() => void enable()} className={secondaryButtonClass}>
          Enable browser notifications
        </button>
      ) : (
        <p className="text-xs text-slate-600">This browser cannot receive push notifications.</p>
      )}
      {status ? (
        <p className="text-sm text-slate-700" role="status">
          {status}
        </p>
      ) : null}
    </div>
  );
}
