// Orbit's service worker: shows reminder pushes and opens the task on click.
/* global self */
self.addEventListener("push", (event) => {
  let payload = {};
  try {
    payload = event.data ? event.data.json() : {};
  } catch {
    payload = { title: event.data ? event.data.text() : "Orbit reminder" };
  }
  const title = payload.title || "Orbit reminder";
  const taskId = payload.task_id || (payload.data && payload.data.task_id);
  event.waitUntil(
    self.registration.showNotification(title, {
      body: payload.body || "",
      icon: "/favicon.svg",
      tag: taskId || undefined,
      data: { url: taskId ? `/tasks/${taskId}` : "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
