// What the Dockerfile builds, proven without a Docker engine (none runs here): its stages are read
// and checked; each function is bundled exactly as the build stage bundles it, then started from
// an empty directory with no node_modules anywhere above it (the runtime image holds nothing
// else), where it must serve health, readiness and its Dapr subscriptions; the migration image's
// file set must migrate a fresh database on its own.
import { spawn, type ChildProcess } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import webpush from "web-push";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { dropDatabase, ensureDatabase } from "#db/embedded-postgres.ts";
import { runDatabaseName } from "#testing/database.ts";
import { createServer, type Server } from "node:net";
import { waitFor } from "#testing/ports.ts";
import { bundle } from "../../scripts/build.ts";
import type { Obj } from "../../scripts/manifest-checks.ts";
import { dockerignore, parseDockerfile } from "./dockerfile.ts";
import {
  functionNames,
  kustomizeBuild,
  loadSubscriptions,
  parseManifests,
  REPO_ROOT,
} from "../../scripts/manifests.ts";

/** The app API token the Knative Service gives the app and its sidecar (orbit-app-token). */
const APP_TOKEN = "image-test-app-token-0123456789abcdef0123456789";
const FROM_SIDECAR = { "dapr-api-token": APP_TOKEN };

const stages = parseDockerfile(readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8"));
const stage = (name: string) => stages.find((s) => s.name === name)!;
const ignored = dockerignore(readFileSync(path.join(REPO_ROOT, ".dockerignore"), "utf8"));
const runtime = stages.at(-1)!;

let staging: Obj[];
beforeAll(async () => {
  staging = parseManifests(await kustomizeBuild("knative/overlays/staging"), "staging").manifests.map(
    (m) => m.object,
  );
});

function ksvc(name: string): Obj {
  return staging.find((o) => o.kind === "Service" && (o.metadata as Obj).name === name)!;
}

test("the default target is the runtime stage: distroless Node 20, the bundle only, a numeric non-root user", () => {
  expect(runtime.name).toBe("runtime");
  expect(runtime.from).toMatch(/^gcr\.io\/distroless\/nodejs20-debian12(:nonroot)?$/);
  const copies = runtime.instructions.filter((i) => i.keyword === "COPY" || i.keyword === "ADD");
  expect(copies.map((c) => c.args)).toEqual(["--from=build /out/ /app/"]);
  expect(runtime.instructions.some((i) => /\bnpm\b|node_modules/.test(i.args))).toBe(false);
  const user = runtime.instructions.filter((i) => i.keyword === "USER").at(-1)?.args ?? "";
  expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
  expect(runtime.instructions.find((i) => i.keyword === "CMD")?.args).toMatch(/"\/app\/index\.mjs"\]$/);
});

test("the image's port is the Knative Service's container port and Dapr's app-port", () => {
  const exposed = runtime.instructions.filter((i) => i.keyword === "EXPOSE").map((i) => Number(i.args));
  const env = runtime.instructions
    .filter((i) => i.keyword === "ENV")
    .map((i) => i.args)
    .join(" ");
  for (const fn of functionNames()) {
    const service = ksvc(fn);
    const template = (service.spec as Obj).template as Obj;
    const port = (((template.spec as Obj).containers as Obj[])[0]!.ports as Obj[])[0]!.containerPort;
    expect(exposed, fn).toEqual([port]);
    expect(env).toContain(`PORT=${String(port)}`);
    expect(((template.metadata as Obj).annotations as Obj)["dapr.io/app-port"], fn).toBe(String(port));
    // The Knative Service runs the user the image declares, so runAsNonRoot can be verified.
    const user = runtime.instructions
      .filter((i) => i.keyword === "USER")
      .at(-1)!
      .args.split(":")[0];
    const securityContext = (((template.spec as Obj).containers as Obj[])[0]!.securityContext as Obj) ?? {};
    expect(String(securityContext.runAsUser), fn).toBe(user);
  }
});

