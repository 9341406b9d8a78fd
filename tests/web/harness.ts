// The browser suite's world: the built web app and the functions it needs, each beside its own
// local Dapr sidecar (packages/testing/src/topology.ts), on this worker's PostgreSQL, driven by
// Debian's Chromium through playwright-core (never a downloaded browser).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, vi } from "vitest";
import webPush from "web-push";
import { REPO_ROOT } from "#db/migrate.ts";
import { startPushService, type PushService } from "#testing/push-service.ts";
import { Topology } from "#testing/topology.ts";
import { ensureWebBuild } from "../../scripts/web-build.ts";
import { workerDatabaseUrl } from "#testing/worker-db.ts";
import { PAGE_WAIT_MS } from "#testing/wait.ts";

export const CHROMIUM = "/usr/bin/chromium";
/** Where the suites write the README's screenshots. */
export const SHOTS = path.join(REPO_ROOT, "docs/screenshots");

/** The functions a user's clicks reach, plus the consumers whose effects the UI shows. */
const FUNCTIONS = [
  "create-task",
  "update-task",
  "complete-task",
  "delete-task",
  "on-task-completed",
  "audit-log",
  "on-reminder-fired",
  "notifications",
];

/**
 * How long a suite's beforeAll may take to start its world (every function beside its sidecar, the
 * web app, Chromium): about 30 s on a quiet 2-core machine, over 120 s at load 20. A readiness
 * wait, so a generous bound costs nothing when the world is up sooner.
 */
export const WORLD_START_TIMEOUT_MS = 300_000;

export interface WebWorld {
  topology: Topology;
  browser: Browser;
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * `env`: extra env for every function process, e.g. a suite's stand-in push service (its CA in
 * NODE_EXTRA_CA_CERTS and OUTBOUND_ALLOW_LOOPBACK, as tests/reminders/end-to-end.e2e.test.ts gives
 * its notifications function). `apps`: functions a suite needs beyond FUNCTIONS (the assistant and
 * the MCP server it acts through), so the other suites do not pay for their start.
 */
export async function startWebWorld(
  options: { env?: Record<string, string>; apps?: string[] } = {},
): Promise<WebWorld> {
  if (!existsSync(CHROMIUM)) {
    // `make test` installs it (Makefile target `chromium`); a browser test is never skipped.
    throw new Error(`${CHROMIUM} is missing: run \`make chromium\` (apt-get install -y chromium)`);
  }
  // Built once per change of its sources (`make test` builds it before the suites start).
  const { webDir } = await ensureWebBuild();
  const databaseUrl = await workerDatabaseUrl();
  const vapid = webPush.generateVAPIDKeys();
  const topology = await Topology.start({
    databaseUrl,
    apps: [...FUNCTIONS, ...(options.apps ?? [])],
    env: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: "mailto:tests@example.test",
      ...options.env,
    },
    customApps: [
      {
        appId: "web",
        // Started from web/ by its own binary, so build/client is found and the PID is the server's.
        argv: [path.join(REPO_ROOT, "node_modules/.bin/remix-serve"), "build/server/index.js"],
        cwd: webDir,
        // One simulated proxy hop: each user's context sends the X-Forwarded-For an ingress would
        // write (newUser), so the per-address sign-up limit sees many clients, not one.
        env: { NODE_ENV: "production", COOKIE_SECURE: "false", DB_POOL_SIZE: "5", TRUSTED_PROXY_HOPS: "1" },
      },
    ],
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    topology,
    browser,
    baseUrl: topology.app("web").url,
    async stop() {
      await browser.close().catch(() => {});
      await topology.stop();
    },
  };
}

/**
 * An object standing for one that exists only once the suite's `beforeAll` has run: every property
 * read goes to the real one (methods bound to it), and reading it sooner says so.
 */
