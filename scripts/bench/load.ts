// Runs a load job in a separate Node process (load-worker.ts) and returns its measurements.
import { fork } from "node:child_process";
import path from "node:path";

export type LoadJob =
  | {
      /** `concurrency` clients in a loop until `total` requests were made (urls round-robin). */
      kind: "closed";
      urls: string[];
      method: string;
      headers?: Record<string, string>;
      /** `{n}` is replaced with the request number. */
      body?: string;
      concurrency: number;
      total: number;
    }
  | {
      /** POSTs at a fixed `rate` per second, whatever the responses take (open loop). */
      kind: "open";
      url: string;
      headers?: Record<string, string>;
      /** `{n}`: the message number; `"{sentAt}"`: Date.now() when it is sent. */
      body: string;
      rate: number;
      seconds: number;
    }
  | {
      /** `count` setTimeout timers all due at `dueAt` (epoch ms): their lateness. */
      kind: "timers";
      count: number;
      dueAt: number;
    };

export interface LoadResult {
  /** Per request (ms), or per timer lateness. */
  latencies: number[];
  statuses: Record<string, number>;
  elapsedMs: number;
}

export function runLoad(job: LoadJob): Promise<LoadResult> {
  const child = fork(path.join(import.meta.dirname, "load-worker.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (result) => resolve(result as LoadResult));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
    child.send(job);
  });
}

/** Requests per second of a closed-loop result. */
export function throughput(result: LoadResult): number {
  return (result.latencies.length / result.elapsedMs) * 1000;
}

export function okCount(result: LoadResult, status: string): number {
  return result.statuses[status] ?? 0;
}
