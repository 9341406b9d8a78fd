// Liveness (/healthz) and readiness (/readyz: the database answers) for the sidecar and Knative.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { getDb } from "../lib/db.server.ts";
import { env } from "../lib/env.server.ts";

export async function loader({ request }: LoaderFunctionArgs) {
  if (new URL(request.url).pathname === "/healthz") return new Response("ok");
  // An invalid environment (e.g. no APP_API_TOKEN in production) is never ready: this throws, and
  // the error names each wrong variable in the log.
  env();
  try {
    await getDb().$queryRaw`SELECT 1`;
    return new Response("ready");
  } catch {
    return new Response("database unavailable", { status: 503 });
  }
}
