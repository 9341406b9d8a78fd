// The real-runtime tier (`make test-dapr`, ORBIT_DAPR_RUNTIME=daprd): the suites that start real
// processes, each app beside real daprd with the Dapr Scheduler and Apache Kafka, plus the tests
// that exist only for that runtime (*.dapr.test.ts). `make test` runs these same process-level
// suites beside the local sidecar (vitest.config.ts), so every one of them runs on both.
import { defineConfig } from "vitest/config";
import { sharedTest } from "./vitest.config.ts";

export default defineConfig({
  test: {
    ...sharedTest,
    globalSetup: ["packages/testing/src/global-setup.ts"],
    // Replaced, not merged (mergeConfig would concatenate the lists).
    include: [
      "tests/e2e/**/*.e2e.test.ts",
      "tests/reminders/end-to-end.e2e.test.ts",
      "tests/fault/pipeline-faults.e2e.test.ts",
      "**/*.dapr.test.ts",
      // Differential conformance: the local sidecar's tests of daprd's contract, against daprd.
      "packages/local-dapr/src/{jobs,state,secrets,invoke}.int.test.ts",
      "packages/local-dapr/src/{publish,delivery,retry,health,ordering}.int.test.ts",
    ],
    // Every file starts its own Kafka broker and Scheduler (a JVM, an etcd): two files at once is
    // what two cores carry.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
