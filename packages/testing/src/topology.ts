// A `make dev`-style topology for end-to-end tests: every app as its own OS process (bundled with
// esbuild, as in production), each beside its own Dapr sidecar process, on ephemeral ports, over
// the test worker's database. The sidecar is the local one or real daprd with the Scheduler and
// Kafka (runtime.ts, ORBIT_DAPR_RUNTIME). Tests can SIGKILL and restart any process.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import webpush from "web-push";
import { REPO_ROOT } from "#db/migrate.ts";
import { bundle } from "../../../scripts/build.ts";
import { BOOT_TIMEOUT_MS, daprdArgv, daprdPorts, type DaprdOptions } from "./daprd.ts";
import { freePort, waitFor } from "./ports.ts";
import {
  daprBacking,
  daprdResources,
  releaseDaprBacking,
  RUNTIME,
  type DaprBacking,
  type RuntimeKind,
} from "./runtime.ts";

const bundles = new Map<string, Promise<string>>();

/** Bundles an entry once per test process. */
export function bundled(key: string, entry: string): Promise<string> {
  let built = bundles.get(key);
  if (!built) {
    const outDir = path.join(REPO_ROOT, "dist/test-bundles", String(process.pid));
    mkdirSync(outDir, { recursive: true });
    const outfile = path.join(outDir, `${key}.mjs`);
    built = bundle(path.join(REPO_ROOT, entry), outfile, { minify: false }).then(() => outfile);
    bundles.set(key, built);
  }
  return built;
}

/**
 * dapr-components/local, with its secret store pointed at a secrets file of this test run (the
 * developer's .local/secrets.json does not exist in CI), holding what the components and the
 * functions read: the state store's connection string, VAPID keys, the webhook secret key and the
 * reminder action key.
 */
function localResources(databaseUrl: string, replace: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "orbit-resources-"));
  const secretsFile = path.join(dir, "secrets.json");
  const vapid = webpush.generateVAPIDKeys();
  writeFileSync(
    secretsFile,
    JSON.stringify({
      pgConnectionString: { pgConnectionString: databaseUrl },
      vapid: {
        public_key: vapid.publicKey,
        private_key: vapid.privateKey,
        subject: "mailto:test@orbit.invalid",
      },
      "webhook-secret-key": { current: "k1", k1: randomBytes(32).toString("base64url") },
      // Read by notifications (signs a reminder's action links) and on-reminder-fired (verifies).
      "reminder-action-key": { current: "k1", k1: randomBytes(32).toString("base64url") },
    }),
  );
  const source = path.join(REPO_ROOT, "dapr-components/local");
  for (const file of readdirSync(source).filter((f) => f.endsWith(".yaml"))) {
    const text = readFileSync(path.join(source, file), "utf8")
      .replace(/value: \.local\/secrets\.json/g, `value: ${secretsFile}`)
      .replace(/value: \.data\/mail/g, `value: ${path.join(dir, "mail")}`);
    writeFileSync(path.join(dir, file), text);
  }
  for (const [file, source] of Object.entries(replace)) {
    writeFileSync(path.join(dir, file), readFileSync(path.resolve(REPO_ROOT, source)));
  }
  return dir;
}

class ProcessExited extends Error {}

interface Proc {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  child: ChildProcess | null;
  output: string[];
}

export interface TopologyApp {
  /** Function folder name = app-id (several instances may share one). */
  appId: string;
  appPort: number;
  daprPort: number;
  url: string;
  daprUrl: string;
}

