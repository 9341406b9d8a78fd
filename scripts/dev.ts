// `make dev`: the whole product on one machine with nothing but Node and npm. Reads dapr.yaml (the
// same file `dapr run -f .` uses), starts the database (embedded PostgreSQL unless DATABASE_URL is
// set), then every app beside its own local Dapr-compatible sidecar, prefixing each output line with
// the app's name. Ctrl-C stops everything cleanly.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { REPO_ROOT } from "#db/migrate.ts";
import { openDevDatabase } from "./dev-database.ts";
import { ensureLocalSecrets, LOCAL_SECRETS_FILE, writeDerivedSecrets } from "./local-secrets.ts";
import { Supervised } from "./supervisor.ts";

// The run file's app health fields, as the Dapr CLI reads them (dapr/cli pkg/standalone/run.go
// SharedRunConfig): allowed in `common` and per app.
const healthFields = {
  enableAppHealthCheck: z.boolean().optional(),
  appHealthCheckPath: z.string().optional(),
  appHealthProbeInterval: z.number().int().optional(),
  appHealthProbeTimeout: z.number().int().optional(),
  appHealthThreshold: z.number().int().optional(),
};

const appSchema = z.object({
  ...healthFields,
  appID: z.string(),
  appDirPath: z.string(),
  appPort: z.number().int().optional(),
  daprHTTPPort: z.number().int(),
  command: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()).default({}),
});
const runFileSchema = z.object({
  version: z.literal(1),
  common: z
    .object({
      ...healthFields,
      resourcesPath: z.string().optional(),
      env: z.record(z.string(), z.string()).default({}),
    })
    .default({ env: {} }),
  apps: z.array(appSchema).min(1),
});
export type RunFile = z.infer<typeof runFileSchema>;
export type RunFileApp = RunFile["apps"][number];

export function readRunFile(file = path.join(REPO_ROOT, "dapr.yaml")): RunFile {
  return runFileSchema.parse(parse(readFileSync(file, "utf8")));
}

/**
 * The app health flags `dapr run -f` gives an app's sidecar. As the CLI does: an app's field
 * that is unset (or false, "", 0) takes the `common` value (pkg/runfileconfig
 * mergeCommonAndAppsSharedRunConfig), then `enableAppHealthCheck: true` becomes the bare flag, a
 * non-empty path and non-zero numbers are passed as they are (getArgsFromSchema). Whether
 * anything is probed is the sidecar's business, as with daprd: no flag, no health checks (the path
 * alone does nothing); the flag without a path probes daprd's default, /healthz.
 */
export function healthCheckArgs(runFile: RunFile, app: RunFileApp): string[] {
  const common = runFile.common;
  const enabled = app.enableAppHealthCheck || common.enableAppHealthCheck;
  const pathValue = app.appHealthCheckPath || common.appHealthCheckPath;
  const numbers: [string, number | undefined][] = [
    ["--app-health-probe-interval", app.appHealthProbeInterval || common.appHealthProbeInterval],
    ["--app-health-probe-timeout", app.appHealthProbeTimeout || common.appHealthProbeTimeout],
    ["--app-health-threshold", app.appHealthThreshold || common.appHealthThreshold],
  ];
  return [
    ...(enabled ? ["--enable-app-health-check"] : []),
    ...(pathValue ? ["--app-health-check-path", pathValue] : []),
    ...numbers.flatMap(([flag, value]) => (value ? [flag, String(value)] : [])),
  ];
}

/** The local sidecar's command line for one app of the run file (daprd's flags). */
export function sidecarArgs(
  runFile: RunFile,
  app: RunFileApp,
  where: { resourcesPath: string; storageUrl: string },
): string[] {
  return [
    "--app-id",
    app.appID,
    ...(app.appPort ? ["--app-port", String(app.appPort)] : []),
    "--dapr-http-port",
    String(app.daprHTTPPort),
    "--resources-path",
    where.resourcesPath,
    "--storage-url",
    where.storageUrl,
    ...healthCheckArgs(runFile, app),
  ];
}

const COLORS = [36, 33, 35, 32, 34, 91, 92, 93, 94, 95, 96];
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const width = 22;

