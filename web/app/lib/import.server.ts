// Settings' Todoist import (routes/settings.import.tsx): the upload read within its limits, the
// preview kept (#tasks/imports.ts), and on "Import N tasks" every task created through the create
// command as the signed-in user, like quick add does: each one an event in the audit log, with the
// account's default reminders and its repeat.
import {
  data,
  MaxPartSizeExceededError,
  unstable_parseMultipartFormData,
  type UploadHandler,
} from "@remix-run/node";
import {
  decodeUpload,
  readTodoistCsv,
  TODOIST_IMPORT_LIMITS,
  type ImportRow,
  type ImportTaskInput,
} from "#core/todoist-import.ts";
import {
  claimImport,
  finishImport,
  runImport,
  saveProgress,
  savePreview,
  type CreateOutcome,
  type ImportReport,
} from "#tasks/imports.ts";
import { listLists } from "#tasks/list-queries.ts";
import { commandsAs } from "./commands.server.ts";
import { getDb } from "./db.server.ts";
import { renewalHeaders, requireUser, requireUserWithCsrf, type CurrentUser } from "./session.server.ts";

/** What the import's form shows after each step. */
export interface ImportActionData {
  intent: "import-preview" | "import-confirm" | null;
  /** For the whole form, e.g. an expired preview. */
  error: string | null;
  /** Per field, e.g. `file`. */
  fieldErrors: Record<string, string>;
  message: string | null;
  /** `lists`: where the tasks may go (the user's active lists, Inbox first). */
  preview: { id: string; fileName: string; rows: ImportRow[]; lists: { id: string; name: string }[] } | null;
  report: ImportReport | null;
  timeZone: string;
}

const MEGABYTE = 1_048_576;
/** The other fields (csrf, intent, import id) are short. */
const FIELD_MAX_BYTES = 4096;
const sizeMessage = `The file is larger than ${TODOIST_IMPORT_LIMITS.bytes / MEGABYTE} MB: export one Todoist project at a time.`;

/** The import's form intents: `import-preview` (the upload) and `import-confirm`. */
export async function importAction(request: Request) {
  const user = await requireUser(request);
  const reply = (payload: Partial<ImportActionData>, status = 200) =>
    data<ImportActionData>(
      {
        intent: null,
        error: null,
        fieldErrors: {},
        message: null,
        preview: null,
        report: null,
        timeZone: user.timeZone,
        ...payload,
      },
      { status, headers: renewalHeaders(user) },
    );
  // A body larger than the file may be is refused before it is read.
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > TODOIST_IMPORT_LIMITS.bytes + 64 * 1024)
    return reply({ intent: "import-preview", fieldErrors: { file: sizeMessage } }, 413);
  let form: FormData;
  try {
    form = /^multipart\/form-data/i.test(request.headers.get("content-type") ?? "")
      ? await unstable_parseMultipartFormData(request, uploadHandler())
      : await request.formData();
  } catch (error) {
    if (error instanceof MaxPartSizeExceededError)
      return error.field === "file"
        ? reply({ intent: "import-preview", fieldErrors: { file: sizeMessage } }, 413)
        : reply({ error: `The form's field “${error.field}” is too long.` }, 413);
    if (error instanceof UnexpectedField) return reply({ error: error.message }, 400);
    throw error;
  }
  await requireUserWithCsrf(request, form);
  const intent = String(form.get("intent") ?? "");
  if (intent === "import-preview") return preview(user, form, reply);
  if (intent === "import-confirm")
    return confirm(user, String(form.get("import_id") ?? ""), String(form.get("list_id") ?? ""), reply);
  return reply({ error: "Unknown action." }, 400);
}

type Reply = (
  payload: Partial<ImportActionData>,
  status?: number,
) => ReturnType<typeof data<ImportActionData>>;

