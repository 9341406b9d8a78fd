// How long a test waits for something asynchronous to happen (an event delivered, a job fired, a
// row written, a page updated) before it fails. A ceiling, never a sleep: every wait ends on its
// signal. CI runs on 2 cores beside other suites: a chain of five retries plus a later attempt
// took over 10 s there, and a page's save over 30 s at load 16, so the ceilings are generous; a
// test's own limit (vitest.config.ts) sits above them.
export const WAIT_MS = 30_000;
/** For a browser page: every step of a scenario may wait on several processes. */
export const PAGE_WAIT_MS = 60_000;
