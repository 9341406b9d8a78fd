// The load generator, run as its own process (forked by load.ts) so the client never competes
// with a server on the same event loop. Node's fetch (undici) keeps connections alive.
// Messages in: a LoadJob; out: its LoadResult.
import type { LoadJob, LoadResult } from "./load.ts";

function fill(template: string | undefined, n: number): string | undefined {
  return template?.replaceAll("{n}", String(n)).replaceAll('"{sentAt}"', String(Date.now()));
}

async function closed(job: Extract<LoadJob, { kind: "closed" }>): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  const one = async (n: number) => {
    const t0 = performance.now();
    let status = "error";
    try {
      const res = await fetch(job.urls[n % job.urls.length]!, {
        method: job.method,
        headers: job.headers,
        body: fill(job.body, n),
      });
      await res.arrayBuffer();
      status = String(res.status);
    } catch (error) {
      status = `error:${(error as Error).message}`;
    }
    latencies.push(performance.now() - t0);
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.total) await one(next++);
    }),
  );
  return { latencies, statuses, elapsedMs: performance.now() - started };
}

async function open(job: Extract<LoadJob, { kind: "open" }>): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const total = Math.round(job.rate * job.seconds);
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  // A run the machine cannot keep up with still ends on time (what was not sent counts as unsent).
  const cutoff = started + job.seconds * 1000 + Math.max(5_000, job.seconds * 100);
  for (let n = 0; n < total; n++) {
    if (performance.now() > cutoff) {
      statuses.unsent = total - n;
      break;
    }
    const due = started + (n / job.rate) * 1000;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const t0 = performance.now();
    const request = fetch(job.url, { method: "POST", headers: job.headers, body: fill(job.body, n) }).then(
      async (res) => {
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        latencies.push(performance.now() - t0);
      },
      (error: Error) => {
        statuses[`error:${error.message}`] = (statuses[`error:${error.message}`] ?? 0) + 1;
      },
    );
    inflight.add(request);
    void request.finally(() => inflight.delete(request));
    if (inflight.size >= 512) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return { latencies, statuses, elapsedMs: performance.now() - started };
}

async function timers(job: Extract<LoadJob, { kind: "timers" }>): Promise<LoadResult> {
  const latencies = await Promise.all(
    Array.from(
      { length: job.count },
      () =>
        new Promise<number>((resolve) =>
          setTimeout(() => resolve(Date.now() - job.dueAt), Math.max(0, job.dueAt - Date.now())),
        ),
    ),
  );
  return { latencies, statuses: {}, elapsedMs: 0 };
}

process.on("message", (job: LoadJob) => {
  const run = job.kind === "closed" ? closed(job) : job.kind === "open" ? open(job) : timers(job);
  void run.then((result) => {
    process.send!(result, () => process.exit(0));
  });
});