function prefixer(name: string, index: number) {
  const label = name.padEnd(width).slice(0, width);
  const tag = useColor ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m` : label;
  return (line: string) => {
    if (!line.trim()) return;
    // Functions log JSON lines; show them compactly: time level msg key=value…
    let text = line;
    if (line.startsWith("{")) {
      try {
        const { time, level, msg, service: _service, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const fields = Object.entries(rest)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join(" ");
        text = `${String(time ?? "").slice(11, 23)} ${String(level ?? "").padEnd(5)} ${msg} ${fields}`;
      } catch {
        // not JSON after all
      }
    }
    process.stdout.write(`${tag} │ ${text}\n`);
  };
}

/** `npx <bin>` in dapr.yaml runs the project's own binary directly (no npm wrapper between signals). */
function resolveCommand(command: string[]): string[] {
  if (command[0] === "npx" && command[1]) {
    const bin = path.join(REPO_ROOT, "node_modules/.bin", command[1]);
    if (existsSync(bin)) return [bin, ...command.slice(2)];
  }
  return command;
}

async function main(): Promise<void> {
  const runFile = readRunFile();
  const log = prefixer("dev", 0);
  const children: { name: string; supervised: Supervised }[] = [];
  let stopping = false;

  const added = ensureLocalSecrets();
  if (added.length) log(`generated local secrets (${added.join(", ")}) in .local/secrets.json`);
  const secrets = JSON.parse(readFileSync(LOCAL_SECRETS_FILE, "utf8")) as Record<
    string,
    Record<string, string>
  >;

  log("starting the database…");
  const database = await openDevDatabase(true, prefixer("postgres", 1));
  log(
    `database ready: ${database.embedded ? `embedded PostgreSQL, data in .data/dev-postgres` : "DATABASE_URL"}`,
  );
  writeDerivedSecrets({ databaseUrl: database.url });

  const resourcesPath = path.resolve(REPO_ROOT, runFile.common.resourcesPath ?? "dapr-components/local");
  const sidecarMain = path.join(REPO_ROOT, "packages/local-dapr/src/main.ts");
  const tsx = path.join(REPO_ROOT, "node_modules/.bin/tsx");

  // Each process is restarted with a back-off when it dies, as Kubernetes would (supervisor.ts).
  const start = (name: string, index: number, argv: string[], cwd: string, env: NodeJS.ProcessEnv) => {
    const say = prefixer(name, index);
    const supervised = new Supervised({ argv, cwd, env, output: say, say });
    supervised.start();
    children.push({ name, supervised });
  };

  // One app API token for every app and its sidecar (dapr.yaml says why it is not in the run file).
  const appToken = process.env.APP_API_TOKEN || secrets["app-token"]!.token;
  runFile.apps.forEach((app, i) => {
    const env = {
      ...process.env,
      ...runFile.common.env,
      ...app.env,
      APP_ID: app.appID,
      DATABASE_URL: database.url,
      // Operator routes (dead-letters); the token is in .local/secrets.json under admin.token.
      ...(process.env.ADMIN_TOKEN || secrets.admin?.token
        ? { ADMIN_TOKEN: process.env.ADMIN_TOKEN || secrets.admin!.token }
        : {}),
      DAPR_HTTP_PORT: String(app.daprHTTPPort),
      APP_API_TOKEN: appToken,
      ...(app.appPort ? { PORT: String(app.appPort), APP_PORT: String(app.appPort) } : {}),
    };
    start(
      `${app.appID}~dapr`,
      i + 2,
      [tsx, sidecarMain, ...sidecarArgs(runFile, app, { resourcesPath, storageUrl: database.url })],
      REPO_ROOT,
      { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "info", APP_API_TOKEN: appToken },
    );
    start(app.appID, i + 2, resolveCommand(app.command), path.resolve(REPO_ROOT, app.appDirPath), env);
  });

  log(`starting ${runFile.apps.length} apps, each beside its sidecar…`);
  void announceReady(runFile, log, () => stopping);

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping ${children.length} processes…`);
    await Promise.all(children.map(({ supervised }) => supervised.stop()));
    await database.stop();
    log("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/** Which brain the assistant runs: a model only when .local/secrets.json names one. */
function modelLine(): string {
  try {
    const secrets = JSON.parse(readFileSync(LOCAL_SECRETS_FILE, "utf8")) as Record<
      string,
      Record<string, string>
    >;
    const model = secrets["assistant-model"];
    if (model?.base_url && model.model) return `model ${model.model} at ${model.base_url}`;
  } catch {
    // no secrets file yet: no model
  }
  return "no model configured, the offline assistant answers (nothing leaves this machine)";
}

/**
 * Waits (up to 3 min: a busy machine is slow) until every app answers its readiness path through
 * its own port, then prints one block saying where things are; an app still not ready is named.
 */
async function announceReady(runFile: RunFile, log: (line: string) => void, stopped: () => boolean) {
  const deadline = Date.now() + 180_000;
  const apps = runFile.apps.filter((app) => app.appPort);
  const pending = new Set(apps.map((app) => app.appID));
  while (pending.size > 0 && Date.now() < deadline && !stopped()) {
    await Promise.all(
      apps
        .filter((app) => pending.has(app.appID))
        .map(async (app) => {
          const readiness = app.appHealthCheckPath ?? runFile.common.appHealthCheckPath ?? "/healthz";
          try {
            const res = await fetch(`http://127.0.0.1:${app.appPort}${readiness}`, {
              signal: AbortSignal.timeout(2_000),
            });
            if (res.ok) pending.delete(app.appID);
          } catch {
            // not listening yet
          }
        }),
    );
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (stopped()) return;
  const web = apps.find((app) => app.appID === "web");
  const lines = [
    "────────────────────────────────────────────────────────────",
    pending.size === 0
      ? `Orbit is ready: ${apps.length} apps, each beside its local Dapr sidecar.`
      : `Not ready after 3 min: ${[...pending].join(", ")} (their lines above say why). The rest is up.`,
    ...(web
      ? [`  Open  http://localhost:${web.appPort}  (sign up there; it is your own local account)`]
      : []),
    "  API   make token EMAIL=you@example.com prints a token for curl (docs/openapi.json)",
    ...(apps.some((app) => app.appID === "assistant")
      ? [`  Chat  the assistant (docs/assistant.md): ${modelLine()}`]
      : []),
    "  Stop  Ctrl-C stops every process and the database",
    "────────────────────────────────────────────────────────────",
  ];
  for (const line of lines) log(line);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
