// The web app as remix-serve runs its build (web.Dockerfile), on this worker's PostgreSQL beside its
// local Dapr sidecar, for the security suites that must go through real HTTP. The build is shared
// (scripts/web-build.ts: made once per change of the web app's sources).
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import { Topology } from "#testing/topology.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";
import { ensureWebBuild } from "../../scripts/web-build.ts";

export interface WebApp {
  url: string;
  stop(): Promise<void>;
}

export async function startWeb(env: Record<string, string>): Promise<WebApp> {
  const { webDir } = await ensureWebBuild();
  let topology: Topology | null = null;
  try {
    topology = await Topology.start({
      databaseUrl: await workerDatabaseUrl(),
      apps: [],
      customApps: [
        {
          appId: "web",
          argv: [path.join(REPO_ROOT, "node_modules/.bin/remix-serve"), "build/server/index.js"],
          cwd: webDir,
          env: { NODE_ENV: "production", COOKIE_SECURE: "false", DB_POOL_SIZE: "4", ...env },
        },
      ],
    });
  } catch (error) {
    await topology?.stop();
    throw error;
  }
  const started = topology;
  return {
    url: started.app("web").url,
    async stop() {
      await started.stop();
    },
  };
}

/** Posts a form the way a browser without JavaScript does; never follows a redirect. */
export async function postForm(
  base: string,
  route: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(new URL(route, base), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}