export interface TopologyOptions {
  databaseUrl: string;
  /** Function names under functions/. */
  apps: string[];
  /** Component/subscription/resiliency YAML folder for the sidecars (default dapr-components/local). */
  resourcesPath?: string;
  /** Extra env for every function process. */
  env?: Record<string, string>;
  /** Files of dapr-components/local to replace (or add), by file name → path of the replacement. */
  replaceResources?: Record<string, string>;
  /** Which sidecar the apps run beside (default: ORBIT_DAPR_RUNTIME, see runtime.ts). */
  runtime?: RuntimeKind;
  /** daprd's app health probe (see DaprdOptions); the local sidecar keeps its own. */
  appHealthProbe?: DaprdOptions["appHealthProbe"];
  /**
   * Apps that are not bundled functions (e.g. the web app), each started by its own command
   * beside its own sidecar, with PORT, DATABASE_URL and DAPR_HTTP_PORT set like a function's.
   */
  customApps?: CustomApp[];
  /** Extra node flags for every bundled function process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}

export interface CustomApp {
  appId: string;
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export class Topology {
  readonly apps = new Map<string, TopologyApp>();
  private readonly procs = new Map<string, Proc>();
  /** Which sidecar the apps run beside. */
  readonly runtime: RuntimeKind;
  /** Kafka, the Scheduler and the mail relay, when the runtime is real daprd. */
  backing: DaprBacking | null = null;
  /**
   * The Dapr app API token every app requires on its delivery routes and every sidecar sends
   * (APP_API_TOKEN in both environments, as `dapr.io/app-token-secret` sets it in production).
   */
  readonly appToken = randomBytes(32).toString("hex");

  private constructor(private readonly options: TopologyOptions) {
    this.runtime = options.runtime ?? RUNTIME;
  }

  static async start(options: TopologyOptions): Promise<Topology> {
    const topology = new Topology(options);
    try {
      await topology.boot();
    } catch (error) {
      // Processes already spawned must not outlive a failed start (the caller has no handle).
      await topology.stop();
      throw error;
    }
    return topology;
  }

  get databaseUrl(): string {
    return this.options.databaseUrl;
  }

  app(appId: string): TopologyApp {
    const app = this.apps.get(appId);
    if (!app) throw new Error(`no app ${appId} in this topology`);
    return app;
  }

  private resourcesPath = "";
  private sidecarBundle = "";

  private async boot(): Promise<void> {
    if (this.runtime === "local") {
      this.sidecarBundle = await bundled("local-dapr", "packages/local-dapr/src/main.ts");
    }
    this.resourcesPath = this.options.resourcesPath
      ? path.resolve(REPO_ROOT, this.options.resourcesPath)
      : localResources(this.options.databaseUrl, this.options.replaceResources ?? {});
    if (this.runtime === "daprd") {
      this.backing = await daprBacking();
      this.resourcesPath = await daprdResources(this.resourcesPath, this.backing);
    }
    const custom = new Map((this.options.customApps ?? []).map((app) => [app.appId, app]));
    for (const appId of [...this.options.apps, ...custom.keys()]) {
      await this.define(appId, appId, custom.get(appId));
    }
    for (const key of this.procs.keys()) this.spawn(key);
    await Promise.all([...this.apps.keys()].map((appId) => this.waitReady(appId)));
  }

  /**
   * Another instance of a function (same app-id, so the same consumer group and jobs owner), as a
   * second pod would be: its own app process beside its own sidecar. Returns its key for app(),
   * kill(), restart() and logs().
   */
  async addInstance(appId: string): Promise<string> {
    let n = 2;
    while (this.apps.has(`${appId}#${n}`)) n += 1;
    const key = `${appId}#${n}`;
    await this.define(key, appId, undefined);
    this.spawn(`${key}:app`);
    this.spawn(`${key}:sidecar`);
    await this.waitReady(key);
    return key;
  }

