// 5. Cold start: each function from process spawn to its first 200 from GET /readyz (which runs
// `SELECT 1` through the function's Prisma client), as the production bundle (node
// dist/…/<name>.mjs, minified like `make build`) and unbundled (node --import tsx index.ts).
// Baseline: bare node:http + pg answering /readyz the same way (bundled the same way).
// Where the time goes, from outside the process: spawn → `node -e 0` exits (Node itself), spawn →
// the port accepts (module load + app build), port accepting → first 200 (first query: pool
// connect, Prisma client start).
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import path from "node:path";
import { build } from "esbuild";
import { REPO_ROOT } from "#db/migrate.ts";
import { Topology } from "#testing/topology.ts";
import { freePort } from "#testing/ports.ts";
import { bundle, functionNames } from "../build.ts";
import type { BenchContext, BenchRow } from "./context.ts";
import { round, summarize } from "./stats.ts";

interface Sample {
  listenMs: number;
  readyMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function ok(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function coldStart(argv: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...env, PORT: String(port) },
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const deadline = t0 + 30_000;
    while (!(await accepts(port))) {
      if (performance.now() > deadline || child.exitCode !== null)
        throw new Error(`${argv.join(" ")} never listened:\n${stderr}`);
      await sleep(2);
    }
    const listenMs = performance.now() - t0;
    while (!(await ok(`http://127.0.0.1:${port}/readyz`))) {
      if (performance.now() > deadline) throw new Error(`${argv.join(" ")} never ready:\n${stderr}`);
      await sleep(2);
    }
    return { listenMs, readyMs: performance.now() - t0 };
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

async function nodeRun(args: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: "ignore", cwd: REPO_ROOT });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`node ${args.join(" ")} exited with ${String(code)}`);
  return performance.now() - t0;
}

const nodeItself = () => nodeRun(["-e", "0"]);

/** The heaviest packages a function's bundle holds (esbuild's metafile), largest first. */
async function bundleComposition(entry: string): Promise<{ pkg: string; kib: number }[]> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    write: false,
    outfile: "composition.mjs",
    metafile: true,
    logLevel: "silent",
  });
  const bytes = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs))
    for (const [file, input] of Object.entries(output.inputs)) {
      const match =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file) ?? /^(packages\/[^/]+|functions\/[^/]+)/.exec(file);
      const pkg = match?.[1] ?? "other";
      bytes.set(pkg, (bytes.get(pkg) ?? 0) + input.bytesInOutput);
    }
  return [...bytes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([pkg, n]) => ({ pkg, kib: n / 1024 }));
}

/** What importing one package costs on its own (median of `runs`, Node's own start subtracted). */
async function importCost(pkg: string, runs: number, nodeMs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++)
    times.push(await nodeRun(["--input-type=module", "-e", `await import(${JSON.stringify(pkg)})`]));
  return Math.max(0, summarize(times).p50 - nodeMs);
}

const HEAVY_IMPORTS = [
  "express",
  "zod",
  "pg",
  "@prisma/client/runtime/client",
  "@prisma/adapter-pg",
  "@opentelemetry/sdk-node",
  "prom-client",
];

