// Where "Ask the assistant" leads without JavaScript: the chat streams its replies into the page,
// which needs JavaScript, so this page says so instead of offering a form that cannot work. With
// JavaScript (e.g. the link opened in a new tab) it goes on to the task list with the panel open.
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useNavigate } from "@remix-run/react";
import { useEffect } from "react";
import { renewalHeaders, requireUser } from "../lib/session.server.ts";

export const meta: MetaFunction = () => [{ title: "Assistant · Orbit" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  return data({}, { headers: renewalHeaders(user) });
}

export default function Assistant() {
  const navigate = useNavigate();
  useEffect(() => {
    navigate("/", { replace: true, state: { openAssistant: true } });
  }, [navigate]);
  return (
    <div className="mx-auto max-w-xl space-y-3 rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="text-xl font-semibold">The assistant needs JavaScript</h1>
      <p className="text-slate-700">
        The assistant writes its replies into the page as it works, which takes JavaScript. Turn JavaScript on
        for this site and reload this page to talk to it.
      </p>
      <p className="text-slate-700">
        Everything else works without it: add tasks with the quick-add box, e.g. “Call mom tomorrow 6pm
        #family”, and set reminders on a task’s page.
      </p>
      <Link to="/" className="inline-block text-indigo-700 underline">
        Back to your tasks
      </Link>
    </div>
  );
}