  private async define(key: string, appId: string, customApp: CustomApp | undefined): Promise<void> {
    const [appPort, daprPort] = [await freePort(), await freePort()];
    const appArgv = customApp
      ? customApp.argv
      : [
          process.execPath,
          ...(this.options.nodeArgs ?? []),
          await bundled(appId, `functions/${appId}/index.ts`),
        ];
    this.apps.set(key, {
      appId,
      appPort,
      daprPort,
      url: `http://127.0.0.1:${appPort}`,
      daprUrl: `http://127.0.0.1:${daprPort}`,
    });
    this.procs.set(`${key}:app`, {
      argv: appArgv,
      cwd: customApp?.cwd,
      env: {
        ...process.env,
        NODE_ENV: "test",
        PORT: String(appPort),
        DATABASE_URL: this.options.databaseUrl,
        DAPR_HTTP_PORT: String(daprPort),
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
        OUTBOX_SWEEP_INTERVAL_MS: "200",
        DB_POOL_SIZE: "4",
        APP_API_TOKEN: this.appToken,
        ...this.options.env,
        ...customApp?.env,
      },
      child: null,
      output: [],
    });
    // App health checks as dapr.yaml and the Knative Services configure them: a restarting app
    // (or one whose database is gone) pauses deliveries.
    const sidecarArgv =
      this.backing !== null
        ? daprdArgv({
            appId,
            appPort,
            ports: await daprdPorts(daprPort),
            resourcesPath: this.resourcesPath,
            configPath: this.backing.configPath,
            schedulerAddress: this.backing.scheduler.address,
            appHealthCheckPath: "/readyz",
            appHealthProbe: this.options.appHealthProbe,
          })
        : [
            process.execPath,
            this.sidecarBundle,
            "--app-id",
            appId,
            "--app-port",
            String(appPort),
            "--dapr-http-port",
            String(daprPort),
            "--resources-path",
            this.resourcesPath,
            "--storage-url",
            this.options.databaseUrl,
            "--enable-app-health-check",
          ];
    this.procs.set(`${key}:sidecar`, {
      argv: sidecarArgv,
      // daprd and the local sidecar both read APP_API_TOKEN and send it as `dapr-api-token`.
      env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn", APP_API_TOKEN: this.appToken },
      child: null,
      output: [],
    });
  }

  private spawn(key: string): void {
    const proc = this.procs.get(key)!;
    const [cmd, ...args] = proc.argv;
    const child = spawn(cmd!, args, { env: proc.env, cwd: proc.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk: Buffer) => {
      proc.output.push(...chunk.toString().split("\n").filter(Boolean));
      if (proc.output.length > 400) proc.output.splice(0, proc.output.length - 400);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    proc.child = child;
  }

  /**
   * Waits until the app answers /readyz and its sidecar reports the app channel healthy. The bound
   * is generous (a loaded 2-core machine is slow to boot JVMs and Node bundles); a process that
   * exits meanwhile fails the wait at once.
   */
  async waitReady(appId: string): Promise<void> {
    const app = this.app(appId);
    const exited = (which: "app" | "sidecar") => {
      const child = this.procs.get(`${appId}:${which}`)?.child;
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new ProcessExited(`${appId}'s ${which} exited (${child.exitCode ?? child.signalCode})`);
      }
    };
    const isExit = (error: unknown) => error instanceof ProcessExited;
    try {
      await waitFor(
        `${appId} ready`,
        async () => (exited("app"), (await fetch(`${app.url}/readyz`)).ok),
        BOOT_TIMEOUT_MS,
        25,
        isExit,
      );
      await waitFor(
        `${appId} sidecar healthy`,
        async () => (exited("sidecar"), (await fetch(`${app.daprUrl}/v1.0/healthz`)).status === 204),
        BOOT_TIMEOUT_MS,
        25,
        isExit,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${appId} logs ---\n${this.logs(appId)}`);
    }
  }

  /** Sends `signal` to the app or its sidecar and waits for it to exit. */
  async kill(appId: string, which: "app" | "sidecar", signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.procs.get(`${appId}:${which}`)!;
    const child = proc.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Starts a stopped (or killed) app or sidecar again and waits for the pair to be ready. */
  async restart(appId: string, which: "app" | "sidecar"): Promise<void> {
    await this.kill(appId, which, "SIGTERM");
    this.spawn(`${appId}:${which}`);
    await this.waitReady(appId);
  }

  /** Starts a killed (or stopped) app and its sidecar again, together, and waits for the pair. */
  async restartPair(appId: string): Promise<void> {
    await this.kill(appId, "app", "SIGTERM");
    await this.kill(appId, "sidecar", "SIGTERM");
    this.spawn(`${appId}:sidecar`);
    this.spawn(`${appId}:app`);
    await this.waitReady(appId);
  }

  logs(appId: string): string {
    return ["app", "sidecar"]
      .map((w) => `[${w}]\n${this.procs.get(`${appId}:${w}`)?.output.join("\n") ?? ""}`)
      .join("\n");
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async (proc) => {
        const child = proc.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    if (this.backing) {
      this.backing = null;
      await releaseDaprBacking();
    }
  }
}
