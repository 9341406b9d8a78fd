// Every function's HTTP routes and subscriptions, loaded from functions/*/handler.ts: the input of
// the generated OpenAPI and AsyncAPI documents (scripts/openapi.ts, scripts/asyncapi.ts).
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import type { AnyRouteDef, SubscriptionDef } from "#platform/host.ts";

export interface FunctionApi {
  name: string;
  routes: AnyRouteDef[];
  subscriptions: SubscriptionDef[];
}

interface HandlerModule {
  routes?: AnyRouteDef[];
  subscriptions?: SubscriptionDef[];
  /** notifications binds its routes to its VAPID keys at start. */
  notificationsFunction?: (deps: { vapid: { publicKey: string; privateKey: string; subject: string } }) => {
    routes: AnyRouteDef[];
    subscriptions: SubscriptionDef[];
  };
  /** on-reminder-fired binds its reminder action routes to the keys their tokens are checked with. */
  reminderActionRoutes?: (keys: { current: string; keys: ReadonlyMap<string, Buffer> }) => AnyRouteDef[];
}

/** The functions in name order (the documents' order). */
export async function loadFunctionApis(): Promise<FunctionApi[]> {
  const out: FunctionApi[] = [];
  for (const name of readdirSync(path.join(REPO_ROOT, "functions")).sort()) {
    const handler = path.join(REPO_ROOT, "functions", name, "handler.ts");
    if (!existsSync(handler)) continue;
    const mod = (await import(handler)) as HandlerModule;
    // Documentation never calls a handler, so keys that only sign pushes or check action tokens
    // need no real value.
    const bound = mod.notificationsFunction?.({ vapid: { publicKey: "", privateKey: "", subject: "" } });
    const actionRoutes = mod.reminderActionRoutes?.({ current: "docs", keys: new Map() }) ?? [];
    out.push({
      name,
      routes: bound?.routes ?? [...(mod.routes ?? []), ...actionRoutes],
      subscriptions: bound?.subscriptions ?? mod.subscriptions ?? [],
    });
  }
  return out;
}
