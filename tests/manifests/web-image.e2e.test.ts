// What web.Dockerfile builds, proven without a Docker engine (none runs here): its stages are read
// and checked against the web Knative Service; the Remix app is built from a directory holding
// only what the build stage copies; the build is then started as the runtime stage starts it,
// beside a node_modules holding only the packages the runtime-deps stage installs (Prisma's runtime
// trimmed by that stage's own command), where it must serve health, readiness against a real
// database, its Dapr subscription (equal to the declarative twin) and its assets.
import { execFile, execFileSync, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { builtinModules } from "node:module";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { freePort, waitFor } from "#testing/ports.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";
import type { Obj } from "../../scripts/manifest-checks.ts";
import { kustomizeBuild, loadSubscriptions, parseManifests, REPO_ROOT } from "../../scripts/manifests.ts";
import { dockerignore, parseDockerfile } from "./dockerfile.ts";

const stages = parseDockerfile(readFileSync(path.join(REPO_ROOT, "web.Dockerfile"), "utf8"));
const stage = (name: string) => stages.find((s) => s.name === name)!;
const runtime = stages.at(-1)!;
const ignored = dockerignore(readFileSync(path.join(REPO_ROOT, "web.Dockerfile.dockerignore"), "utf8"));
const args = (name: string, keyword: string) =>
  stage(name)
    .instructions.filter((i) => i.keyword === keyword)
    .map((i) => i.args);

/** The packages the runtime-deps stage keeps: the arguments after its `node -e '…'` script. */
const runtimePackages = (() => {
  const run = args("runtime-deps", "RUN").find((a) => a.startsWith("node -e"))!;
  return run
    .slice(run.lastIndexOf("'") + 1)
    .trim()
    .split(/\s+/);
})();

let web: Obj;
const scratch = mkdtempSync(path.join(os.tmpdir(), "orbit-web-image-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  const staging = parseManifests(await kustomizeBuild("knative/overlays/staging"), "staging").manifests;
  web = staging.find((m) => m.object.kind === "Service" && (m.object.metadata as Obj).name === "web")!.object;
});

const container = () => (((web.spec as Obj).template as Obj).spec as Obj).containers as Obj[];
const annotations = () => ((((web.spec as Obj).template as Obj).metadata as Obj).annotations ?? {}) as Obj;

test("the final stage is `runtime`: distroless Node 20, a numeric non-root user, the port the web Service uses", () => {
  expect(runtime.name).toBe("runtime");
  expect(runtime.from).toBe("gcr.io/distroless/nodejs20-debian12:nonroot");
  const user = runtime.instructions.filter((i) => i.keyword === "USER").at(-1)!.args;
  expect(user).toMatch(/^[1-9]\d*:\d+$/);
  const [main] = container();
  const port = (main!.ports as Obj[])[0]!.containerPort;
  expect(runtime.instructions.filter((i) => i.keyword === "EXPOSE").map((i) => Number(i.args))).toEqual([
    port,
  ]);
  expect(runtime.instructions.filter((i) => i.keyword === "ENV").map((i) => i.args)).toContain(
    `NODE_ENV=production PORT=${String(port)}`,
  );
  expect(annotations()["dapr.io/app-port"]).toBe(String(port));
  expect(String((main!.securityContext as Obj).runAsUser)).toBe(user.split(":")[0]);
  // remix-serve finds build/client relative to its working directory.
  expect(runtime.instructions.filter((i) => i.keyword === "WORKDIR").map((i) => i.args)).toEqual([
    "/app/web",
  ]);
  expect(runtime.instructions.find((i) => i.keyword === "CMD")?.args).toBe(
    '["/app/node_modules/@remix-run/serve/dist/cli.js", "build/server/index.js"]',
  );
  expect(runtime.instructions.filter((i) => i.keyword === "COPY").map((i) => i.args)).toEqual([
    "--from=runtime-deps /app/node_modules /app/node_modules",
    "web/package.json /app/web/package.json",
    "--from=build /src/web/build /app/web/build",
  ]);
});

test("the build installs as the Makefile does (npm install, never npm ci), generates the client, builds with Remix", () => {
  const runs = args("build", "RUN");
  expect(runs).toEqual([
    "npm install --no-audit --no-fund",
    "DATABASE_URL=postgresql://build@localhost:5432/unused npx prisma generate",
    "cd web && ../node_modules/.bin/remix vite:build",
  ]);
  expect(args("runtime-deps", "RUN")).toContain(
    "npm install --omit=dev --ignore-scripts --no-audit --no-fund",
  );
  expect(stages.flatMap((s) => s.instructions).some((i) => /\bnpm ci\b/.test(i.args))).toBe(false);
});

test("the runtime packages are production dependencies, remix-serve among them", () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  expect(runtimePackages).toContain("@remix-run/serve");
  for (const name of runtimePackages) expect(pkg.dependencies, name).toHaveProperty([name]);
});

test("every file the build copies from the context exists and is not excluded by web.Dockerfile.dockerignore", () => {
  const sources = stages
    .flatMap((s) => s.instructions)
    .filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from"))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  expect(sources).toContain("web");
  for (const source of sources) {
    expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
    expect(ignored(source), source).toBe(false);
  }
  for (const local of ["node_modules", ".git", ".local", "web/build", "packages/db/src/generated", ".env"])
    expect(ignored(local), local).toBe(true);
  expect(ignored("web/app/routes/healthz.ts")).toBe(false);
  expect(ignored("packages/tasks/src/commands.int.test.ts")).toBe(true);
});

