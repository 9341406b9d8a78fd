// Real daprd and the Dapr Scheduler (built by `make dapr-runtime` from the pinned
// github.com/dapr/dapr module into tools/dapr-runtime/bin), started the way Dapr's own integration
// tests start them (dapr/dapr tests/integration/framework/process/{daprd,scheduler}): every port
// chosen here, every listener on 127.0.0.1, standalone mode, no mTLS.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "#db/migrate.ts";
import { freePort, waitFor } from "./ports.ts";

export const DAPR_BIN_DIR = path.join(REPO_ROOT, "tools/dapr-runtime/bin");
export const DAPRD_BIN = path.join(DAPR_BIN_DIR, "daprd");
export const SCHEDULER_BIN = path.join(DAPR_BIN_DIR, "scheduler");

/** How long a daprd, the Scheduler or Kafka may take to come up on a busy 2-core machine. */
export const BOOT_TIMEOUT_MS = 120_000;

export function assertDaprBuilt(): void {
  for (const bin of [DAPRD_BIN, SCHEDULER_BIN]) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: run \`make dapr-runtime\` (needs Go >= 1.26.6) first`);
    }
  }
}

/** A child process whose output is kept (the last 400 lines) for failure messages. */
export class LoggedProcess {
  child: ChildProcess | null = null;
  readonly output: string[] = [];

  constructor(
    readonly name: string,
    readonly argv: string[],
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly cwd?: string,
  ) {}

  start(): this {
    const [cmd, ...args] = this.argv;
    const child = spawn(cmd!, args, { env: this.env, cwd: this.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split("\n").filter(Boolean));
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("error", (error) => this.output.push(`spawn failed: ${error.message}`));
    this.child = child;
    killOnExit.add(this);
    return this;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal`, waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    const child = this.child;
    killOnExit.delete(this);
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  logs(): string {
    return `--- ${this.name} ---\n${this.output.join("\n")}`;
  }

  /** Rejects at once when the process exits before `probe` succeeds. */
  async waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
    try {
      await waitFor(
        what,
        async () => {
          if (!this.running)
            throw new ExitedEarly(`${this.name} exited (${this.child?.exitCode ?? this.child?.signalCode})`);
          return probe();
        },
        timeoutMs,
        50,
        (error) => error instanceof ExitedEarly,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.logs()}`);
    }
  }
}

class ExitedEarly extends Error {}

// Nothing this harness starts may outlive the test process that started it.
const killOnExit = new Set<LoggedProcess>();
process.once("exit", () => {
  for (const proc of killOnExit) proc.child?.kill("SIGKILL");
});

export interface Scheduler {
  /** host:port for daprd's --scheduler-host-address. */
  address: string;
  process: LoggedProcess;
  stop(): Promise<void>;
}

