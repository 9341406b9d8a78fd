// Two things every process-level harness needs: a free loopback port, and polling for a real
// signal with a deadline (never a fixed sleep).
import { createServer } from "node:net";
import { WAIT_MS } from "./wait.ts";

const handedOut = new Set<number>();

/** Whether a loopback port can be listened on right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

// Each vitest worker takes its ports from a block of its own below the kernel's ephemeral range
// (32768-60999 here), so two workers never hand out one port (a daprd of one worker failed to
// start when the other's Kafka client had been given the same port), and no outgoing connection
// takes a port between its hand-out and its bind. Outside vitest the kernel picks. Two test runs
// at once on one machine (a clean-clone CI run beside a working copy's) each set their own
// ORBIT_TEST_PORT_BASE (and ORBIT_TEST_PG_PORT): with the same blocks, both handed out one port
// before either bound it.
const BLOCK = 1_200;
const FIRST = Number(process.env.ORBIT_TEST_PORT_BASE ?? 10_000);
const workerId = Number(process.env.VITEST_POOL_ID);
let next = Number.isInteger(workerId) && workerId > 0 ? FIRST + ((workerId - 1) % 16) * BLOCK : null;
const blockEnd = next === null ? null : next + BLOCK;

/**
 * A loopback port nothing listens on, never the same one twice in this process: the kernel may
 * give a just-closed port out again at once, and two of a process's servers (an app and its
 * daprd, say) must not both be told to take it.
 */
export async function freePort(): Promise<number> {
  while (next !== null && blockEnd !== null && next < blockEnd) {
    const port = next++;
    if (!handedOut.has(port) && (await canListen(port))) {
      handedOut.add(port);
      return port;
    }
  }
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Polls `probe` until it returns a truthy value. An error it throws is kept for the timeout's
 * message, unless `fatal(error)` says it can never succeed, which rejects at once.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = WAIT_MS,
  intervalMs = 25,
  fatal: (error: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      if (fatal(error)) throw error;
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
  );
}