function lateBound<T extends object>(what: string, get: () => T | undefined): T {
  return new Proxy({} as T, {
    get(_, key) {
      const target = get();
      if (!target)
        throw new Error(`${what} is not started yet: use it inside a test or a hook after beforeAll`);
      const value: unknown = Reflect.get(target, key);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * What every browser file does around its tests: start its world before them (with the screenshot
 * folder and a per-test timeout a loaded machine can live with), stop it after them. The returned
 * world is usable inside tests; `start` picks the kind of world.
 */
function useWorld<T extends { world: WebWorld }>(
  start: () => Promise<T>,
  testTimeoutMs: number,
): <K extends keyof T & string>(key: K) => T[K] {
  let started: T | undefined;
  vi.setConfig({ testTimeout: testTimeoutMs });
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    started = await start();
  }, WORLD_START_TIMEOUT_MS);
  afterAll(async () => {
    await started?.world.stop();
  });
  return (key) => lateBound(key, () => started?.[key] as object | undefined) as T[typeof key];
}

/** The suite's web world (startWebWorld's `options`), started before its tests and stopped after. */
export function useWebWorld(
  options: Parameters<typeof startWebWorld>[0] & { testTimeoutMs?: number } = {},
): WebWorld {
  const { testTimeoutMs = 120_000, ...worldOptions } = options;
  return useWorld(async () => ({ world: await startWebWorld(worldOptions) }), testTimeoutMs)("world");
}

/** useWebWorld with the stand-in push service (startWebWorldWithPush's `env`). */
export function useWebWorldWithPush(env: Record<string, string> = {}): {
  world: WebWorld;
  push: PushService;
} {
  const part = useWorld(() => startWebWorldWithPush(env), 120_000);
  return { world: part("world"), push: part("push") };
}

let counter = 0;

export interface SignedIn {
  context: BrowserContext;
  page: Page;
  email: string;
}

/** A new user, signed up through the UI, in a fresh browser context (its own cookies). */
export async function newUser(world: WebWorld, timeZone = "Europe/Berlin"): Promise<SignedIn> {
  const n = ++counter;
  const context = await world.browser.newContext({
    baseURL: world.baseUrl,
    timezoneId: timeZone,
    extraHTTPHeaders: { "x-forwarded-for": `198.18.${Math.floor(n / 250)}.${(n % 250) + 1}` },
  });
  // A ceiling, not a sleep: each wait ends on its signal (#testing/wait.ts: a save once waited over
  // 30 s on update-task at load 16 while CI booted other suites' topologies on 2 cores).
  context.setDefaultTimeout(PAGE_WAIT_MS);
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[browser ${timeZone}] ${error.message}`));
  const email = `web-${process.pid}-${Date.now()}-${n}@example.test`;
  await page.goto("/signup");
  await page.getByTestId("signup-zone").filter({ hasText: timeZone }).waitFor();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(`${world.baseUrl}/`);
  return { context, page, email };
}

/**
 * A new user with two tabs of the task list, both live (connected to /live); `other` carries a
 * marker, so `sameDocument(other)` tells that it followed the changes without a reload.
 */
export async function newUserTwoTabs(world: WebWorld): Promise<SignedIn & { other: Page }> {
  const signedIn = await newUser(world);
  const other = await signedIn.context.newPage();
  await other.goto("/");
  await other.locator("html[data-live=connected]").waitFor();
  await signedIn.page.locator("html[data-live=connected]").waitFor();
  await other.evaluate(() => ((window as unknown as { marker: string }).marker = "same document"));
  return { ...signedIn, other };
}

/** Whether `newUserTwoTabs`'s other tab is still the document it was (no reload happened). */
export async function sameDocument(other: Page): Promise<boolean> {
  return (await other.evaluate(() => (window as unknown as { marker?: string }).marker)) === "same document";
}

/** Adds a task with the quick-add box and waits until it is listed. */
export async function quickAdd(page: Page, text: string, expectTitle: string): Promise<void> {
  await page.getByLabel("Add a task").fill(text);
  await page.getByRole("button", { name: "Add task" }).click();
  await rowOf(page, expectTitle).waitFor();
}

export function rowOf(page: Page, title: string) {
  return page
    .locator("[data-task-row]")
    .filter({ has: page.getByRole("link", { name: title, exact: true }) });
}

export async function titles(page: Page): Promise<string[]> {
  return page.locator("[data-task-row] a[data-open]").allInnerTexts();
}

/**
 * A world whose notifications function pushes to a stand-in push service on this machine: a real
 * browser push service is out of reach in tests, so notifications trusts the stand-in's certificate
 * (NODE_EXTRA_CA_CERTS) and may reach it on loopback, as in tests/reminders/. `stop` ends both.
 */
export async function startWebWorldWithPush(
  env: Record<string, string> = {},
): Promise<{ world: WebWorld; push: PushService }> {
  const push = await startPushService();
  const caDir = mkdtempSync(path.join(tmpdir(), "orbit-push-ca-"));
  const caFile = path.join(caDir, "push-service.pem");
  writeFileSync(caFile, push.ca);
  const cleanUp = async () => {
    await push.close();
    rmSync(caDir, { recursive: true, force: true });
  };
  let world: WebWorld;
  try {
    world = await startWebWorld({
      env: { OUTBOUND_ALLOW_LOOPBACK: "true", NODE_EXTRA_CA_CERTS: caFile, ...env },
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const stopWorld = world.stop;
  return {
    world: {
      ...world,
      async stop() {
        await stopWorld();
        await cleanUp();
      },
    },
    push,
  };
}

/**
 * A push subscription on the stand-in push service, handed to Orbit as the Settings page hands over
 * the browser's (its "Confirm this device" form): Chromium's own pushManager.subscribe() would ask
 * FCM, which tests cannot reach.
 */
export async function subscribeToPush(page: Page, push: PushService): Promise<string> {
  await page.goto("/settings");
  const subscription = push.subscribe();
  const csrf = await page.locator("input[name=csrf]").first().inputValue();
  const response = await page.request.post("/settings", {
    form: { intent: "push-subscribe", csrf, subscription: JSON.stringify(subscription) },
  });
  if (response.status() !== 200) throw new Error(`push-subscribe answered ${response.status()}`);
  await page.reload();
  await page.getByText("Browser notifications: on for 1 device").waitFor();
  return subscription.endpoint;
}