export async function startScheduler(): Promise<Scheduler> {
  assertDaprBuilt();
  const dataDir = await mkdtemp(path.join(tmpdir(), "orbit-scheduler-"));
  const [port, healthzPort, metricsPort, etcdClientPort, etcdPeerPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const id = "orbit-scheduler-0";
  const proc = new LoggedProcess("scheduler", [
    SCHEDULER_BIN,
    "--log-level=info",
    `--id=${id}`,
    `--port=${port}`,
    `--healthz-port=${healthzPort}`,
    "--healthz-listen-address=127.0.0.1",
    `--metrics-port=${metricsPort}`,
    "--metrics-listen-address=127.0.0.1",
    `--etcd-data-dir=${path.join(dataDir, "etcd")}`,
    `--etcd-client-port=${etcdClientPort}`,
    "--etcd-client-listen-address=127.0.0.1",
    `--etcd-initial-cluster=${id}=http://127.0.0.1:${etcdPeerPort}`,
    "--listen-address=127.0.0.1",
    `--identity-directory-write=${path.join(dataDir, "tls")}`,
  ]).start();
  await proc.waitUntil("the Dapr Scheduler healthy", async () => {
    const res = await fetch(`http://127.0.0.1:${healthzPort}/healthz`).catch(() => null);
    return res?.ok ?? false;
  });
  return {
    address: `127.0.0.1:${port}`,
    process: proc,
    stop: async () => {
      await proc.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface DaprdPorts {
  http: number;
  grpc: number;
  internalGrpc: number;
  metrics: number;
  publicPort: number;
}

export async function daprdPorts(httpPort?: number): Promise<DaprdPorts> {
  const [http, grpc, internalGrpc, metrics, publicPort] = await Promise.all([
    httpPort ? Promise.resolve(httpPort) : freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  return {
    http: http!,
    grpc: grpc!,
    internalGrpc: internalGrpc!,
    metrics: metrics!,
    publicPort: publicPort!,
  };
}

export interface DaprdOptions {
  appId: string;
  /** Absent: a sidecar without an app channel (it publishes; it never receives). */
  appPort?: number;
  ports: DaprdPorts;
  resourcesPath: string;
  /** A Configuration file (name resolution, tracing, features). */
  configPath?: string;
  schedulerAddress: string;
  /** App health checks on this path, as dapr.yaml and the Knative Services configure them. */
  appHealthCheckPath?: string;
  /**
   * Probe interval (s), timeout (ms) and threshold. The default probes every second so restarts in
   * tests resume quickly (with daprd's 500 ms timeout: daprd refuses a timeout that is not below the
   * interval); knative/base/function-runtime.yaml's production values are 5 s, 2500 ms, 3.
   */
  appHealthProbe?: { intervalSeconds: number; timeoutMs: number; threshold: number };
  logLevel?: string;
}

/** daprd's command line; the same argv restarts the same sidecar (ports included). */
export function daprdArgv(options: DaprdOptions): string[] {
  const { ports } = options;
  return [
    DAPRD_BIN,
    `--app-id=${options.appId}`,
    "--mode=standalone",
    `--log-level=${options.logLevel ?? process.env.TEST_DAPRD_LOG_LEVEL ?? "info"}`,
    `--dapr-http-port=${ports.http}`,
    `--dapr-grpc-port=${ports.grpc}`,
    `--dapr-internal-grpc-port=${ports.internalGrpc}`,
    "--dapr-internal-grpc-listen-address=127.0.0.1",
    "--dapr-listen-addresses=127.0.0.1",
    `--dapr-public-port=${ports.publicPort}`,
    "--dapr-public-listen-address=127.0.0.1",
    `--metrics-port=${ports.metrics}`,
    "--metrics-listen-address=127.0.0.1",
    `--resources-path=${options.resourcesPath}`,
    `--scheduler-host-address=${options.schedulerAddress}`,
    // No actors or workflows here: no Placement service to look for.
    "--placement-host-address=",
    "--enable-mtls=false",
    "--dapr-graceful-shutdown-seconds=5",
    ...(options.configPath ? [`--config=${options.configPath}`] : []),
    ...(options.appPort !== undefined
      ? [`--app-port=${options.appPort}`, "--app-channel-address=127.0.0.1", "--app-protocol=http"]
      : []),
    ...(options.appHealthCheckPath && options.appPort !== undefined
      ? [
          "--enable-app-health-check=true",
          `--app-health-check-path=${options.appHealthCheckPath}`,
          `--app-health-probe-interval=${options.appHealthProbe?.intervalSeconds ?? 1}`,
          `--app-health-probe-timeout=${options.appHealthProbe?.timeoutMs ?? 500}`,
          `--app-health-threshold=${options.appHealthProbe?.threshold ?? 3}`,
        ]
      : []),
  ];
}

/** daprd is healthy: components loaded, HTTP API up and (with an app) the app channel ready. */
export async function daprdHealthy(httpPort: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1.0/healthz`).catch(() => null);
  return res?.status === 204;
}
