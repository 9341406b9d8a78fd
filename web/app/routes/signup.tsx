import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation } from "@remix-run/react";
import { useEffect, useState } from "react";
import { signUp, signUpSchema, takeSignUpAttempt } from "#accounts/accounts.ts";
import { PASSWORD_MIN } from "#accounts/rules.ts";
import { buttonClass, Field, inputClass } from "../components/ui.tsx";
import { requestClientAddress } from "../lib/client-address.server.ts";
import { getDb } from "../lib/db.server.ts";
import { currentUser, startSession } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Create your account · Orbit" }];

/** A document POST renders the page: the action's Retry-After reaches the response only from here. */
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};

export async function loader({ request }: LoaderFunctionArgs) {
  if (await currentUser(request)) return redirect("/");
  return null;
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await request.formData();
  const email = String(form.get("email") ?? "");
  const parsed = signUpSchema.safeParse({
    email: form.get("email"),
    password: form.get("password"),
    time_zone: form.get("time_zone") || "UTC",
  });
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
    return data({ email, errors }, { status: 400 });
  }
  // Counted before the hash: each costs 32 MiB and real CPU time (#platform/passwords.ts).
  const allowed = await takeSignUpAttempt(getDb(), requestClientAddress(request), new Date());
  if (allowed.limited) {
    const minutes = Math.ceil(allowed.retryAfterSeconds / 60);
    return data(
      {
        email,
        errors: {
          email: `Too many new accounts from your network. Please try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
        } as Record<string, string>,
      },
      { status: 429, headers: { "Retry-After": String(allowed.retryAfterSeconds) } },
    );
  }
  const result = await signUp(getDb(), parsed.data);
  if (!result.ok)
    return data(
      { email, errors: { [result.field]: result.message } as Record<string, string> },
      { status: 400 },
    );
  return startSession(result.userId, request, "/");
}

export default function Signup() {
  const actionData = useActionData<typeof action>();
  const busy = useNavigation().state === "submitting";
  // The browser knows the user's zone; without JavaScript the account starts in UTC (editable in Settings).
  const [zone, setZone] = useState("UTC");
  useEffect(() => setZone(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"), []);
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="text-2xl font-semibold">Create your Orbit account</h1>
      <Form
        method="post"
        className="mt-6 space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm"
      >
        <input type="hidden" name="time_zone" value={zone} />
        <Field label="Email" name="email" error={actionData?.errors.email}>
          <input
            id="email"
            name="email"
            type="email"
            autoComplete="email"
            required
            defaultValue={actionData?.email}
            className={inputClass}
          />
        </Field>
        <Field
          label="Password"
          name="password"
          error={actionData?.errors.password}
          hint={`At least ${PASSWORD_MIN} characters.`}
        >
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={PASSWORD_MIN}
            className={inputClass}
          />
        </Field>
        <p className="text-xs text-slate-600">
          Time zone: <span data-testid="signup-zone">{zone}</span>
        </p>
        <button type="submit" className={`${buttonClass} w-full`} disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
      </Form>
      <p className="mt-4 text-center text-sm text-slate-700">
        Already have an account?{" "}
        <Link to="/login" className="font-medium text-indigo-700 underline">
          Sign in
        </Link>
      </p>
    </div>
  );
}
