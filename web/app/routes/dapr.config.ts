// daprd asks every app for its configuration at start (GET /dapr/config, for actors; dapr
// pkg/runtime loadAppConfiguration) and takes a 404 as "none". Answered here so the web app has no
// actors to declare and logs no "no route matches" error for it; only the sidecar may ask.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { refuseUnlessSidecar } from "../lib/delivery.server.ts";

export function loader({ request }: LoaderFunctionArgs) {
  return refuseUnlessSidecar(request) ?? new Response(null, { status: 404 });
}
