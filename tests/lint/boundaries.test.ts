// The import boundaries of eslint.config.js, proven by linting a forbidden import in each layer
// (and an allowed one beside it, so a rule that refuses everything fails too).
import path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const eslint = new ESLint({ cwd: root });

async function restrictedImports(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

const cases: { layer: string; file: string; forbidden: string; allowed: string }[] = [
  {
    layer: "core imports nothing of ours",
    file: "packages/core/src/probe.ts",
    forbidden: 'import { createDb } from "#db/client.ts";',
    allowed: 'import { z } from "zod";',
  },
  {
    layer: "core does no I/O",
    file: "packages/core/src/probe.ts",
    forbidden: 'import { readFileSync } from "node:fs";',
    allowed: 'import { DateTime } from "luxon";',
  },
  {
    layer: "platform knows nothing of tasks",
    file: "packages/platform/src/probe.ts",
    forbidden: 'import { taskDtoSchema } from "#core/tasks.ts";',
    allowed: 'import { RuleViolation } from "#core/errors.ts";',
  },
  {
    layer: "platform never imports an application package",
    file: "packages/platform/src/probe.ts",
    forbidden: 'import { createTask } from "#tasks/commands.ts";',
    allowed: 'import { createDb } from "#db/client.ts";',
  },
  {
    layer: "a function never imports another function",
    file: "functions/create-task/probe.ts",
    forbidden: 'import { routes } from "../update-task/handler.ts";',
    allowed: 'import { createTask } from "#tasks/commands.ts";',
  },
  {
    layer: "a function never imports test or sidecar code",
    file: "functions/create-task/probe.ts",
    forbidden: 'import { startSidecar } from "#local-dapr/sidecar.ts";',
    allowed: 'import { runFunction } from "#platform/host.ts";',
  },
  {
    layer: "the web app imports no function",
    file: "web/app/routes/probe.ts",
    forbidden: 'import { routes } from "../../../functions/create-task/handler.ts";',
    allowed: 'import { DEFAULT_ORDER } from "#core/task-query.ts";',
  },
];

describe("import boundaries", () => {
  for (const { layer, file, forbidden, allowed } of cases) {
    it(`${layer}: ${forbidden.replace(/^import .* from /, "")} in ${file} is an error`, async () => {
      expect(await restrictedImports(file, `${forbidden}\nexport {};\n`)).toHaveLength(1);
      expect(await restrictedImports(file, `${allowed}\nexport {};\n`)).toEqual([]);
    });
  }
});
