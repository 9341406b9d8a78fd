// Two things every process-level harness needs: a free loopback port, and polling for a real
// signal with a deadline (never a fixed sleep).
import { createServer } from "node:net";

const handedOut = new Set<number>();

/**
 * A loopback port nothing listens on, never the same one twice in this process: the kernel may
 * give a just-closed port out again at once, and two of a process's servers (an app and its
 * daprd, say) must not both be told to take it.
 */
export async function freePort(): Promise<number> {
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
  timeoutMs = 15_000,
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
