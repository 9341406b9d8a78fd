// `make dev`'s process supervision: each app and sidecar runs in its own process group, its output
// prefixed line by line; one that dies is started again after a back-off, as Kubernetes restarts a
// crashed container (CrashLoopBackOff: the delay doubles per crash up to a ceiling, and resets once
// the process has stayed up for a while), and every restart is said in the output.
import { spawn, type ChildProcess } from "node:child_process";

export interface Backoff {
  /** The first restart's delay. */
  initialMs: number;
  /** The longest delay. */
  maxMs: number;
  /** Up this long, a process counts as healthy again: the next crash starts from initialMs. */
  resetAfterMs: number;
}

/** Kubernetes' kubelet: 10 s doubling to 5 min, reset after 10 min up. Ours is for a laptop. */
export const DEV_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };

/** The delay before restart number `crashes + 1` in a row. */
export function restartDelay(crashes: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(crashes, 30));
}

export function pipeLines(child: ChildProcess, write: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = "";
    stream?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) write(line);
    });
  }
}

export interface SupervisedOptions {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Each line the process writes (stdout and stderr). */
  output: (line: string) => void;
  /** What the supervisor itself says about the process (exits, restarts). */
  say: (line: string) => void;
  backoff?: Backoff;
}

/** One process kept running until stop(). */
export class Supervised {
  child: ChildProcess | null = null;
  /** Restarts so far (for the output, and tests). */
  restarts = 0;
  private crashes = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(private readonly options: SupervisedOptions) {
    this.backoff = options.backoff ?? DEV_BACKOFF;
  }

  start(): void {
    const [cmd, ...args] = this.options.argv;
    // Own process group, so stopping reaches the whole tree (tsx runs node as a child).
    const child = spawn(cmd!, args, {
      cwd: this.options.cwd,
      env: this.options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    this.startedAt = Date.now();
    pipeLines(child, this.options.output);
    child.on("error", (error) => this.options.say(`could not start: ${error.message}`));
    child.on("exit", (code, signal) => this.exited(code, signal));
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopped) return;
    if (Date.now() - this.startedAt >= this.backoff.resetAfterMs) this.crashes = 0;
    const delay = restartDelay(this.crashes, this.backoff);
    this.crashes += 1;
    this.restarts += 1;
    this.options.say(
      `exited (${signal ?? `code ${code}`}); restarting in ${formatDelay(delay)} (restart ${this.restarts}); the other apps keep running`,
    );
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.start();
    }, delay);
  }

  /** Stops it for good: SIGTERM to its process group, SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    signalGroup("SIGTERM");
    const forced = setTimeout(() => signalGroup("SIGKILL"), graceMs);
    await exited;
    clearTimeout(forced);
  }
}

function formatDelay(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${ms / 1_000} s`;
}
