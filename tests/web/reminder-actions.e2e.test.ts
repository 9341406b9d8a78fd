// Reminders you can act on (issue 16, item 2), in a real browser against the real topology
// (harness.ts): a real reminder push (notifications → the stand-in push service, which decrypts
// it) is handed to the page's real service worker (web/public/sw.js) as the browser's push
// service would hand it, through the DevTools protocol (ServiceWorker.deliverPushMessage: a trusted
// `push` event); the worker shows the notification with its buttons. A person's press on a button
// cannot be synthesised by the DevTools protocol, so the test dispatches `notificationclick` on the
// worker's own notification (self.registration.getNotifications()) with the button's action: the
// worker's real listener runs (its waitUntil is skipped for an untrusted event, sw.js keepAlive)
// and posts the token as it would for a press. Offline: the browser context's network is cut
// (which the worker's fetch obeys), so the press is queued in IndexedDB and sent when a page says
// it is back online. Mail: the reminder mail the `email` binding recorded (#testing/broker.ts
// sentMail), its link opened in a browser that is signed in to nothing.
import path from "node:path";
import type { BrowserContext, CDPSession, Page, Worker } from "playwright-core";
import { expect, test } from "vitest";
import { isSnoozeJobName } from "#core/reminders.ts";
import { sentMail } from "#testing/broker.ts";
import { snoozedMessages } from "#testing/reminder-actions.ts";
import type { ReceivedPush } from "#testing/push-service.ts";
import { waitFor } from "#testing/ports.ts";
import { WAIT_MS } from "#testing/wait.ts";
import { workerDb } from "#testing/worker-db.ts";
import {
  newUser,
  quickAdd,
  rowOf,
  subscribeToPush as subscribe,
  SHOTS,
  useWebWorldWithPush,
} from "./harness.ts";

/** The public address notifications writes into its mails; the test opens their paths on the web app. */
const PUBLIC_URL = "https://orbit.test";

/** The one later delivery attempt's wait here. */
const LATER_SECONDS = 10;
// One later delivery attempt, LATER_SECONDS after the quick round (1 min … 2 h under make dev).
const { world, push } = useWebWorldWithPush({
  WEB_APP_URL: PUBLIC_URL,
  LATER_DELIVERY_DELAYS_SECONDS: String(LATER_SECONDS),
});

/** The browser's service worker for this context, registered as Settings registers it. */
interface InstalledWorker {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  registrationId: string;
  /** Each worker version's last state as DevTools reported it, for a failure's message. */
  versions: Map<string, { status: string; runningStatus: string }>;
  /** What the worker wrote to its console, for a failure's message. */
  console: string[];
}

