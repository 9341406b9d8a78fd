// A `make dev`-style topology for end-to-end tests: every app as its own OS process (bundled with
// esbuild, as in production), each beside its own local Dapr sidecar process, on ephemeral ports,
// over the test worker's database. Tests can SIGKILL and restart any process.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import path from "node:path";
import webpush from "web-push";
import { REPO_ROOT } from "#db/migrate.ts";
import { bundle } from "../../../scripts/build.ts";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const bundles = new Map<string, Promise<string>>();

/** Bundles an entry once per test process. */
function bundled(key: string, entry: string): Promise<string> {
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
 * functions read: the state store's connection string and VAPID keys.
 */
function localResources(databaseUrl: string): string {
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
    }),
  );
  const source = path.join(REPO_ROOT, "dapr-components/local");
  for (const file of readdirSync(source).filter((f) => f.endsWith(".yaml"))) {
    const text = readFileSync(path.join(source, file), "utf8")
      .replace(/value: \.local\/secrets\.json/, `value: ${secretsFile}`)
      .replace(/value: \.data\/mail/, `value: ${path.join(dir, "mail")}`);
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
  );
}

interface Proc {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  child: ChildProcess | null;
  output: string[];
}

export interface TopologyApp {
  /** Function folder name = app-id. */
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
  /**
   * Apps that are not bundled functions (e.g. the web app), each started by its own command
   * beside its own sidecar, with PORT, DATABASE_URL and DAPR_HTTP_PORT set like a function's.
   */
  customApps?: CustomApp[];
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

  private constructor(private readonly options: TopologyOptions) {}

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

  app(appId: string): TopologyApp {
    const app = this.apps.get(appId);
    if (!app) throw new Error(`no app ${appId} in this topology`);
    return app;
  }

  private async boot(): Promise<void> {
    const sidecarBundle = await bundled("local-dapr", "packages/local-dapr/src/main.ts");
    const resourcesPath = this.options.resourcesPath
      ? path.resolve(REPO_ROOT, this.options.resourcesPath)
      : localResources(this.options.databaseUrl);
    const custom = new Map((this.options.customApps ?? []).map((app) => [app.appId, app]));
    for (const appId of [...this.options.apps, ...custom.keys()]) {
      const [appPort, daprPort] = [await freePort(), await freePort()];
      const customApp = custom.get(appId);
      const argv = customApp
        ? customApp.argv
        : [process.execPath, await bundled(appId, `functions/${appId}/index.ts`)];
      this.apps.set(appId, {
        appId,
        appPort,
        daprPort,
        url: `http://127.0.0.1:${appPort}`,
        daprUrl: `http://127.0.0.1:${daprPort}`,
      });
      this.procs.set(`${appId}:app`, {
        argv,
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
          ...this.options.env,
          ...customApp?.env,
        },
        child: null,
        output: [],
      });
      this.procs.set(`${appId}:sidecar`, {
        argv: [
          process.execPath,
          sidecarBundle,
          "--app-id",
          appId,
          "--app-port",
          String(appPort),
          "--dapr-http-port",
          String(daprPort),
          "--resources-path",
          resourcesPath,
          "--storage-url",
          this.options.databaseUrl,
          // As dapr.yaml configures it (appHealthCheckPath): a restarting app pauses deliveries.
          "--enable-app-health-check",
        ],
        env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn" },
        child: null,
        output: [],
      });
    }
    for (const key of this.procs.keys()) this.spawn(key);
    await Promise.all([...this.apps.keys()].map((appId) => this.waitReady(appId)));
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

  /** Waits until the app answers /readyz and its sidecar reports the app channel healthy. */
  async waitReady(appId: string): Promise<void> {
    const app = this.app(appId);
    try {
      await waitFor(`${appId} ready`, async () => (await fetch(`${app.url}/readyz`)).ok, 20_000);
      await waitFor(
        `${appId} sidecar healthy`,
        async () => (await fetch(`${app.daprUrl}/v1.0/healthz`)).status === 204,
        20_000,
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
  }
}
