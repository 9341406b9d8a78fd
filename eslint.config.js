// ESLint flat config: typescript-eslint's recommended rules plus the house rules that matter here.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
);