async function preview(user: CurrentUser, form: FormData, reply: Reply) {
  const file = form.get("file");
  if (!(file instanceof File) || (file.size === 0 && file.name === ""))
    return reply(
      { intent: "import-preview", fieldErrors: { file: "Choose the CSV file Todoist exported." } },
      400,
    );
  const refuse = (message: string) =>
    reply({ intent: "import-preview", fieldErrors: { file: message } }, 400);
  const decoded = decodeUpload(new Uint8Array(await file.arrayBuffer()));
  if (!decoded.ok) return refuse(decoded.message);
  const now = new Date();
  const read = readTodoistCsv(decoded.text, { timeZone: user.timeZone, now });
  if (!read.ok) return refuse(read.message);
  if (read.rows.length === 0)
    return refuse(
      "The file holds no tasks: its first line names the columns, and there is nothing after it.",
    );
  const fileName = file.name.slice(0, 200) || "todoist.csv";
  const id = await savePreview(
    getDb(),
    user.userId,
    { source: "todoist_csv", fileName, rows: read.rows },
    now,
  );
  // Todoist exports one project per file: its tasks may go into one of the user's lists.
  const lists = (await listLists(getDb(), user.userId)).map((list) => ({ id: list.id, name: list.name }));
  return reply({ intent: "import-preview", preview: { id, fileName, rows: read.rows, lists } });
}

async function confirm(user: CurrentUser, id: string, listId: string, reply: Reply) {
  const db = getDb();
  const claim = await claimImport(db, user.userId, id, new Date());
  if (!claim.ok) {
    const intent = "import-confirm";
    switch (claim.state) {
      case "missing":
        return reply({ intent, error: "There is no such import preview: choose the file again." }, 404);
      case "expired":
        return reply(
          { intent, error: "This preview is more than an hour old: choose the file again to import it." },
          410,
        );
      case "done":
        return reply({
          intent,
          message: "This file was already imported: nothing was imported again.",
          report: claim.report,
        });
      case "running":
        return reply(
          {
            intent,
            message:
              "This import is already running: nothing was imported twice. Reload in a moment to see it.",
            report: claim.report,
          },
          409,
        );
      case "stalled":
        return reply(
          {
            intent,
            error:
              "This import stopped before it finished. The report says which tasks it created; check your list before importing the file again.",
            report: claim.report,
          },
          409,
        );
    }
  }
  const commands = commandsAs(user);
  const create = async (input: ImportTaskInput): Promise<CreateOutcome> => {
    // The chosen list for the top-level tasks; a subtask is in its parent's.
    const intoList = listId && !input.parent_id ? { list_id: listId } : {};
    const result = await commands.createTask({ ...input, ...intoList });
    if (result.ok) return { ok: true, taskId: result.body.id };
    const fields = Object.entries(result.fieldErrors).map(([field, message]) => `${field}: ${message}`);
    return {
      ok: false,
      reason: fields.length > 0 ? fields.join("; ") : result.message,
      // The task service is away, refuses more for now, or the session ended: the rest would fail too.
      stop: result.status === 503 || result.status === 429 || result.status === 401,
    };
  };
  const report = await runImport(claim.fileName, claim.rows, create, (so) =>
    saveProgress(db, user.userId, id, so, new Date()),
  );
  await finishImport(db, user.userId, id, report, new Date());
  return reply({ intent: "import-confirm", report }, report.complete ? 200 : 503);
}

class UnexpectedField extends Error {}

/**
 * The upload kept in memory within limits: the file at most TODOIST_IMPORT_LIMITS.bytes, the other
 * fields a few kilobytes, and no field but these (a request cannot make the server hold more).
 */
function uploadHandler(): UploadHandler {
  return async ({ name, filename, contentType, data: parts }) => {
    const max = name === "file" ? TODOIST_IMPORT_LIMITS.bytes : FIELD_MAX_BYTES;
    if (!["file", "csrf", "intent", "import_id"].includes(name))
      throw new UnexpectedField(`The form has a field “${name.slice(0, 50)}” it does not take.`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of parts) {
      size += chunk.byteLength;
      if (size > max) throw new MaxPartSizeExceededError(name, max);
      chunks.push(Buffer.from(chunk));
    }
    const bytes = Buffer.concat(chunks);
    if (typeof filename === "string") return new File([bytes], filename, { type: contentType });
    return bytes.toString("utf8");
  };
}