/** What the build stage holds: the files it copies (as the ignore file lets them through). */
function buildContext(into: string) {
  const copied = [
    "package.json",
    "package-lock.json",
    "prisma.config.ts",
    "prisma",
    "tsconfig.json",
    "packages",
    "web",
  ];
  for (const entry of copied)
    cpSync(path.join(REPO_ROOT, entry), path.join(into, entry), {
      recursive: true,
      filter: (from) => {
        const relative = path.relative(REPO_ROOT, from);
        // The generated client is excluded from the context but regenerated by the build stage.
        return relative.startsWith("packages/db/src/generated") || !ignored(relative);
      },
    });
  // The build stage's `npm install`.
  symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(into, "node_modules"));
}

/** Bare package names a built module imports (statically or dynamically), builtins left out. */
function bareImports(source: string): Set<string> {
  const specifiers = [
    // Top-level `import … from "x"`, `export … from "x"` and `import "x"` statements.
    ...source.matchAll(/^(?:import|export)\b[^;"]*?(?:from\s*)?"([^"]+)"/gm),
    ...source.matchAll(/\bimport\s*\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1]!);
  const builtins = new Set(builtinModules);
  return new Set(
    specifiers
      .filter((s) => !s.startsWith(".") && !s.startsWith("/") && !s.startsWith("node:") && !builtins.has(s))
      .map((s) =>
        s
          .split("/")
          .slice(0, s.startsWith("@") ? 2 : 1)
          .join("/"),
      ),
  );
}

test("the Remix build from the build stage's files runs beside only the runtime packages and serves probes, its subscription and assets", async () => {
  const src = path.join(scratch, "src");
  buildContext(src);
  await promisify(execFile)(
    path.join(src, "node_modules/.bin/remix"),
    ["vite:build", "--logLevel", "error"],
    {
      cwd: path.join(src, "web"),
      maxBuffer: 16 * 1024 * 1024,
    },
  );

  // The server build leaves external only what the runtime-deps stage installs.
  const serverDir = path.join(src, "web/build/server");
  const imported = new Set<string>();
  for (const file of readdirSync(serverDir, { recursive: true }).map(String))
    if (/\.m?js$/.test(file))
      for (const name of bareImports(readFileSync(path.join(serverDir, file), "utf8"))) imported.add(name);
  expect(imported.size).toBeGreaterThan(3);
  for (const name of imported) expect(runtimePackages, `the server build imports ${name}`).toContain(name);

  // The runtime stage's /app: web/package.json, web/build, and node_modules with the kept packages
  // only (each resolves its own dependencies from where it really lives, as npm would install them;
  // @prisma/client, which has none, is copied so the stage's trimming runs on it as it is written).
  const app = path.join(scratch, "app");
  mkdirSync(path.join(app, "web"), { recursive: true });
  cpSync(path.join(REPO_ROOT, "web/package.json"), path.join(app, "web/package.json"));
  cpSync(path.join(src, "web/build"), path.join(app, "web/build"), { recursive: true });
  for (const name of runtimePackages) {
    const [from, to] = [path.join(REPO_ROOT, "node_modules", name), path.join(app, "node_modules", name)];
    mkdirSync(path.dirname(to), { recursive: true });
    if (name === "@prisma/client") cpSync(from, to, { recursive: true });
    else symlinkSync(from, to);
  }
  const trim = args("runtime-deps", "RUN").filter((a) => a.startsWith("find node_modules/@prisma/client"));
  expect(trim).toHaveLength(1);
  execFileSync("/bin/sh", ["-c", trim[0]!], { cwd: app });
  expect(readdirSync(path.join(app, "node_modules/@prisma/client/runtime")).length).toBeLessThan(8);

  const [port, closedDapr, databaseUrl] = await Promise.all([freePort(), freePort(), workerDatabaseUrl()]);
  const child = spawn(
    process.execPath,
    [path.join(app, "node_modules/@remix-run/serve/dist/cli.js"), "build/server/index.js"],
    {
      cwd: path.join(app, "web"),
      // What the Knative Service sets, no inherited environment.
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        DAPR_HTTP_PORT: String(closedDapr),
        DB_POOL_SIZE: "2",
        APP_API_TOKEN: "web-image-test-app-token-0123456789abcdef0123",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    const health = await waitFor(
      `the web app to answer /healthz (output: ${output.join("").slice(-500)})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`web exited ${child.exitCode}: ${output.join("")}`);
        const response = await fetch(`${url}/healthz`).catch(() => null);
        return response?.status === 200 ? await response.text() : null;
      },
      20_000,
    );
    expect(health).toBe("ok");
    // Ready: a query ran through the trimmed Prisma runtime and PostgreSQL's query compiler.
    const ready = await fetch(`${url}/readyz`);
    expect(`${ready.status} ${await ready.text()}`).toBe("200 ready");

    // What daprd reads at start-up: the subscription the declarative twin describes.
    const served = (await (
      await fetch(`${url}/dapr/subscribe`, {
        headers: { "dapr-api-token": "web-image-test-app-token-0123456789abcdef0123" },
      })
    ).json()) as {
      topic: string;
      routes: { default?: string };
      deadLetterTopic?: string;
    }[];
    expect(
      served.map((s) => ({
        topic: s.topic,
        route: s.routes.default,
        deadLetterTopic: s.deadLetterTopic ?? null,
      })),
    ).toEqual(loadSubscriptions().get("web"));

    // build/client is found from the working directory.
    const asset = readdirSync(path.join(app, "web/build/client/assets")).find((f) => f.endsWith(".css"))!;
    const css = await fetch(`${url}/assets/${asset}`);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}, 90_000);
