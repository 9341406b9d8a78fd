// Settings' "Import and export": downloads of the user's data (routes/settings.export.ts) and the
// Todoist import (routes/settings.import.tsx) in two steps: the file is read and previewed, what
// will be imported and what will not, then "Import N tasks" creates them and reports, row by row,
// what could not be carried over. Without JavaScript the same forms post to /settings/import,
// which shows the same component with their result.
import { useFetcher } from "@remix-run/react";
import { useState } from "react";
import { describeWireRecurrence } from "#core/recurrence.ts";
import { TODOIST_IMPORT_LIMITS, type ImportRow } from "#core/todoist-import.ts";
import type { ImportReport, ImportReportRow } from "#tasks/imports.ts";
import type { ImportActionData } from "../lib/import.server.ts";
import { formatInstant } from "../lib/format.ts";
import { buttonClass, CsrfInput, Field, secondaryButtonClass } from "./ui.tsx";

/** Rows shown per table; the rest are counted. */
const SHOWN = 200;
const PRIORITY_NAMES = { high: "High", medium: "Medium", low: "Low", none: "—" } as const;

export function ImportExport({
  csrf,
  timeZone,
  result,
}: {
  csrf: string;
  timeZone: string;
  /** The action's answer when the page was posted without JavaScript. */
  result?: ImportActionData | undefined;
}) {
  const fetcher = useFetcher<ImportActionData>();
  const data = fetcher.data ?? result;
  const busy = fetcher.state !== "idle";
  const submitting = busy ? String(fetcher.formData?.get("intent") ?? "") : null;
  // "Cancel" hides a preview without a round trip (it expires on its own).
  const [dismissed, setDismissed] = useState<string | null>(null);
  const errors = data?.fieldErrors ?? {};
  const preview = data?.preview && data.preview.id !== dismissed ? data.preview : null;
  return (
    <section
      className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
      aria-labelledby="import-export-heading"
    >
      <h2 id="import-export-heading" className="text-lg font-semibold">
        Import and export
      </h2>

      <h3 className="mt-3 text-sm font-semibold text-slate-800">Export</h3>
      <p className="mt-1 text-sm text-slate-700">
        Everything Orbit holds for you: your account and settings, every task with its tags, reminders and
        repeat, saved views, notification channels (never their secrets) and the activity log.
      </p>
      <div className="mt-2 flex flex-wrap gap-2">
        <a href="/settings/export.json" download className={secondaryButtonClass}>
          Download all data (JSON)
        </a>
        <a href="/settings/export.csv" download className={secondaryButtonClass}>
          Download tasks (CSV)
        </a>
      </div>

      <h3 className="mt-5 text-sm font-semibold text-slate-800">Import from Todoist</h3>
      <p className="mt-1 text-sm text-slate-700">
        In Todoist, open a project’s menu and choose “Export as a template”, then “Export as CSV file”. Labels
        become tags, p1–p4 become high, medium, low and no priority, due dates and “every …” repeats are read
        in English (dates without a time are due at 09:00), and sub-tasks become subtasks (one level deep).
        The tasks go into the list you choose. You see what will be imported before anything is. At most{" "}
        {TODOIST_IMPORT_LIMITS.bytes / 1_048_576} MB and {TODOIST_IMPORT_LIMITS.rows.toLocaleString("en")}{" "}
        rows per file.
      </p>
      <fetcher.Form
        method="post"
        action="/settings/import"
        encType="multipart/form-data"
        className="mt-2 flex flex-wrap items-end gap-2"
      >
        <CsrfInput token={csrf} />
        <input type="hidden" name="intent" value="import-preview" />
        <Field label="Todoist CSV file" name="file" error={errors.file}>
          <input
            id="file"
            name="file"
            type="file"
            accept=".csv,text/csv"
            required
            aria-invalid={errors.file ? true : undefined}
            aria-describedby={errors.file ? "file-error" : undefined}
            className="block text-sm"
          />
        </Field>
        <button type="submit" className={secondaryButtonClass} disabled={busy}>
          {submitting === "import-preview" ? "Reading…" : "Preview import"}
        </button>
      </fetcher.Form>

      {data?.error ? (
        <p role="alert" className="mt-3 rounded-md bg-red-50 p-3 text-sm text-red-800">
          {data.error}
        </p>
      ) : null}
      {data?.message ? (
        <p role="status" className="mt-3 rounded-md bg-amber-50 p-3 text-sm text-amber-900">
          {data.message}
        </p>
      ) : null}

      {preview && !data?.report ? (
        <ImportPreview
          preview={preview}
          timeZone={data?.timeZone ?? timeZone}
          footer={
            <fetcher.Form method="post" action="/settings/import" className="mt-3 flex flex-wrap gap-2">
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="import-confirm" />
              <input type="hidden" name="import_id" value={preview.id} />
              <label htmlFor="import-list" className="self-center text-sm text-slate-700">
                Into list
              </label>
              <select
                id="import-list"
                name="list_id"
                className="rounded-md border border-slate-300 px-2 py-1 text-sm"
              >
                {preview.lists.map((list) => (
                  <option key={list.id} value={list.id}>
                    {list.name}
                  </option>
                ))}
              </select>
              <button
                type="submit"
                className={buttonClass}
                disabled={busy || !preview.rows.some((row) => row.kind === "task")}
              >
                {submitting === "import-confirm"
                  ? "Importing…"
                  : `Import ${countOf(preview.rows, "task")} ${plural(countOf(preview.rows, "task"), "task")}`}
              </button>
              <button
                type="button"
                className={secondaryButtonClass}
                disabled={busy}
                onClick={() => setDismissed(preview.id)}
              >
                Cancel
              </button>
            </fetcher.Form>
          }
        />
      ) : null}
      {data?.report ? <ImportReportView report={data.report} /> : null}
    </section>
  );
}

