// Orbit's service worker: shows reminder pushes with their buttons ("Complete", "Snooze 10 min",
// "Snooze 1 h"), opens the task when the notification itself is clicked, and posts a pressed
// button's signed token to /reminders/act (web/app/routes/reminders.act.ts). No cookie is sent:
// the token is the credential. Offline-safe: a press whose request cannot get through (no network,
// or Orbit answering 5xx/429) is kept in IndexedDB and sent again on Background Sync where the
// browser has it, and otherwise whenever the worker next runs (a push arrives, a button is pressed,
// it is activated, or an open Orbit page says it is back online). Sending a press twice is safe:
// the server acts once per link and answers the same again.
/* global self, indexedDB, fetch */
const ACT_URL = "/reminders/act";
const SYNC_TAG = "reminder-actions";
const DB_NAME = "orbit-sw";
const STORE = "reminder-actions";
/** Tokens work for 7 days; a press queued longer than that can only be refused. */
const QUEUE_TTL_MS = 7 * 24 * 3600 * 1000;

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  keepAlive(event, Promise.all([self.clients.claim(), flushQueue()]));
});

self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = { title: event.data ? event.data.text() : "Orbit reminder" };
  }
  keepAlive(event, Promise.all([showReminder(payload), flushQueue()]));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  keepAlive(event, onNotificationClick(event.notification, event.action));
});

self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) keepAlive(event, flushQueue({ rethrow: true }));
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "flush-reminder-actions") keepAlive(event, flushQueue());
});

/** Keeps the worker alive for `promise`; a synthetic event (dispatched by a test) cannot, and need not. */
function keepAlive(event, promise) {
  try {
    event.waitUntil(promise);
  } catch {
    // InvalidStateError: only trusted events extend the worker's lifetime.
  }
}

/** A reminder push as a notification, with as many of its buttons as this browser shows. */
function showReminder(payload) {
  const title = payload.title || "Orbit reminder";
  const taskId = payload.task_id || (payload.data && payload.data.task_id);
  const actions = Array.isArray(payload.actions) ? payload.actions : [];
  const max = (self.Notification && self.Notification.maxActions) || 2;
  const tokens = {};
  for (const item of actions) tokens[item.action] = item.token;
  return self.registration.showNotification(title, {
    body: payload.body || "",
    icon: "/favicon.svg",
    tag: taskId || undefined,
    // Chrome shows two buttons on most desktops: "Complete" and "Snooze 10 min"; the mail has all three.
    actions: actions.slice(0, max).map((item) => ({ action: item.action, title: item.title })),
    data: { url: taskId ? `/tasks/${taskId}` : "/", taskId, tokens },
  });
}

/** A button: post its token (queued when that cannot get through); the notification itself: open the task. */
async function onNotificationClick(notification, action) {
  const data = notification.data || {};
  const token = action && data.tokens ? data.tokens[action] : undefined;
  if (!token) return self.clients.openWindow(data.url || "/");
  await flushQueue().catch(() => {});
  const press = { id: `${action}:${token}`, action, token, title: notification.title, queuedAt: Date.now() };
  const outcome = await send(press);
  if (outcome.kind === "retry") {
    await enqueue(press);
    await requestSync();
    return;
  }
  if (outcome.kind === "refused")
    // Expired, no longer valid, the task gone: say so rather than fail silently.
    await self.registration.showNotification(notification.title || "Orbit reminder", {
      body: outcome.message,
      icon: "/favicon.svg",
      tag: data.taskId || undefined,
      data: { url: data.url || "/" },
    });
}

/** One press sent: done, refused for good (4xx but 429), or worth another try later. */
async function send(press) {
  let response;
  try {
    response = await fetch(ACT_URL, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action: press.action, token: press.token }),
    });
  } catch {
    return { kind: "retry" };
  }
  if (response.ok) return { kind: "done" };
  if (response.status === 429 || response.status >= 500) return { kind: "retry" };
  let message = "This reminder's button no longer works. Open the task in Orbit instead.";
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    // Not JSON: the default message.
  }
  return { kind: "refused", message };
}

/** Sends every queued press; keeps those that still cannot get through. */
async function flushQueue(options = {}) {
  const queued = await queue("readonly", (store) => store.getAll());
  let failed = 0;
  for (const press of queued || []) {
    if (Date.now() - press.queuedAt > QUEUE_TTL_MS) {
      await queue("readwrite", (store) => store.delete(press.id));
      continue;
    }
    const outcome = await send(press);
    if (outcome.kind === "retry") failed += 1;
    else await queue("readwrite", (store) => store.delete(press.id));
  }
  // A sync event that fails is retried by the browser, with its own backoff.
  if (failed > 0 && options.rethrow) throw new Error(`${failed} reminder action(s) still queued`);
}

function enqueue(press) {
  return queue("readwrite", (store) => store.put(press));
}

async function requestSync() {
  try {
    if (self.registration.sync) await self.registration.sync.register(SYNC_TAG);
  } catch {
    // No Background Sync here (or not allowed): the next push, press or page visit sends it.
  }
}

/** One IndexedDB request on the queue's store; resolves with its result. */
function queue(mode, request) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "id" });
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(STORE, mode);
      const result = request(tx.objectStore(STORE));
      tx.oncomplete = () => {
        db.close();
        resolve(result.result);
      };
      tx.onerror = () => {
        db.close();
        reject(tx.error);
      };
    };
  });
}