test("the build stage bundles the FUNCTION build arg's entry point into /out/index.mjs", () => {
  const build = stage("build");
  expect(build.from).toBe("deps");
  expect(build.instructions.some((i) => i.keyword === "ARG" && i.args === "FUNCTION")).toBe(true);
  const bundling = build.instructions.filter((i) => i.keyword === "RUN" && i.args.includes("bundle("));
  expect(bundling.map((i) => i.args)).toEqual([
    `npx tsx -e "import('./scripts/build.ts').then((m) => m.bundle('functions/$FUNCTION/index.ts', '/out/index.mjs'))"`,
  ]);
  const deps = stage("deps");
  expect(deps.instructions.map((i) => i.args)).toEqual(
    expect.arrayContaining([
      "npm install --no-audit --no-fund",
      "DATABASE_URL=postgresql://build@localhost:5432/unused npx prisma generate",
    ]),
  );
});

test("the migrate target holds production dependencies, prisma/ and its config, and runs migrate deploy as non-root", () => {
  const deps = stage("migrate-deps");
  expect(deps.instructions.map((i) => i.args)).toContain(
    "npm install --omit=dev --ignore-scripts --no-audit --no-fund",
  );
  const migrate = stage("migrate");
  expect(migrate.instructions.filter((i) => i.keyword === "COPY").map((i) => i.args)).toEqual([
    "--from=migrate-deps /app/node_modules ./node_modules",
    "package.json prisma.config.ts ./",
    "prisma ./prisma",
  ]);
  expect(migrate.instructions.find((i) => i.keyword === "USER")?.args).toMatch(/^[1-9]\d*:\d+$/);
  expect(migrate.instructions.find((i) => i.keyword === "CMD")?.args).toBe(
    '["node", "node_modules/prisma/build/index.js", "migrate", "deploy"]',
  );
});

test("every file the Dockerfile copies from the context exists and is not excluded by .dockerignore", () => {
  const sources = stages
    .flatMap((s) => s.instructions)
    .filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from"))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  expect(sources.length).toBeGreaterThan(5);
  for (const source of sources) {
    expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
    expect(ignored(source), source).toBe(false);
  }
  for (const local of [
    ".git",
    "node_modules",
    ".data",
    ".local",
    "dist",
    "packages/db/src/generated",
    ".env.production",
  ])
    expect(ignored(local), local).toBe(true);
  expect(ignored("functions/create-task/handler.int.test.ts")).toBe(true);
  expect(ignored("functions/create-task/handler.ts")).toBe(false);
});

// ── the bundles, built and run as the image builds and runs them ──

interface Running {
  fn: string;
  child: ChildProcess;
  url: string;
  output: string[];
  exited: Promise<number | null>;
}

const scratch = mkdtempSync(path.join(os.tmpdir(), "orbit-image-"));
const sizes: Record<string, { bundle: number; map: number }> = {};
const running: Running[] = [];

