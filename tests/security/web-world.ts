// The web app as remix-serve runs its build (web.Dockerfile), on this worker's PostgreSQL beside its
// local Dapr sidecar, for the security suites that must go through real HTTP. Built in a scratch
// copy so web/build (the browser suite's) is left alone.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "#db/migrate.ts";
import { Topology } from "#testing/topology.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";

export interface WebApp {
  url: string;
  stop(): Promise<void>;
}

export async function startWeb(env: Record<string, string>): Promise<WebApp> {
  const scratch = mkdtempSync(path.join(tmpdir(), "orbit-security-web-"));
  cpSync(path.join(REPO_ROOT, "web"), path.join(scratch, "web"), {
    recursive: true,
    filter: (from) => !from.startsWith(path.join(REPO_ROOT, "web/build")),
  });
  for (const entry of ["packages", "node_modules", "package.json", "tsconfig.json", "prisma"])
    symlinkSync(path.join(REPO_ROOT, entry), path.join(scratch, entry));
  const webDir = path.join(scratch, "web");
  let topology: Topology | null = null;
  try {
    await promisify(execFile)(
      path.join(REPO_ROOT, "node_modules/.bin/remix"),
      ["vite:build", "--logLevel", "error"],
      { cwd: webDir, maxBuffer: 16 * 1024 * 1024 },
    );
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
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const started = topology;
  return {
    url: started.app("web").url,
    async stop() {
      await started.stop();
      rmSync(scratch, { recursive: true, force: true });
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
