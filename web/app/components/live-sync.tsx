// Live sync: one EventSource per tab on /live. Each update (a task's or a list's) revalidates the
// page's loaders, so the list, the lists bar and the open task redraw in place within a second.
// EventSource reconnects by itself and sends Last-Event-ID, so updates made while the connection
// was down are replayed.
import { useActionData, useLocation, useRevalidator } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { isTaskUpdate, type TaskUpdatesPayload } from "#core/events.ts";

/** A task's update (TaskUpdate), for the views that patch task rows or cards in place. */
export const LIVE_EVENT = "orbit:task-update";

export function LiveSync({ after }: { after: string }) {
  const { revalidate } = useRevalidator();
  const revalidateRef = useRef(revalidate);
  revalidateRef.current = revalidate;
  const startAfter = useRef(after);

  useEffect(() => {
    const source = new EventSource(`/live?after=${encodeURIComponent(startAfter.current)}`);
    let pending: ReturnType<typeof setTimeout> | null = null;
    source.addEventListener("task-update", (event) => {
      // One stream for the topic: a task's update (task_id) or a list's (list_id). The reload
      // below redraws both; only a task's reaches LIVE_EVENT's listeners, which patch by task_id.
      const data = JSON.parse((event as MessageEvent<string>).data) as TaskUpdatesPayload;
      if (isTaskUpdate(data)) window.dispatchEvent(new CustomEvent(LIVE_EVENT, { detail: data }));
      // Coalesce a burst (e.g. a completed recurring task and its next occurrence) into one reload.
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        revalidateRef.current();
      }, 50);
    });
    source.addEventListener("open", () => document.documentElement.setAttribute("data-live", "connected"));
    source.addEventListener("error", () =>
      document.documentElement.setAttribute("data-live", "reconnecting"),
    );
    return () => {
      if (pending) clearTimeout(pending);
      source.close();
    };
  }, []);
  return null;
}

/**
 * The route's action result, kept while the page stays where the action left it. A revalidation
 * that is not an action's own reload (live sync's, above) clears useActionData, so "Saved." or a
 * field's error would vanish as soon as the change the user just made came back as an update; this
 * keeps the last result until the next submission or navigation (a new location key) replaces it.
 */
export function useActionResult<A>(): ReturnType<typeof useActionData<A>> {
  const actionData = useActionData<A>();
  const { key } = useLocation();
  const [kept, setKept] = useState<{ key: string; data: typeof actionData } | null>(null);
  useEffect(() => {
    if (actionData !== undefined) setKept({ key, data: actionData });
  }, [actionData, key]);
  if (actionData !== undefined) return actionData;
  return kept?.key === key ? kept.data : undefined;
}
