// Child processes of a benchmark: spawn, wait until an HTTP path answers 200, stop.
import { spawn, type ChildProcess } from "node:child_process";
import { waitFor } from "#testing/ports.ts";

export interface Spawned {
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

export function spawnProcess(argv: string[], env: NodeJS.ProcessEnv, cwd?: string): Spawned {
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return {
    child,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitHttp(url: string, what: string, proc?: Spawned, timeoutMs = 30_000): Promise<void> {
  try {
    await waitFor(what, async () => (await fetch(url)).ok, timeoutMs, 10);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${proc?.output.join("") ?? ""}`);
  }
}
