import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "functions/**/*.test.ts",
      "packages/**/*.test.ts",
      "tests/**/*.test.ts",
      "prisma/**/*.test.ts",
      "scripts/**/*.test.ts",
    ],
    // *.dapr.test.ts need real daprd, the Scheduler and Kafka: vitest.dapr.config.ts runs them.
    exclude: ["node_modules", "dist", ".data", "web/**", "**/*.dapr.test.ts"],
    globalSetup: ["packages/testing/src/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
  },
});
