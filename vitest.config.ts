// The test tiers, one vitest project each (`make test` runs them all; `--project <name>` one):
//   unit  *.test.ts      pure: no database, no process, no socket. `make test-unit`, seconds.
//   int   *.int.test.ts  a real PostgreSQL, in-process servers and sidecars, or a tool we run
//                        (kustomize, actionlint, esbuild).
//   e2e   *.e2e.test.ts  whole topologies: functions, sidecars and the web app as processes,
//                        faults injected into them, Chromium.
// *.dapr.test.ts need real daprd, the Scheduler and Kafka: vitest.dapr.config.ts runs them, with
// the process-level suites, on the real runtime (`make test-dapr`). *.helm.test.ts need helm built
// from its Go module: vitest.helm.config.ts (`make test-helm`, which `make test-dapr` runs first).
import { defineConfig, type ViteUserConfig } from "vitest/config";

const ROOTS = ["functions", "packages", "tests", "prisma", "scripts"];
const files = (suffix: string) => ROOTS.map((root) => `${root}/**/*${suffix}`);
const DATABASE = ["packages/testing/src/global-setup.ts"];

/** What every tier (and vitest.dapr.config.ts) shares. */
export const sharedTest = {
  exclude: ["node_modules", "dist", ".data", "web/**", "tools/**"],
  pool: "forks",
  // Most files wait on processes, sockets and PostgreSQL, not the CPU: two at a time on a 2-core
  // machine (vitest's default is one fewer than the cores, i.e. one file at a time there). Each
  // worker has its own database (worker-db.ts) and free ports.
  maxWorkers: 2,
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // expect.poll's default (1 s) is what a page takes to answer at load 20: a poll that waits on a
  // browser or a process gets 15 s, and still returns as soon as its condition holds.
  expect: { poll: { timeout: 15_000 } },
  reporters: ["default"],
} satisfies ViteUserConfig["test"];

export default defineConfig({
  test: {
    ...sharedTest,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: files(".test.ts"),
          exclude: [...sharedTest.exclude, "**/*.{int,e2e,dapr,helm}.test.ts"],
        },
      },
      // A test's own limit sits above the waits inside it (#testing/wait.ts: 30 s each).
      {
        extends: true,
        test: { name: "int", include: files(".int.test.ts"), globalSetup: DATABASE, testTimeout: 60_000 },
      },
      {
        extends: true,
        test: { name: "e2e", include: files(".e2e.test.ts"), globalSetup: DATABASE, testTimeout: 120_000 },
      },
    ],
  },
});
