// Server-Sent Events: the signed-in user's task updates, as this instance's LiveHub is woken for
// them. Resumes after Last-Event-ID (sent by EventSource on reconnect) or ?after= (the page's
// starting point), heartbeats every 15 s so proxies keep the connection open.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { liveUpdatesSince } from "#tasks/live-updates.ts";
import { getDb, getLiveHub } from "../lib/db.server.ts";
import { currentUser } from "../lib/session.server.ts";

const HEARTBEAT_MS = 15_000;

function eventId(value: string | null): bigint {
  return value && /^\d{1,19}$/.test(value) ? BigInt(value) : 0n;
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await currentUser(request);
  if (!user) return new Response("Sign in first.", { status: 401 });
  const url = new URL(request.url);
  const fromHeader = eventId(request.headers.get("last-event-id"));
  const fromQuery = eventId(url.searchParams.get("after"));
  let lastId = fromHeader > fromQuery ? fromHeader : fromQuery;
  const db = getDb();
  const hub = getLiveHub();
  const encoder = new TextEncoder();

  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      let closed = false;
      let draining = false;
      let again = false;
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      // Reads everything after lastId; a wake-up during a read schedules one more read.
      const drain = async () => {
        if (draining) {
          again = true;
          return;
        }
        draining = true;
        try {
          do {
            again = false;
            const rows = await liveUpdatesSince(db, user.userId, lastId);
            for (const row of rows) {
              send(`id: ${row.id}\nevent: task-update\ndata: ${JSON.stringify(row.payload)}\n\n`);
              lastId = row.id;
            }
            if (rows.length === 500) again = true;
          } while (again && !closed);
        } catch {
          // The database blipped: the next wake-up or heartbeat reads again from lastId.
        } finally {
          draining = false;
        }
      };
      const unsubscribe = hub.subscribe(user.userId, () => void drain());
      const heartbeat = setInterval(() => {
        send(": heartbeat\n\n");
        void drain();
      }, HEARTBEAT_MS);
      cleanup = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      request.signal.addEventListener("abort", cleanup);
      // Tell EventSource how soon to reconnect, then replay what was missed.
      send("retry: 1000\n\n");
      await hub.ensureConnected();
      await drain();
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
}
