// The session cookie and the signed-in user of a request. The cookie holds the session secret
// (HttpOnly, SameSite=Lax, Secure + __Host- prefix in production, 30 days, renewed as it slides).
import { redirect } from "@remix-run/node";
import { csrfToken, verifyCsrfToken } from "#accounts/csrf.ts";
import { createSession, destroySession, sessionUser, type SessionUser } from "#accounts/sessions.ts";
import { getDb } from "./db.server.ts";
import { env } from "./env.server.ts";

export interface CurrentUser extends SessionUser {
  /** The session secret: the web calls the command functions with `Authorization: Session <it>`. */
  secret: string;
  csrf: string;
}

function secure(): boolean {
  return env().COOKIE_SECURE ?? env().NODE_ENV === "production";
}

/** `__Host-` makes the browser refuse the cookie unless Secure, path=/ and host-only (RFC 6265bis). */
export function cookieName(): string {
  return secure() ? "__Host-orbit_session" : "orbit_session";
}

function readCookie(request: Request): string | null {
  const header = request.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === cookieName()) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function sessionCookie(secret: string, expiresAt: Date): string {
  const attributes = [`${cookieName()}=${encodeURIComponent(secret)}`, "Path=/", "HttpOnly", "SameSite=Lax"];
  attributes.push(`Expires=${expiresAt.toUTCString()}`);
  if (secure()) attributes.push("Secure");
  return attributes.join("; ");
}

function clearedCookie(): string {
  return `${cookieName()}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure() ? "; Secure" : ""}`;
}

/**
 * The user of each request, resolved once: a page's loaders (root's and the route's) run in
 * parallel on the same Request, and each asked the database for the same session (and could
 * both renew it).
 */
const usersOfRequests = new WeakMap<Request, Promise<CurrentUser | null>>();

export function currentUser(request: Request): Promise<CurrentUser | null> {
  let user = usersOfRequests.get(request);
  if (!user) {
    user = resolveUser(request);
    usersOfRequests.set(request, user);
  }
  return user;
}

async function resolveUser(request: Request): Promise<CurrentUser | null> {
  const secret = readCookie(request);
  if (!secret) return null;
  const user = await sessionUser(getDb(), secret, new Date());
  return user ? { ...user, secret, csrf: csrfToken(user.csrfSecret) } : null;
}

/** The signed-in user, or a redirect to the sign-in page that comes back here afterwards. */
export async function requireUser(request: Request): Promise<CurrentUser> {
  const user = await currentUser(request);
  if (user) return user;
  const url = new URL(request.url);
  const back = url.pathname + url.search;
  throw redirect(back === "/" ? "/login" : `/login?redirectTo=${encodeURIComponent(back)}`);
}

/** For actions: the user, and a 403 unless the form's CSRF token is this session's. */
export async function requireUserWithCsrf(request: Request, form: FormData): Promise<CurrentUser> {
  const user = await requireUser(request);
  if (!verifyCsrfToken(user.csrfSecret, form.get("csrf"))) {
    throw new Response("The form expired or did not come from Orbit. Reload the page and try again.", {
      status: 403,
    });
  }
  return user;
}

/** Headers that renew the cookie when the session's expiry slid. */
export function renewalHeaders(user: CurrentUser | null): HeadersInit {
  return user?.renewed ? { "Set-Cookie": sessionCookie(user.secret, user.expiresAt) } : {};
}

export async function startSession(userId: string, request: Request, redirectTo: string) {
  const { secret, expiresAt } = await createSession(
    getDb(),
    userId,
    request.headers.get("user-agent"),
    new Date(),
  );
  return redirect(redirectTo, { headers: { "Set-Cookie": sessionCookie(secret, expiresAt) } });
}

export async function endSession(request: Request) {
  const secret = readCookie(request);
  if (secret) await destroySession(getDb(), secret);
  return redirect("/login", { headers: { "Set-Cookie": clearedCookie() } });
}
