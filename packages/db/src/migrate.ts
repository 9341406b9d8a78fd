// Applies prisma/migrations with Prisma's own `migrate deploy` (the CLI's wasm engine through the
// adapter in prisma/cli-adapter.ts). Used by `make dev`, the test setup and `npm run db:migrate`.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

export const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");

export async function migrateDeploy(
  databaseUrl: string,
  log: (line: string) => void = () => {},
): Promise<void> {
  const cli = require.resolve("prisma/build/index.js", { paths: [REPO_ROOT] });
  const child = spawn(process.execPath, [cli, "migrate", "deploy"], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      CHECKPOINT_DISABLE: "1",
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  for (const line of output.split("\n")) if (/migration|Error|error/.test(line)) log(line.trim());
  if (code !== 0) throw new Error(`prisma migrate deploy failed (exit ${code}):\n${output}`);
}
