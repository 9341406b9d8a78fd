import type { ActionFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { endSession, requireUserWithCsrf } from "../lib/session.server.ts";

export async function action({ request }: ActionFunctionArgs) {
  await requireUserWithCsrf(request, await request.formData());
  return endSession(request);
}

export function loader() {
  return redirect("/");
}