afterAll(async () => {
  for (const r of running) if (r.child.exitCode === null) r.child.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

/** The repository paths the build stage copies into its context (outside node_modules). */
function copiedIntoBuild(relative: string): boolean {
  const copied = [
    "package.json",
    "package-lock.json",
    "prisma.config.ts",
    "prisma/",
    "tsconfig.json",
    "scripts/build.ts",
    "packages/",
    "functions/",
  ];
  return (
    copied.some((c) => (c.endsWith("/") ? relative.startsWith(c) : relative === c)) && !ignored(relative)
  );
}

test("each function's bundle reads only what the image's build stage has, and runs with nothing but itself", async () => {
  const functions = functionNames();
  const vapid = webpush.generateVAPIDKeys();
  // Every port at once, held open until all are known, so no two are the same (ports taken one
  // at a time, concurrently, can repeat once released).
  const ports = await distinctFreePorts(functions.length * 3);
  await Promise.all(
    functions.map(async (fn, index) => {
      const built = path.join(scratch, "build", fn);
      await bundle(path.join(REPO_ROOT, "functions", fn, "index.ts"), path.join(built, "index.mjs"));
      // The entry and the chunks it loads lazily (index-chunks/: the OpenTelemetry SDK, Prisma's
      // query compiler), each with its map.
      const outputs = readdirSync(built, { recursive: true }).map(String);
      const maps = outputs.filter((file) => file.endsWith(".mjs.map"));
      expect(maps).toContain("index.mjs.map");
      for (const file of maps) {
        const map = JSON.parse(readFileSync(path.join(built, file), "utf8")) as { sources: string[] };
        for (const source of map.sources) {
          const relative = path.relative(
            REPO_ROOT,
            path.resolve(path.dirname(path.join(built, file)), source),
          );
          const fromInstall =
            relative.startsWith("node_modules/") || relative.startsWith("packages/db/src/generated/");
          expect(
            fromInstall || copiedIntoBuild(relative),
            `${fn} bundles ${relative}, which the image does not have`,
          ).toBe(true);
        }
      }
      // The runtime image: /app holds what the build stage wrote to /out (COPY --from=build /out/
      // /app/): index.mjs, its map and its chunks, nothing else.
      const app = path.join(scratch, "app", fn);
      mkdirSync(app, { recursive: true });
      cpSync(built, app, { recursive: true });
      expect(readdirSync(app).sort()).toEqual(["index-chunks", "index.mjs", "index.mjs.map"]);
      expect(readdirSync(path.join(app, "index-chunks")).every((file) => /\.mjs(\.map)?$/.test(file))).toBe(
        true,
      );
      sizes[fn] = {
        bundle: statSync(path.join(app, "index.mjs")).size,
        map: statSync(path.join(app, "index.mjs.map")).size,
      };

      const [port, closedDb, closedDapr] = ports.slice(index * 3, index * 3 + 3) as [number, number, number];
      const child = spawn(process.execPath, ["--enable-source-maps", "index.mjs"], {
        cwd: app,
        // Only what the Knative Service sets (plus the keys notifications and on-reminder-fired
        // would read from their secret store): no NODE_PATH, no inherited environment.
        env: {
          PATH: process.env.PATH,
          NODE_ENV: "production",
          PORT: String(port),
          DATABASE_URL: `postgresql://orbit@127.0.0.1:${closedDb}/orbit`,
          DAPR_HTTP_PORT: String(closedDapr),
          DB_POOL_SIZE: "2",
          APP_API_TOKEN: APP_TOKEN,
          VAPID_PUBLIC_KEY: vapid.publicKey,
          VAPID_PRIVATE_KEY: vapid.privateKey,
          VAPID_SUBJECT: "mailto:ops@example.com",
          WEBHOOK_SECRET_KEYS: JSON.stringify({ current: "k1", k1: Buffer.alloc(32, 7).toString("base64") }),
          REMINDER_ACTION_KEYS: JSON.stringify({ current: "k1", k1: Buffer.alloc(32, 9).toString("base64") }),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const output: string[] = [];
      child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      running.push({ fn, child, url: `http://127.0.0.1:${port}`, output, exited });
    }),
  );
  const subscriptions = loadSubscriptions();
  await Promise.all(
    running.map(async ({ fn, url, output, child, exited }) => {
      const health = await waitFor(
        `${fn} to answer /healthz (output: ${output.join("").slice(-500)})`,
        async () => {
          if (child.exitCode !== null) throw new Error(`${fn} exited ${child.exitCode}: ${output.join("")}`);
          const response = await fetch(`${url}/healthz`).catch(() => null);
          return response?.status === 200 ? ((await response.json()) as { service: string }) : null;
        },
        20_000,
      );
      expect(health.service).toBe(fn);
      // The database is unreachable: not ready, said at once, and the process stays up.
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status, fn).toBe(503);

      // What daprd reads at start-up: the same subscriptions the declarative twins describe.
      const served = (await (await fetch(`${url}/dapr/subscribe`, { headers: FROM_SIDECAR })).json()) as {
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
        fn,
      ).toEqual(subscriptions.get(fn) ?? []);

      // Role and outbox labels of its Knative Service match what the bundle really does.
      const labels = (ksvc(fn).metadata as Obj).labels as Record<string, string>;
      const job = await fetch(`${url}/job/orbit-probe`, {
        method: "POST",
        headers: { "content-type": "application/json", ...FROM_SIDECAR },
        body: "{}",
      });
      const jobDetail = ((await job.json()) as { detail?: string }).detail ?? "";
      const role = jobDetail.startsWith("No handler for job")
        ? "jobs"
        : served.length > 0
          ? "consumer"
          : "http";
      expect(labels["orbit.dev/role"], fn).toBe(role);
      if (labels["orbit.dev/outbox"] === "true")
        await waitFor(
          `${fn}'s outbox relay to run`,
          async () => output.join("").includes('"component":"outbox-relay"'),
          10_000,
        );

      child.kill("SIGTERM");
      expect(await exited, `${fn} exits cleanly on SIGTERM`).toBe(0);
    }),
  );
  for (const { fn, output } of running)
    if (((ksvc(fn).metadata as Obj).labels as Obj)["orbit.dev/outbox"] !== "true")
      expect(output.join(""), `${fn} runs no outbox relay`).not.toContain('"component":"outbox-relay"');

  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);
  console.log(
    [
      "function                bundle MiB   map MiB",
      ...Object.entries(sizes)
        .sort()
        .map(([fn, s]) => `${fn.padEnd(22)}  ${mib(s.bundle).padStart(9)}  ${mib(s.map).padStart(8)}`),
    ].join("\n"),
  );
  // A budget: the bundle is what a cold start loads and parses.
  for (const [fn, size] of Object.entries(sizes)) expect(size.bundle, fn).toBeLessThan(12 * 1024 * 1024);
  // A bound, not a pace: eleven esbuild runs and eleven Node processes at once took over 120 s at
  // load 14 on two cores (each function's own wait is on its signal above).
}, 300_000);

test("the migration image's files alone migrate a fresh database with prisma migrate deploy", async () => {
  const app = mkdtempSync(path.join(os.tmpdir(), "orbit-migrate-image-"));
  const adminUrl = inject("adminUrl");
  const database = runDatabaseName(process.pid, "migrate_image");
  try {
    // Exactly what the migrate stage copies; node_modules is the repository's (a superset of the
    // image's production dependencies).
    for (const file of ["package.json", "prisma.config.ts"])
      copyFileSync(path.join(REPO_ROOT, file), path.join(app, file));
    mkdirSync(path.join(app, "prisma"));
    for (const entry of readdirSync(path.join(REPO_ROOT, "prisma"), { recursive: true }).map(String)) {
      const from = path.join(REPO_ROOT, "prisma", entry);
      if (statSync(from).isDirectory()) mkdirSync(path.join(app, "prisma", entry), { recursive: true });
      else copyFileSync(from, path.join(app, "prisma", entry));
    }
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(app, "node_modules"));
    const url = await ensureDatabase(adminUrl, database);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ["node_modules/prisma/build/index.js", "migrate", "deploy"], {
        cwd: app,
        env: {
          PATH: process.env.PATH,
          NODE_ENV: "production",
          DATABASE_URL: url,
          HOME: app,
          CHECKPOINT_DISABLE: "1",
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
        },
        stdio: "ignore",
      });
      child.on("exit", resolve);
    });
    expect(code).toBe(0);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const applied = await client.query<{ migration_name: string }>(
      "select migration_name from _prisma_migrations where finished_at is not null and rolled_back_at is null order by 1",
    );
    await client.end();
    const expected = readdirSync(path.join(REPO_ROOT, "prisma/migrations"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(applied.rows.map((r) => r.migration_name)).toEqual(expected);
  } finally {
    await dropDatabase(adminUrl, database).catch(() => {});
    rmSync(app, { recursive: true, force: true });
  }
}, 60_000);

async function distinctFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}
