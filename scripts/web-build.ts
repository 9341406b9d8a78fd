// The web app's production build (web/build), made only when its sources changed. `make web-build`,
// `make dev` and the suites that serve the built app all go through ensureWebBuild(): a fingerprint
// of everything the bundle is made from is kept beside the build, so a restart or a second suite
// reuses it instead of spending half a minute in Vite, and concurrent callers build it once (a lock
// directory; the others wait for it, then find the build fresh).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { isAlive } from "#db/embedded-postgres.ts";
import { REPO_ROOT } from "#db/migrate.ts";

const WEB_DIR = path.join(REPO_ROOT, "web");
const BUILD_DIR = path.join(WEB_DIR, "build");
const STAMP = path.join(BUILD_DIR, ".sources");
const LOCK = path.join(REPO_ROOT, ".data", "web-build.lock");

/** What the bundle is made from: the web app, the packages it imports, the lockfile and config. */
const SOURCES = [
  "web",
  "packages",
  "prisma/schema.prisma",
  "package-lock.json",
  "tsconfig.json",
  "tailwind.config.ts",
  "postcss.config.js",
];
const SKIP = new Set(["node_modules", "build", ".cache", "generated"]);

function walk(file: string, out: string[]): void {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return; // an optional config file that is not there
  }
  if (stat.isDirectory()) {
    for (const entry of readdirSync(file).sort())
      if (!SKIP.has(entry) && !/\.(int|e2e|dapr)?\.?test\.tsx?$/.test(entry))
        walk(path.join(file, entry), out);
  } else out.push(file);
}

/** A hash of every source file's path and content (ms: a few hundred small files). */
export function webSourcesFingerprint(): string {
  const files: string[] = [];
  for (const source of SOURCES) walk(path.join(REPO_ROOT, source), files);
  const hash = createHash("sha256");
  for (const file of files)
    hash.update(path.relative(REPO_ROOT, file)).update("\0").update(readFileSync(file));
  return hash.digest("hex");
}

function isFresh(fingerprint: string): boolean {
  try {
    return readFileSync(STAMP, "utf8").trim() === fingerprint;
  } catch {
    return false;
  }
}

/** Takes the lock directory, or waits while a live process holds it (a dead holder's is taken over). */
async function withLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder = NaN;
      try {
        holder = Number(readFileSync(path.join(LOCK, "pid"), "utf8"));
      } catch {
        // Between the holder's mkdir and its pid file: give it a moment.
      }
      if (Number.isInteger(holder) && !isAlive(holder)) {
        rmLock();
        continue;
      }
      await delay(250);
    }
  }
  try {
    return await work();
  } finally {
    rmLock();
  }
}

function rmLock(): void {
  rmSync(LOCK, { recursive: true, force: true });
}

export interface WebBuild {
  /** The directory remix-serve runs in (build/server/index.js and build/client beneath it). */
  webDir: string;
  /** Whether this call ran Vite (false: the build on disk was already made from these sources). */
  built: boolean;
}

/** Builds web/build when its sources changed since the last build; otherwise does nothing. */
export async function ensureWebBuild(log: (line: string) => void = () => {}): Promise<WebBuild> {
  const before = webSourcesFingerprint();
  if (isFresh(before)) return { webDir: WEB_DIR, built: false };
  return withLock(async () => {
    const fingerprint = webSourcesFingerprint();
    if (isFresh(fingerprint)) return { webDir: WEB_DIR, built: false };
    log("building the web app (its sources changed since the last build)…");
    const started = performance.now();
    await promisify(execFile)(
      path.join(REPO_ROOT, "node_modules/.bin/remix"),
      ["vite:build", "--logLevel", "error"],
      { cwd: WEB_DIR, maxBuffer: 16 * 1024 * 1024 },
    );
    writeFileSync(STAMP, `${fingerprint}\n`);
    log(`web app built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { webDir: WEB_DIR, built: true };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { built } = await ensureWebBuild((line) => console.log(`[web-build] ${line}`));
  if (!built) console.log("[web-build] web/build is up to date with its sources");
}
