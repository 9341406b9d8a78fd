// make dev's supervision with real processes: a process that dies is started again after a back-off
// that doubles per crash up to its ceiling and resets after a healthy run; stop() ends it for good.
import { expect, test } from "vitest";
import { restartDelay, Supervised, type Backoff } from "./supervisor.ts";

const node = (code: string) => [process.execPath, "-e", code];

function supervise(argv: string[], backoff: Backoff) {
  const said: { at: number; line: string }[] = [];
  const output: string[] = [];
  const supervised = new Supervised({
    argv,
    cwd: process.cwd(),
    env: process.env,
    output: (line) => output.push(line),
    say: (line) => said.push({ at: Date.now(), line }),
    backoff,
  });
  return { supervised, said, output };
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("the delay doubles per crash in a row, up to the ceiling", () => {
  const backoff = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };
  expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => restartDelay(n, backoff))).toEqual([
    1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
  ]);
});

test("a process that keeps crashing is restarted with a doubling back-off, and each restart is said", async () => {
  const { supervised, said, output } = supervise(node("console.log('up'); process.exit(3)"), {
    initialMs: 100,
    maxMs: 400,
    resetAfterMs: 60_000,
  });
  supervised.start();
  await until("four restarts", () => supervised.restarts >= 4);
  await supervised.stop();
  expect(said.slice(0, 4).map((s) => s.line)).toEqual([
    "exited (code 3); restarting in 100 ms (restart 1); the other apps keep running",
    "exited (code 3); restarting in 200 ms (restart 2); the other apps keep running",
    "exited (code 3); restarting in 400 ms (restart 3); the other apps keep running",
    "exited (code 3); restarting in 400 ms (restart 4); the other apps keep running",
  ]);
  // Each exit came at least its delay after the one before (the process ran in between).
  for (let i = 1; i < 4; i++)
    expect(said[i]!.at - said[i - 1]!.at).toBeGreaterThanOrEqual([100, 200, 400][i - 1]!);
  expect(output.filter((line) => line === "up").length).toBeGreaterThanOrEqual(4);
});

test("after a run longer than resetAfterMs, the next crash starts the back-off over", async () => {
  const { supervised, said } = supervise(node("setTimeout(() => process.exit(1), 300)"), {
    initialMs: 50,
    maxMs: 10_000,
    resetAfterMs: 200,
  });
  supervised.start();
  await until("three restarts", () => supervised.restarts >= 3);
  await supervised.stop();
  expect(said.slice(0, 3).every((s) => s.line.includes("restarting in 50 ms"))).toBe(true);
});

test("stop() ends a running process and nothing restarts it", async () => {
  const { supervised, said } = supervise(node("console.log('up'); setInterval(() => {}, 1000)"), {
    initialMs: 10,
    maxMs: 10,
    resetAfterMs: 60_000,
  });
  supervised.start();
  const child = supervised.child!;
  await until("the process to be up", () => child.pid !== undefined && child.stdout !== null);
  await supervised.stop();
  expect(child.signalCode ?? child.exitCode).not.toBeNull();
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(supervised.restarts).toBe(0);
  expect(said).toEqual([]);
});
