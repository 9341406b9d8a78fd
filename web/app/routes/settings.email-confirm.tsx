// The link in the email channel's confirmation mail lands here. Signing in first (requireUser
// comes back here afterwards) binds it to an account: notifications confirms the address only for
// the account that asked for the link, once (functions/notifications/email-confirmation.ts).
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { commandsAs } from "../lib/commands.server.ts";
import { renewalHeaders, requireUser } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Confirm email · Orbit" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const token = new URL(request.url).searchParams.get("token") ?? "";
  const result = await commandsAs(user).confirmEmail(token);
  const outcome = result.ok
    ? { ok: true, message: `${result.body.delivers_to} is confirmed: reminders will be mailed to it.` }
    : {
        ok: false,
        message:
          result.status === 404
            ? "This link is not valid for the account you are signed in to, or it was already used."
            : result.message,
      };
  return data(outcome, { status: result.ok ? 200 : result.status, headers: renewalHeaders(user) });
}

export default function ConfirmEmail() {
  const outcome = useLoaderData<typeof loader>();
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Confirm email</h1>
      <p
        role={outcome.ok ? "status" : "alert"}
        className={`rounded-md p-3 text-sm ${outcome.ok ? "bg-emerald-50 text-emerald-900" : "bg-red-50 text-red-800"}`}
      >
        {outcome.message}
      </p>
      <Link to="/settings" className="text-sm underline">
        Back to settings
      </Link>
    </div>
  );
}
