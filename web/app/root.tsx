import type { LinksFunction, LoaderFunctionArgs } from "@remix-run/node";
import {
  Form,
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useNavigation,
  useRouteError,
  useRouteLoaderData,
} from "@remix-run/react";
import { latestLiveUpdateId } from "#tasks/live-updates.ts";
import { LiveSync } from "./components/live-sync.tsx";
import { ReminderActionQueue } from "./components/reminder-action-queue.tsx";
import { UndoProvider } from "./components/undo.tsx";
import { getDb } from "./lib/db.server.ts";
import { useNonce } from "./lib/nonce.tsx";
import { currentUser } from "./lib/session.server.ts";
import stylesheet from "./tailwind.css?url";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await currentUser(request);
  if (!user) return { user: null };
  const liveAfter = await latestLiveUpdateId(getDb(), user.userId);
  return {
    user: { email: user.email, timeZone: user.timeZone, csrf: user.csrf },
    liveAfter: liveAfter.toString(),
  };
}

export type RootData = Awaited<ReturnType<typeof loader>>;

export function useRootUser() {
  const data = useRouteLoaderData<typeof loader>("root");
  return data?.user ?? null;
}

export function Layout({ children }: { children: React.ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en" className="h-full bg-slate-50">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <Meta />
        <Links />
      </head>
      <body className="h-full font-sans text-slate-900 antialiased">
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

function Header() {
  const data = useRouteLoaderData<typeof loader>("root");
  const user = data?.user;
  const navLink = ({ isActive }: { isActive: boolean }) =>
    `rounded-md px-3 py-1.5 text-sm font-medium ${isActive ? "bg-indigo-50 text-indigo-700" : "text-slate-700 hover:bg-slate-100"}`;
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-4xl flex-wrap items-center gap-2 px-4 py-3">
        <Link to="/" className="mr-auto flex items-center gap-2 text-lg font-semibold text-slate-900">
          <img src="/favicon.svg" alt="" className="h-6 w-6" />
          Orbit
        </Link>
        {user ? (
          <nav aria-label="Main" className="flex items-center gap-1">
            <NavLink to="/" end className={navLink}>
              Tasks
            </NavLink>
            <NavLink to="/settings" className={navLink}>
              Settings
            </NavLink>
            <Form method="post" action="/logout">
              <input type="hidden" name="csrf" value={user.csrf} />
              <button
                type="submit"
                className="rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-100"
              >
                Sign out
              </button>
            </Form>
          </nav>
        ) : null}
      </div>
    </header>
  );
}

export default function App() {
  const data = useRouteLoaderData<typeof loader>("root");
  const navigation = useNavigation();
  return (
    <UndoProvider csrf={data?.user?.csrf ?? null}>
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:bg-white focus:p-2"
      >
        Skip to content
      </a>
      <Header />
      <div
        role="status"
        aria-live="polite"
        className={`fixed left-0 right-0 top-0 h-1 bg-indigo-500 transition-opacity ${navigation.state === "idle" ? "opacity-0" : "opacity-100 animate-pulse"}`}
      >
        <span className="sr-only">{navigation.state === "idle" ? "" : "Loading…"}</span>
      </div>
      <main id="main" className="mx-auto max-w-4xl px-4 py-6">
        <Outlet />
      </main>
      {data?.user && "liveAfter" in data ? <LiveSync after={data.liveAfter} /> : null}
      <ReminderActionQueue />
    </UndoProvider>
  );
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error)
    ? typeof error.data === "string"
      ? error.data
      : error.statusText
    : "Something went wrong on our side. Please try again.";
  return (
    <main id="main" className="mx-auto max-w-xl px-4 py-16 text-center">
      <title>{`${status} · Orbit`}</title>
      <h1 className="text-2xl font-semibold">
        {status === 404 ? "Not found" : status === 403 ? "Forbidden" : "Error"}
      </h1>
      <p className="mt-3 text-slate-700">{message}</p>
      <Link to="/" className="mt-6 inline-block text-indigo-700 underline">
        Back to your tasks
      </Link>
    </main>
  );
}
