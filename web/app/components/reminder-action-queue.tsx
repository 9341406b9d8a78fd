// Sends the reminder buttons the service worker could not send (pressed while offline; web/public/
// sw.js keeps them in IndexedDB) as soon as an Orbit page is open and online: on load and on each
// `online` event it asks the worker to try its queue again. Browsers with Background Sync do this
// on their own; this covers the others (Firefox, Safari).
import { useEffect } from "react";

export function ReminderActionQueue() {
  useEffect(() => {
    if (!("serviceWorker" in navigator)) return;
    const flush = () => {
      void navigator.serviceWorker
        .getRegistration()
        .then((registration) => registration?.active?.postMessage({ type: "flush-reminder-actions" }))
        .catch(() => {});
    };
    flush();
    window.addEventListener("online", flush);
    return () => window.removeEventListener("online", flush);
  }, []);
  return null;
}
