// ESLint flat config: typescript-eslint's recommended rules plus the house rules that matter here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const OWN_PACKAGES = [
  "core",
  "platform",
  "db",
  "tasks",
  "accounts",
  "notifications",
  "local-dapr",
  "testing",
];
const functionsDir = {
  regex: "(^|/)functions/",
  message: "Only functions/ itself and tests may reach into a function.",
};
const packageOf = (names, message) => ({ regex: `^#(${names.join("|")})/`, message });

/** One block per layer: the files it covers and the imports it refuses. */
export const boundaries = [
  {
    // The domain: pure rules. Nothing of ours but itself (relative imports inside core).
    files: ["packages/core/src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            packageOf(
              OWN_PACKAGES.filter((p) => p !== "core"),
              "core imports nothing of ours: it is pure rules.",
            ),
            { regex: "^\\.\\./", message: "core imports nothing outside packages/core/src." },
            { regex: "^(node:)?(fs|net|http|https|child_process|pg)$", message: "core does no I/O." },
            functionsDir,
          ],
        },
      ],
    },
  },
  {
    // Infrastructure: knows Dapr, HTTP, PostgreSQL and the generic domain kernel, never tasks.
    files: ["packages/platform/src/**/*.ts", "packages/db/src/**/*.ts", "packages/local-dapr/src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            packageOf(
              ["tasks", "accounts", "notifications"],
              "Infrastructure knows nothing of tasks, accounts or notifications.",
            ),
            {
              regex: "^#core/(?!(errors|text|actor)\\.ts$)",
              message:
                "Infrastructure may use only core's generic kernel (errors.ts, text.ts, actor.ts), not task rules.",
            },
            functionsDir,
          ],
        },
      ],
    },
  },
  {
    // Application packages: rules from core, mechanics from platform; never a function.
    files: [
      "packages/tasks/src/**/*.ts",
      "packages/accounts/src/**/*.ts",
      "packages/notifications/src/**/*.ts",
    ],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [functionsDir, packageOf(["testing"], "Only tests use #testing.")] },
      ],
    },
  },
  {
    // Functions are adapters: packages only, never another function's files.
    files: ["functions/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\.\\./",
              message: "A function never imports another function: share it through a package.",
            },
            packageOf(
              ["testing", "local-dapr"],
              "Functions run beside any sidecar: no test or sidecar code.",
            ),
          ],
        },
      ],
    },
  },
  {
    // The web app calls functions through the command client, never their code.
    files: ["web/app/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            functionsDir,
            packageOf(
              ["testing", "local-dapr"],
              "The web app runs beside any sidecar: no test or sidecar code.",
            ),
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      ".data/",
      ".local/",
      "packages/db/src/generated/",
      "web/build/",
      // Built and resolved by make test-dapr: the pinned Dapr source and Maven output.
      "tools/dapr-runtime/.build/",
      "tools/kafka/target/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
      eqeqeq: ["error", "always"],
    },
  },
  // Boundaries (docs/architecture.md "Code layout"): who may import whom. A test shows each rule
  // fails on a forbidden import (tests/lint/boundaries.test.ts).
  ...boundaries,
);
