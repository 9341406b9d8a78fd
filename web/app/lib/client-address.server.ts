// The one place the web app reads a client's address (sign-in and sign-up limits).
import { clientAddress } from "#platform/client-address.ts";
import { env } from "./env.server.ts";

/** remix-serve hands routes a Fetch Request without the socket, so hop 0 is unknown here. */
export function requestClientAddress(request: Request): string {
  return clientAddress(request.headers.get("x-forwarded-for"), null, env().TRUSTED_PROXY_HOPS);
}
