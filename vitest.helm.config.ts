// The Helm tier (`make test-helm`, run first by `make test-dapr`): the tests that need helm, built
// from the pinned helm.sh/helm/v4 module (`make helm`): the chart's lint, its renders validated and
// compared with the kustomize overlays, and `make deploy TOOL=helm` against fake clusters. Not in
// `make test`: a cold helm build takes minutes on two cores (docs/decisions/015).
import { defineConfig } from "vitest/config";
import { sharedTest } from "./vitest.config.ts";

export default defineConfig({
  test: {
    ...sharedTest,
    include: ["tests/**/*.helm.test.ts", "scripts/**/*.helm.test.ts"],
    // Each test runs helm (and the deploy tests tsx) as processes: room for a loaded 2-core machine.
    testTimeout: 60_000,
  },
});