export async function coldStarts(ctx: BenchContext): Promise<{ row: BenchRow; details: string[] }> {
  const names = ctx.smoke ? ["create-task"] : functionNames();
  const bundleRuns = ctx.smoke ? 1 : 5;
  const tsxRuns = ctx.smoke ? 1 : 3;
  const databaseUrl = await ctx.database("cold");
  // A sidecar to read secrets from at boot (notifications loads its VAPID keys before serving).
  const topology = await Topology.start({ databaseUrl, apps: ["notifications"] });
  const outDir = path.join(REPO_ROOT, "dist/bench/cold");
  try {
    const bundles = new Map(
      await Promise.all(
        names.map(async (name) => {
          const out = path.join(outDir, `${name}.mjs`);
          await bundle(path.join(REPO_ROOT, "functions", name, "index.ts"), out);
          return [name, out] as const;
        }),
      ),
    );
    const baselineOut = path.join(outDir, "baseline.mjs");
    await bundle(path.join(import.meta.dirname, "baseline-server.ts"), baselineOut);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: databaseUrl,
      DAPR_HTTP_PORT: String(topology.app("notifications").daprPort),
      LOG_LEVEL: "warn",
      ADMIN_TOKEN: "bench-admin-token-0123456789abcdef",
      // Production refuses to start without the app API token (docs/security.md).
      APP_API_TOKEN: randomBytes(32).toString("hex"),
    };
    const nodeMs: number[] = [];
    const baseline: Sample[] = [];
    const perFunction: { name: string; bundle: Sample[]; tsx: Sample[] }[] = [];
    for (let i = 0; i < bundleRuns; i++) {
      nodeMs.push(await nodeItself());
      baseline.push(await coldStart([process.execPath, baselineOut, "ready"], env));
    }
    for (const name of names) {
      ctx.log(`cold start: ${name}`);
      const b: Sample[] = [];
      const t: Sample[] = [];
      for (let i = 0; i < bundleRuns; i++)
        b.push(await coldStart([process.execPath, bundles.get(name)!], env));
      for (let i = 0; i < tsxRuns; i++)
        t.push(
          await coldStart(
            [process.execPath, "--import", "tsx", path.join(REPO_ROOT, "functions", name, "index.ts")],
            env,
          ),
        );
      perFunction.push({ name, bundle: b, tsx: t });
    }
    const composition = await bundleComposition(path.join(REPO_ROOT, "functions", names[0]!, "index.ts"));
    const imports: string[] = [];
    for (const pkg of ctx.smoke ? HEAVY_IMPORTS.slice(0, 1) : HEAVY_IMPORTS)
      imports.push(`${pkg} ${round(await importCost(pkg, ctx.smoke ? 1 : 3, summarize(nodeMs).p50))} ms`);
    const all = summarize(perFunction.flatMap((f) => f.bundle.map((s) => s.readyMs)));
    const allTsx = summarize(perFunction.flatMap((f) => f.tsx.map((s) => s.readyMs)));
    const base = summarize(baseline.map((s) => s.readyMs));
    const node = summarize(nodeMs);
    const medians = perFunction.map((f) => ({
      name: f.name,
      ready: summarize(f.bundle.map((s) => s.readyMs)).p50,
      listen: summarize(f.bundle.map((s) => s.listenMs)).p50,
      tsx: summarize(f.tsx.map((s) => s.readyMs)).p50,
    }));
    const over = medians.filter((m) => m.ready >= 400);
    const met = over.length === 0;
    const worst = medians.reduce((a, m) => (m.ready > a.ready ? m : a), medians[0]!);
    const loadMs = worst.listen - node.p50;
    const queryMs = worst.ready - worst.listen;
    const details = [
      `Cold start (median of ${bundleRuns} bundle / ${tsxRuns} tsx runs each; "listening" = the port accepts a TCP connection, "ready" = first 200 from /readyz): Node itself (\`node -e 0\`) ${round(node.p50)} ms; bare node:http + pg baseline ready ${round(base.p50)} ms (listening ${round(summarize(baseline.map((s) => s.listenMs)).p50)} ms).`,
      `Cold start, what ${names[0]}'s minified bundle holds (KiB): ${composition.map((c) => `${c.pkg} ${round(c.kib)}`).join(", ")}.`,
      `Cold start, importing each package alone from node_modules (median, Node's own start subtracted; unbundled, so an upper bound of its share): ${imports.join(", ")}.`,
      ...medians.map(
        (m) =>
          `Cold start ${m.name}: bundle listening ${round(m.listen)} ms, ready ${round(m.ready)} ms (first query ${round(m.ready - m.listen)} ms); tsx ready ${round(m.tsx)} ms.`,
      ),
    ];
    return {
      row: {
        key: "cold-start",
        title: "5. Cold start (spawn → first DB-backed 200)",
        target: "< 400 ms median per function (bundle)",
        ours: {
          label: `bundles, ${names.length} functions`,
          p50: all.p50,
          p99: all.p99,
          note: `tsx (unbundled) p50 ${round(allTsx.p50)} ms`,
        },
        baseline: { label: "bare node:http + pg", p50: base.p50, p99: base.p99 },
        ratio: { label: "p50", value: all.p50 / base.p50 },
        met,
        reason: met
          ? `slowest median ${worst.name} ${round(worst.ready)} ms; bundles ${round(allTsx.p50 / all.p50, 1)}× faster than tsx`
          : `${over.map((m) => `${m.name} ${round(m.ready)} ms`).join(", ")} over 400 ms. Where the slowest one's time goes: Node itself ${round(node.p50)} ms, loading and evaluating the bundle and building the app ${round(loadMs)} ms, the first query (pool connect + Prisma client start) ${round(queryMs)} ms`,
        chart: { label: "COLD START P50 MS", ours: all.p50, baseline: base.p50, target: 400 },
        figures: { p50: all.p50, p99: all.p99, tsx_p50: allTsx.p50, base_p50: base.p50, node_p50: node.p50 },
      },
      details,
    };
  } finally {
    await topology.stop();
  }
}
