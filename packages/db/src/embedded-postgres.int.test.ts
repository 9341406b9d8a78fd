import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { REPO_ROOT } from "./migrate.ts";

const run = promisify(execFile);

// embedded-postgres's exit hook called process.exit(0) on beforeExit, which turned every failing
// `make test` green. A process that imports our wrapper must keep the exit code it chose.
test("importing the embedded server keeps the process's own exit code", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "orbit-exit-"));
  const script = path.join(dir, "exit-code.mts");
  writeFileSync(
    script,
    `import "${path.join(REPO_ROOT, "packages/db/src/embedded-postgres.ts")}";\nprocess.exitCode = 3;\n`,
  );
  const outcome = await run(path.join(REPO_ROOT, "node_modules/.bin/tsx"), [script]).then(
    () => 0,
    (error: { code?: number }) => error.code,
  );
  expect(outcome).toBe(3);
});