async function installServiceWorker(context: BrowserContext, page: Page): Promise<InstalledWorker> {
  await context.grantPermissions(["notifications"], { origin: world.baseUrl });
  const cdp = await context.newCDPSession(page);
  const registrations: { registrationId: string; scopeURL: string; isDeleted?: boolean }[] = [];
  const versions: InstalledWorker["versions"] = new Map();
  const consoleLines: string[] = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (event) => registrations.push(...event.registrations));
  cdp.on("ServiceWorker.workerVersionUpdated", (event) => {
    for (const v of event.versions)
      versions.set(v.versionId, { status: v.status, runningStatus: v.runningStatus });
  });
  context.on("serviceworker", (worker) =>
    worker.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`)),
  );
  await cdp.send("ServiceWorker.enable");
  // `ready` resolves once the worker is activating; a push is handed over only once it is activated.
  await page.evaluate(async () => {
    await navigator.serviceWorker.register("/sw.js");
    const active = (await navigator.serviceWorker.ready).active!;
    if (active.state !== "activated")
      await new Promise<void>((resolve) =>
        active.addEventListener("statechange", () => active.state === "activated" && resolve()),
      );
  });
  await expect.poll(() => registrations.some((r) => !r.isDeleted)).toBe(true);
  const registrationId = registrations.find((r) => !r.isDeleted)!.registrationId;
  return { context, page, cdp, registrationId, versions, console: consoleLines };
}

/**
 * The worker running now. Chromium may stop an idle worker and start it again for the next event
 * (a push, a press): a handle on the instance that was running at registration would be closed.
 */
async function runningWorker(installed: InstalledWorker): Promise<Worker> {
  const running = installed.context.serviceWorkers().at(-1);
  if (running) return running;
  await installed.cdp.send("ServiceWorker.startWorker", { scopeURL: `${world.baseUrl}/` });
  return installed.context.serviceWorkers().at(-1) ?? (await installed.context.waitForEvent("serviceworker"));
}

const subscribeToPush = (page: Page) => subscribe(page, push);

/** Hands a push the stand-in received to the browser's worker, as a push service would. */
async function deliverToBrowser(installed: InstalledWorker, received: ReceivedPush) {
  await installed.cdp.send("ServiceWorker.deliverPushMessage", {
    origin: world.baseUrl,
    registrationId: installed.registrationId,
    data: JSON.stringify(received.payload),
  });
}

/** What these tests use of the worker's global scope (a ServiceWorkerGlobalScope). */
interface WorkerScope {
  registration: { getNotifications(): Promise<{ title: string; actions: { action: string }[] }[]> };
  dispatchEvent(event: Event): boolean;
  NotificationEvent: new (type: string, init: { notification: unknown; action: string }) => Event;
}

interface Shown {
  title: string;
  actions: string[];
}

/** The notifications the registration shows (title, buttons), read as the worker reads them. */
const shown = async (installed: InstalledWorker): Promise<Shown[]> =>
  (await runningWorker(installed)).evaluate(async () =>
    (await (self as unknown as WorkerScope).registration.getNotifications()).map((n) => ({
      title: n.title,
      actions: n.actions.map((a) => a.action),
    })),
  );

/**
 * Waits until the registration shows `count` notifications. On timeout the error says what it
 * showed, the worker's versions as DevTools saw them and the worker's console, so that a failure on
 * a busy CI machine can be told apart (never delivered, never shown, worker gone).
 */
const waitForShown = (installed: InstalledWorker, count: number): Promise<Shown[]> =>
  waitFor(
    `the worker to show ${count} notification(s)`,
    async () => {
      const now = await shown(installed).catch((error: unknown) => String(error));
      if (Array.isArray(now) && now.length === count) return now;
      throw new Error(
        `last read ${JSON.stringify(now)}; versions ${JSON.stringify([...installed.versions])}; ` +
          `console ${JSON.stringify(installed.console)}`,
      );
    },
    WAIT_MS,
    100,
  );

/** Presses `action` on the worker's notification titled `title` (see the header: notificationclick). */
async function pressButton(installed: InstalledWorker, title: string, action: string) {
  await (
    await runningWorker(installed)
  ).evaluate(
    async ([wanted, button]) => {
      const scope = self as unknown as WorkerScope;
      const notification = (await scope.registration.getNotifications()).find((n) => n.title === wanted);
      if (!notification) throw new Error(`no notification titled ${wanted}`);
      scope.dispatchEvent(new scope.NotificationEvent("notificationclick", { notification, action: button }));
    },
    [title, action] as const,
  );
}

/** The presses the worker holds back until it is online (its IndexedDB queue). */
const queued = async (installed: InstalledWorker) =>
  (await runningWorker(installed)).evaluate(
    () =>
      new Promise<{ action: string }[]>((resolve, reject) => {
        const open = indexedDB.open("orbit-sw", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("reminder-actions", { keyPath: "id" });
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result
            .transaction("reminder-actions")
            .objectStore("reminder-actions")
            .getAll();
          request.onsuccess = () => {
            open.result.close();
            resolve(request.result as { action: string }[]);
          };
        };
      }),
  );

/** A task quick-added due in 10 minutes: its default reminder (15 min before) goes out at once. */
async function remindedTask(page: Page, title: string, endpoint?: string) {
  await page.goto("/");
  await quickAdd(page, `${title} in 10 minutes`, title);
  await rowOf(page, title).getByRole("link").click();
  await page.waitForURL(/\/tasks\//);
  const taskId = page.url().split("/").pop()!;
  const received = endpoint
    ? (await push.waitFor(1, endpoint, 30_000)).find((r) => r.payload?.task_id === taskId)
    : undefined;
  return { taskId, received };
}

const taskStatus = async (id: string) =>
  (await (await workerDb()).task.findUnique({ where: { id } }))?.status;
const snoozeRows = async (taskId: string) =>
  (await (await workerDb()).reminderJob.findMany({ where: { taskId } })).filter((j) =>
    isSnoozeJobName(j.jobName),
  );

test("a pushed reminder's Complete button, pressed in the service worker, completes the task; its page says a reminder action did it", async () => {
  const { page, context } = await newUser(world);
  const installed = await installServiceWorker(context, page);
  const endpoint = await subscribeToPush(page);
  const { taskId, received } = await remindedTask(page, "Call the plumber", endpoint);

  // The push carries one signed token per button, never a session or an API token.
  expect(received!.payload.actions.map((a: { action: string }) => a.action)).toEqual([
    "complete",
    "snooze_10m",
    "snooze_1h",
  ]);
  for (const { token } of received!.payload.actions) expect(token).toMatch(/^v1\.k1\.[\w-]+\.[\w-]{43}$/);

  await deliverToBrowser(installed, received!);
  // Chromium shows two buttons (Notification.maxActions); the mail offers all three.
  expect(await waitForShown(installed, 1)).toEqual([
    { title: "Call the plumber", actions: ["complete", "snooze_10m"] },
  ]);
  await pressButton(installed, "Call the plumber", "complete");

  await expect.poll(() => taskStatus(taskId), { timeout: 15_000 }).toBe("completed");
  await expect.poll(() => queued(installed)).toEqual([]);
  // The page shows it done (live sync), and the audit log names the reminder's button.
  await page.getByRole("button", { name: "Reopen" }).waitFor();
  await expect
    .poll(
      async () => {
        await page.reload();
        return page.getByTestId("activity").innerText();
      },
      { timeout: 15_000 },
    )
    .toMatch(/Completed\s*·\s*reminder action/);
  await context.close();
});

test("offline, a Snooze pressed in the notification is kept and sent once a page is back online; the task page lists the snooze", async () => {
  const { page, context } = await newUser(world);
  const installed = await installServiceWorker(context, page);
  const endpoint = await subscribeToPush(page);
  const { taskId, received } = await remindedTask(page, "Water the tomatoes", endpoint);
  await deliverToBrowser(installed, received!);
  await waitForShown(installed, 1);

  await context.setOffline(true);
  await pressButton(installed, "Water the tomatoes", "snooze_10m");
  await expect.poll(() => queued(installed)).toEqual([expect.objectContaining({ action: "snooze_10m" })]);
  expect(await snoozeRows(taskId)).toEqual([]);

  // Back online: an Orbit page asks the worker to send what it kept.
  await context.setOffline(false);
  await page.reload();
  await expect.poll(() => snoozeRows(taskId), { timeout: 15_000 }).toHaveLength(1);
  await expect.poll(() => queued(installed)).toEqual([]);
  const [snooze] = await snoozeRows(taskId);
  expect(snooze!.status).toBe("scheduled");
  expect(snooze!.remindAt.getTime() - Date.now()).toBeGreaterThan(8 * 60_000);

  await page.goto(`/tasks/${taskId}`);
  const item = page.locator("[data-reminder] [data-snooze]");
  await expect(item.getAttribute("data-status")).resolves.toBe("scheduled");
  await expect(item.locator("[data-snooze-label]").innerText()).resolves.toMatch(/^Snoozed until /);
  await expect(item.locator("[data-snooze-source]").innerText()).resolves.toMatch(/Snooze 10 min from push/);
  await context.close();
});

test("a reminder mail's Snooze 1 h link asks before it acts (opening it changes nothing); its button snoozes, once", async () => {
  const { page, context, email } = await newUser(world);
  // Mail goes only to a confirmed address (the confirmation flow has its own tests).
  const db = await workerDb();
  const owner = await db.user.findUniqueOrThrow({ where: { email } });
  await db.notificationChannel.create({
    data: { userId: owner.id, kind: "email", enabled: true, emailConfirmedAddress: email.toLowerCase() },
  });
  const { taskId } = await remindedTask(page, "Renew the car insurance");
  const runtime = { backing: world.topology.backing, databaseUrl: world.topology.databaseUrl };
  const reminderMail = async () =>
    (await sentMail(runtime, email)).find((m) => m.subject === "Reminder: Renew the car insurance");
  await expect.poll(reminderMail, { timeout: 30_000 }).toBeDefined();
  const mail = (await reminderMail())!;
  const links = Object.fromEntries(
    [...mail.body.matchAll(/href="([^"]+)" data-action="([^"]+)"/g)].map((m) => [
      m[2],
      m[1]!.replace(/&amp;/g, "&"),
    ]),
  );
  expect(Object.keys(links)).toEqual(["complete", "snooze_10m", "snooze_1h"]);
  expect(links.snooze_1h!.startsWith(`${PUBLIC_URL}/reminders/action?action=snooze_1h&token=`)).toBe(true);
  const link = links.snooze_1h!.slice(PUBLIC_URL.length);

  // Another device: signed in to nothing. Opening the link (as a mail scanner would) only asks.
  const phone = await world.browser.newContext({ baseURL: world.baseUrl });
  const tab = await phone.newPage();
  const opened = await tab.goto(link);
  expect(opened!.status()).toBe(200);
  expect(opened!.headers()["referrer-policy"]).toBe("no-referrer");
  expect(opened!.headers()["cache-control"]).toBe("no-store");
  await expect(tab.getByRole("heading", { level: 1 }).innerText()).resolves.toBe(
    "Snooze “Renew the car insurance” for 1 hour?",
  );
  await tab.reload();
  expect(await snoozeRows(taskId)).toEqual([]);
  await tab.screenshot({ path: path.join(SHOTS, "reminder-action-page.png") });

  await tab.getByRole("button", { name: "Snooze 1 h" }).click();
  const done = await tab.locator("[data-outcome=done]").innerText();
  const [snooze] = await snoozeRows(taskId);
  expect(snooze).toMatchObject({ status: "scheduled" });
  expect(snoozedMessages("Renew the car insurance", snooze!.remindAt)).toContain(done);
  expect(snooze!.remindAt.getTime() - Date.now()).toBeGreaterThan(55 * 60_000);

  // The link again: it says it was used, and moves nothing.
  await tab.goto(link);
  await expect(tab.locator("[data-outcome=settled]").innerText()).resolves.toMatch(
    /^You already used this link: Snoozed/,
  );
  expect((await snoozeRows(taskId))[0]!.remindAt.getTime()).toBe(snooze!.remindAt.getTime());
  // A link that was cut short is refused in words, not a stack trace.
  await tab.goto(link.slice(0, -4));
  await expect(tab.locator("[data-outcome=refused]").innerText()).resolves.toMatch(/not valid/);
  await phone.close();

  // The owner's task page lists the snooze, and which button made it.
  await page.goto(`/tasks/${taskId}`);
  await expect(page.locator("[data-snooze-source]").innerText()).resolves.toMatch(/Snooze 1 h from email/);
  await context.close();
});

test("a reminder no channel could deliver: the task page says when it is tried again, then that it reached no channel with each channel's reason, and the list marks the task; Send again, once the cause is fixed, sends it", async () => {
  const { page, context } = await newUser(world);
  const endpoint = await subscribeToPush(page);
  push.respondWith(endpoint, 500);
  const { taskId } = await remindedTask(page, "Pay the electricity bill");

  // Five attempts with the sidecar's backoff (dapr-components/local/resiliency.yaml); then the page
  // says when the later attempt is, and after it, that the reminder failed.
  const row = page.locator("[data-reminder]");
  await expect
    .poll(
      async () => {
        await page.reload();
        return row.locator("[data-delivery=push]").innerText();
      },
      { timeout: 30_000 },
    )
    .toMatch(/^push: next try .+, after 5 attempts \(.*500.*\)$/);
  await expect(row.getAttribute("data-delivery-state")).resolves.toBe("retrying");
  await expect
    .poll(
      async () => {
        await page.reload();
        return row.getAttribute("data-delivery-state");
      },
      { timeout: 30_000 },
    )
    .toBe("undelivered");
  await expect(row.locator("[data-undelivered]").innerText()).resolves.toBe("not delivered on any channel");
  await expect(row.locator("[data-delivery=push]").innerText()).resolves.toMatch(
    /^push: failed after 6 attempts \(.*500.*\)$/,
  );
  expect(push.received.filter((r) => r.endpoint === endpoint)).toHaveLength(6);
  await page
    .getByRole("region", { name: "Reminders" })
    .screenshot({ path: path.join(SHOTS, "reminder-undelivered.png") });

  await page.goto("/");
  const badge = rowOf(page, "Pay the electricity bill").locator("[data-undelivered-badge]");
  await expect(badge.innerText()).resolves.toBe("Reminder not delivered");
  await badge.click();
  await page.waitForURL(new RegExp(`/tasks/${taskId}$`));

  // "Send again" beside the failed delivery is a plain form: posted as a browser without JavaScript
  // posts it (its own fields), the page that comes back says it failed again, in words, while the
  // cause is not fixed.
  const sendAgain = row.getByRole("button", { name: "Send again by push" });
  const outcome = row.locator("[data-send-again-outcome]");
  const form = sendAgain.locator("xpath=ancestor::form");
  const fields = await form.evaluate((f: HTMLFormElement) =>
    Object.fromEntries([...new FormData(f)].map(([k, v]) => [k, String(v)])),
  );
  const posted = await page.request.post((await form.getAttribute("action")) ?? page.url(), { form: fields });
  expect(posted.status()).toBe(200);
  expect(await posted.text()).toContain("Failed again: HTTP 500");
  await page.reload();
  await expect(row.locator("[data-delivery=push]").innerText()).resolves.toMatch(
    /^push: failed after 7 attempts \(.*500.*\)$/,
  );
  // The push service is back (the user's cause fixed): sent, and the button is gone.
  push.respondWith(endpoint, 201);
  await sendAgain.click();
  await expect.poll(() => outcome.innerText()).toBe("Sent");
  await expect(sendAgain.count()).resolves.toBe(0);
  await expect.poll(() => row.getAttribute("data-delivery-state")).toBe("delivered");
  await expect(row.locator("[data-delivery=push]").innerText()).resolves.toBe("push: sent");
  expect(push.received.filter((r) => r.endpoint === endpoint)).toHaveLength(8);
  await context.close();
});
