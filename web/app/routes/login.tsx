import type { ActionFunctionArgs, HeadersFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useNavigation, useSearchParams } from "@remix-run/react";
import { signIn, signInSchema } from "#accounts/accounts.ts";
import { safeRedirect } from "#accounts/redirect.ts";
import { buttonClass, Field, inputClass } from "../components/ui.tsx";
import { requestClientAddress } from "../lib/client-address.server.ts";
import { getDb } from "../lib/db.server.ts";
import { currentUser, startSession } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Sign in · Orbit" }];

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
  const parsed = signInSchema.safeParse({ email: form.get("email"), password: form.get("password") });
  const email = String(form.get("email") ?? "");
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
    return data({ email, errors, message: null as string | null }, { status: 400 });
  }
  const result = await signIn(getDb(), parsed.data, requestClientAddress(request), new Date());
  if (result.ok) return startSession(result.userId, request, safeRedirect(form.get("redirectTo")));
  if (result.reason === "rate_limited") {
    const minutes = Math.ceil(result.retryAfterSeconds / 60);
    return data(
      {
        email,
        errors: {} as Record<string, string>,
        message: `Too many attempts. For your security, please wait ${minutes} minute${minutes === 1 ? "" : "s"} before trying again.`,
      },
      { status: 429, headers: { "Retry-After": String(result.retryAfterSeconds) } },
    );
  }
  return data(
    {
      email,
      errors: {} as Record<string, string>,
      message: "That email and password do not match an account.",
    },
    { status: 401 },
  );
}

export default function Login() {
  const actionData = useActionData<typeof action>();
  const [params] = useSearchParams();
  const busy = useNavigation().state === "submitting";
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="text-2xl font-semibold">Sign in to Orbit</h1>
      <p className="mt-1 text-sm text-slate-700">Your tasks, in sync on every device.</p>
      <Form
        method="post"
        className="mt-6 space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm"
      >
        <input type="hidden" name="redirectTo" value={params.get("redirectTo") ?? "/"} />
        {actionData?.message ? (
          <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800">
            {actionData.message}
          </p>
        ) : null}
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
        <Field label="Password" name="password" error={actionData?.errors.password}>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            className={inputClass}
          />
        </Field>
        <button type="submit" className={`${buttonClass} w-full`} disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </Form>
      <p className="mt-4 text-center text-sm text-slate-700">
        New to Orbit?{" "}
        <Link to="/signup" className="font-medium text-indigo-700 underline">
          Create an account
        </Link>
      </p>
    </div>
  );
}
