// The signed-in user's export, downloaded from Settings: /settings/export.json (all their data)
// and /settings/export.csv (their tasks). Streamed a page at a time as packages/tasks/src/export.ts
// reads it, so a large account is never held in memory whole.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { exportFileName } from "#core/export-format.ts";
import { exportJson, exportTasksCsv } from "#tasks/export.ts";
import { getDb } from "../lib/db.server.ts";
import { requireUser } from "../lib/session.server.ts";

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const now = new Date();
  const csv = new URL(request.url).pathname.endsWith(".csv");
  const chunks = csv
    ? withBom(exportTasksCsv(getDb(), user.userId))
    : await exportJson(getDb(), user.userId, now);
  if (!chunks) throw new Response("No such account.", { status: 404 });
  return new Response(streamOf(chunks), {
    headers: {
      "Content-Type": csv ? "text/csv; charset=utf-8; header=present" : "application/json; charset=utf-8",
      "Content-Disposition": `attachment; filename="${exportFileName(csv ? "csv" : "json", now, csv ? "tasks" : "export")}"`,
      // Personal data: never kept by a cache or proxy.
      "Cache-Control": "private, no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

/** A UTF-8 byte order mark first: spreadsheets otherwise read the file in the machine's code page. */
async function* withBom(chunks: AsyncGenerator<string>): AsyncGenerator<string> {
  yield "\uFEFF";
  yield* chunks;
}

/** Each chunk is read from the database only when the client is ready for it (pull). */
function streamOf(chunks: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
