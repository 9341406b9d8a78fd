// Bundles each function into one self-contained ESM file (dist/functions/<name>.mjs) for its image
// and for fast local starts. The createRequire banner lets bundled CommonJS dependencies require
// Node built-ins from ESM (without it: `Dynamic require of "tty" is not supported`).
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { REPO_ROOT } from "#db/migrate.ts";

export function functionNames(): string[] {
  const dir = path.join(REPO_ROOT, "functions");
  return readdirSync(dir).filter((name) =>
    statSync(path.join(dir, name, "index.ts"), { throwIfNoEntry: false })?.isFile(),
  );
}

/** Bundles one entry point into a single self-contained ESM file. */
export async function bundle(
  entry: string,
  outfile: string,
  options: { minify?: boolean } = {},
): Promise<number> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: options.minify ?? true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
    banner: {
      js: "import { createRequire as __orbitRequire } from 'node:module'; const require = __orbitRequire(import.meta.url);",
    },
  });
  return statSync(outfile).size;
}

export async function buildFunctions(
  names = functionNames(),
  outDir = path.join(REPO_ROOT, "dist/functions"),
) {
  return Promise.all(
    names.map(async (name) => {
      const outfile = path.join(outDir, `${name}.mjs`);
      const bytes = await bundle(path.join(REPO_ROOT, "functions", name, "index.ts"), outfile);
      return { name, outfile, bytes };
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await buildFunctions(process.argv.slice(2).length ? process.argv.slice(2) : undefined);
  for (const r of results)
    console.log(
      `${r.name.padEnd(22)} ${(r.bytes / 1024 / 1024).toFixed(2)} MiB  ${path.relative(REPO_ROOT, r.outfile)}`,
    );
}