const countOf = (rows: ImportRow[], kind: ImportRow["kind"]) =>
  rows.filter((row) => row.kind === kind).length;
const plural = (count: number, word: string) => (count === 1 ? word : `${word}s`);

function ImportPreview({
  preview,
  timeZone,
  footer,
}: {
  preview: NonNullable<ImportActionData["preview"]>;
  timeZone: string;
  footer: React.ReactNode;
}) {
  const tasks = preview.rows.filter((row) => row.kind === "task");
  const others = preview.rows.filter((row) => row.kind !== "task");
  const skipped = countOf(preview.rows, "skipped");
  return (
    <div className="mt-4 space-y-3" data-testid="import-preview">
      <h4 className="text-sm font-semibold">
        {preview.fileName}: {tasks.length} {plural(tasks.length, "task")} to import
        {skipped > 0 ? `; ${skipped} ${plural(skipped, "row")} will not be` : ""}
      </h4>
      {tasks.length > 0 ? (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Tasks that will be imported</caption>
            <thead className="text-xs text-slate-600">
              <tr>
                <th className="py-1 pr-2">Line</th>
                <th className="py-1 pr-2">Task</th>
                <th className="py-1 pr-2">Due</th>
                <th className="py-1 pr-2">Repeats</th>
                <th className="py-1 pr-2">Priority</th>
                <th className="py-1 pr-2">Tags</th>
                <th className="py-1">Notes</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 align-top">
              {tasks.slice(0, SHOWN).map((row) => (
                <tr key={row.line}>
                  <td className="py-1 pr-2 tabular-nums">{row.line}</td>
                  <td className="py-1 pr-2 font-medium">{row.input.title}</td>
                  <td className="py-1 pr-2 whitespace-nowrap">
                    {row.input.due_at
                      ? formatInstant(row.input.due_at, row.input.time_zone ?? timeZone)
                      : "—"}
                  </td>
                  <td className="py-1 pr-2">
                    {row.input.recurrence
                      ? describeWireRecurrence({
                          last_day_of_month: false,
                          month_day: null,
                          ...row.input.recurrence,
                        }) + (row.input.recurrence.anchor === "completion" ? ", from completion" : "")
                      : "—"}
                  </td>
                  <td className="py-1 pr-2">{PRIORITY_NAMES[row.input.priority]}</td>
                  <td className="py-1 pr-2">{row.input.tags.map((tag) => `#${tag}`).join(" ") || "—"}</td>
                  <td className="py-1 text-slate-700">
                    <NoteList notes={row.notes} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <More count={tasks.length} what="tasks" />
        </div>
      ) : (
        <p className="text-sm text-slate-700">The file holds no task Orbit can import.</p>
      )}
      {others.length > 0 ? <RowNotes rows={others} heading="Not imported as tasks" /> : null}
      {footer}
    </div>
  );
}

function ImportReportView({ report }: { report: ImportReport }) {
  const adjusted = report.rows.filter((row) => row.kind !== "created" || row.notes.length > 0);
  const summary = [
    `Imported ${report.created} ${plural(report.created, "task")} from ${report.fileName}.`,
    report.failed > 0 ? `${report.failed} could not be created.` : "",
    report.skipped > 0 ? `${report.skipped} ${plural(report.skipped, "row")} were not imported.` : "",
    report.complete ? "" : "The import stopped before the end: the rows it did not try are listed.",
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <div className="mt-4 space-y-3" data-testid="import-report">
      <p role="status" className="rounded-md bg-emerald-50 p-3 text-sm text-emerald-900">
        {summary}{" "}
        <a href="/" className="font-medium underline">
          See them in your list
        </a>
      </p>
      {adjusted.length > 0 ? (
        <RowNotes rows={adjusted} heading="What could not be carried over as it was" />
      ) : null}
    </div>
  );
}

/** Per row of the file: what it held, and what became of it (line numbers as an editor shows). */
function RowNotes({ rows, heading }: { rows: (ImportRow | ImportReportRow)[]; heading: string }) {
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="mb-1 text-left text-sm font-semibold">{heading}</caption>
        <thead className="text-xs text-slate-600">
          <tr>
            <th className="py-1 pr-2">Line</th>
            <th className="py-1 pr-2">Row</th>
            <th className="py-1">What happened</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 align-top">
          {rows.slice(0, SHOWN).map((row) => (
            <tr key={row.line} data-line={row.line}>
              <td className="py-1 pr-2 tabular-nums">{row.line}</td>
              <td className="py-1 pr-2 font-medium">{rowText(row)}</td>
              <td className="py-1 text-slate-700">{rowOutcome(row)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <More count={rows.length} what="rows" />
    </div>
  );
}

function rowText(row: ImportRow | ImportReportRow): string {
  switch (row.kind) {
    case "task":
      return row.input.title;
    case "created":
    case "failed":
      return row.title;
    case "comment":
      return "Comment";
    case "skipped":
      return row.text || "—";
  }
}

function rowOutcome(row: ImportRow | ImportReportRow): React.ReactNode {
  switch (row.kind) {
    case "comment":
      return `Added to the description of “${row.taskTitle}” (line ${row.taskLine}).`;
    case "skipped":
      return `Not imported: ${row.reason}`;
    case "failed":
      return `Not created: ${row.reason}`;
    case "created":
    case "task":
      return <NoteList notes={row.notes} />;
  }
}

function NoteList({ notes }: { notes: string[] }) {
  if (notes.length === 0) return null;
  return (
    <ul className="list-disc pl-4">
      {notes.map((note) => (
        <li key={note}>{note}</li>
      ))}
    </ul>
  );
}

/** How many of `count` rows a table leaves out (it shows SHOWN). */
function More({ count, what }: { count: number; what: string }) {
  return count > SHOWN ? (
    <p className="mt-1 text-xs text-slate-600">
      …and {count - SHOWN} more {what}.
    </p>
  ) : null;
}
