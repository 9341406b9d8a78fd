// Bundles each function into one self-contained ESM entry file (dist/functions/<name>.mjs) for its
// image and for fast local starts. The createRequire banner lets bundled CommonJS dependencies
// require Node built-ins from ESM (without it: `Dynamic require of "tty" is not supported`).
//
// Code split: what a function only loads with import() — the OpenTelemetry SDK (telemetry.ts loads
// it only when an exporter is configured) and Prisma's query compiler (loaded by the first query) —
// goes to chunk files beside the entry (<name>-chunks/), so a cold start neither reads nor parses
// it. Without splitting, esbuild inlines dynamically imported modules into the one file: lazily
// evaluated, but still parsed at every start (~3 MiB of SDK, ~2.5 MiB of base64 wasm).
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

/** Bundles one entry point into `outfile` (ESM, self-contained) and its lazily loaded chunks. */
export async function bundle(
  entry: string,
  outfile: string,
  options: { minify?: boolean } = {},
): Promise<number> {
  const name = path.basename(outfile).replace(/\.m?js$/, "");
  await build({
    entryPoints: [{ in: entry, out: name }],
    outdir: path.dirname(outfile),
    outExtension: { ".js": ".mjs" },
    splitting: true,
    // One chunk folder per entry: bundles built into the same directory (the test topology's)
    // never rewrite a chunk another running process may still load.
    chunkNames: `${name}-chunks/[name]-[hash]`,
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
