// Lists and subtasks in the web app: the lists bar over the task list (each list with its colour
// and open tasks, Inbox first; a list's page is the list filtered to it, with its settings), the
// subtask progress a parent shows, and the dialog completing a parent with open subtasks asks.
// The rules are #core/lists.ts; the writes go through the command functions (tasks.server.ts).
import { Form, Link, useSearchParams } from "@remix-run/react";
import { useEffect, useState } from "react";
import { LIST_COLORS, LIST_LIMITS, type ListColor, type ListSummary } from "#core/lists.ts";
import type { SubtaskChoice } from "#core/tasks.ts";
import { ModalDialog } from "./dialog.tsx";
import { buttonClass, CsrfInput, dangerButtonClass, inputClass, secondaryButtonClass } from "./ui.tsx";
import { ASKED_FIELD, type Ask } from "../lib/ask.ts";
import { viewQuery } from "../lib/view-query.ts";

/**
 * Each palette token's swatch (a dot beside the name, never the text's colour: the name stays
 * slate-900 on white, so contrast holds for every colour) and its name for assistive technology.
 */
const SWATCHES: Record<ListColor, { dot: string; name: string }> = {
  slate: { dot: "bg-slate-500", name: "Slate" },
  red: { dot: "bg-red-600", name: "Red" },
  orange: { dot: "bg-orange-500", name: "Orange" },
  amber: { dot: "bg-amber-400", name: "Amber" },
  green: { dot: "bg-green-600", name: "Green" },
  teal: { dot: "bg-teal-600", name: "Teal" },
  blue: { dot: "bg-blue-600", name: "Blue" },
  indigo: { dot: "bg-indigo-600", name: "Indigo" },
  purple: { dot: "bg-purple-600", name: "Purple" },
  pink: { dot: "bg-pink-500", name: "Pink" },
};

export function ListDot({ color }: { color: string }) {
  const swatch = SWATCHES[color as ListColor] ?? SWATCHES.slate;
  return (
    <span aria-hidden="true" className={`inline-block h-2.5 w-2.5 shrink-0 rounded-full ${swatch.dot}`} />
  );
}

/** A task's list, as a small chip on its row (where the view shows more than one list). */
export function ListChip({ list }: { list: { name: string; color: string } }) {
  return (
    <span className="inline-flex items-center gap-1 text-xs text-slate-700" data-list-chip>
      <ListDot color={list.color} />
      {list.name}
    </span>
  );
}

/** A parent's progress: "2/5" and a small bar. */
export function SubtaskProgress({ subtasks }: { subtasks: { done: number; total: number } }) {
  if (subtasks.total === 0) return null;
  const percent = Math.round((subtasks.done / subtasks.total) * 100);
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-slate-700" data-subtask-progress>
      <span
        role="progressbar"
        aria-label="Subtasks done"
        aria-valuemin={0}
        aria-valuemax={subtasks.total}
        aria-valuenow={subtasks.done}
        aria-valuetext={`${subtasks.done} of ${subtasks.total} subtasks done`}
        className="inline-block h-1.5 w-12 overflow-hidden rounded-full bg-slate-200"
      >
        <span className="block h-full bg-emerald-600" style={{ width: `${percent}%` }} />
      </span>
      <span>
        {subtasks.done}/{subtasks.total}
      </span>
    </span>
  );
}

function ColorSelect({ id, value }: { id: string; value: string }) {
  return (
    <select id={id} name="color" defaultValue={value} className={`${inputClass} w-28 py-1`}>
      {LIST_COLORS.map((color) => (
        <option key={color} value={color}>
          {SWATCHES[color].name}
        </option>
      ))}
    </select>
  );
}

/**
 * The lists bar: every active list with its colour and open tasks (Inbox first), "New list", and
 * for the list shown its settings (rename, colour, archive) and the archived lists to bring back.
 */
export function ListsBar({
  lists,
  archived,
  current,
  csrf,
  error,
  created,
  moved,
}: {
  lists: ListSummary[];
  archived: ListSummary[];
  /** The list the page shows, if one. */
  current: ListSummary | null;
  csrf: string;
  /** A refused list change, and the field it names. */
  error: { message: string; field: string | null } | null;
  /** The list just made: the "New list" form closes (a refused name keeps it open, with what was typed). */
  created: string | null;
  /** Where the list just moved, said to assistive technology (and shown). */
  moved: string | null;
}) {
  const [params] = useSearchParams();
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    if (created) setCreating(false);
  }, [created]);
  const hrefFor = (id: string | null) => {
    const next = viewQuery(params);
    if (id) next.set("list", id);
    else next.delete("list");
    const query = next.toString();
    return query ? `/?${query}` : "/";
  };
  return (
    <nav aria-label="Lists" className="space-y-2" data-testid="lists-bar">
      <ul className="flex flex-wrap items-center gap-1.5">
        <li>
          <Link
            to={hrefFor(null)}
            aria-current={current ? undefined : "page"}
            className={`inline-flex items-center gap-1.5 rounded-full px-3 py-1 text-sm ring-1 ${current ? "bg-white text-slate-800 ring-slate-300 hover:bg-slate-50" : "bg-slate-900 text-white ring-slate-900"}`}
          >
            All lists
          </Link>
        </li>
        {lists.map((list) => (
          <li key={list.id}>
            <Link
              to={hrefFor(list.id)}
              data-list-id={list.id}
              data-list-color={list.color}
              aria-current={current?.id === list.id ? "page" : undefined}
              className={`inline-flex items-center gap-1.5 rounded-full px-3 py-1 text-sm ring-1 ${current?.id === list.id ? "bg-indigo-50 font-semibold text-slate-900 ring-indigo-600" : "bg-white text-slate-800 ring-slate-300 hover:bg-slate-50"}`}
            >
              <ListDot color={list.color} />
              {list.name}
              <span className="text-xs text-slate-600" aria-label={`${list.open_tasks} open`}>
                {list.open_tasks}
              </span>
            </Link>
          </li>
        ))}
        <li>
          {creating ? (
            <Form method="post" className="flex items-center gap-1" aria-label="New list">
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="create-list" />
              <label htmlFor="new-list-name" className="sr-only">
                List name
              </label>
              <input
                id="new-list-name"
                name="name"
                required
                maxLength={LIST_LIMITS.nameMax}
                placeholder="List name"
                autoFocus
                className={`${inputClass} w-36 py-1`}
              />
              <label htmlFor="new-list-color" className="sr-only">
                Colour
              </label>
              <ColorSelect id="new-list-color" value="blue" />
              <button type="submit" className={secondaryButtonClass}>
                Create
              </button>
              <button
                type="button"
                className="rounded-md px-2 py-1 text-sm text-slate-700 hover:bg-slate-100"
                onClick={() => setCreating(false)}
              >
                Cancel
              </button>
            </Form>
          ) : (
            <button
              type="button"
              className="rounded-full px-3 py-1 text-sm text-indigo-700 hover:bg-indigo-50"
              onClick={() => setCreating(true)}
            >
              + New list
            </button>
          )}
        </li>
      </ul>
      {error ? (
        <p role="alert" className="text-sm text-red-700" data-list-error={error.field ?? "form"}>
          {error.message}
        </p>
      ) : null}
      {current ? <ListSettings key={`${current.id}:${current.version}`} list={current} csrf={csrf} /> : null}
      {current && !current.archived && !current.is_inbox ? (
        <ListOrder
          list={current}
          place={lists.findIndex((list) => list.id === current.id)}
          count={lists.length}
          csrf={csrf}
        />
      ) : null}
      <p role="status" className="text-sm text-slate-700" data-list-moved>
        {moved ?? ""}
      </p>
      {archived.length > 0 ? (
        <details className="text-sm">
          <summary className="cursor-pointer text-slate-700">Archived lists ({archived.length})</summary>
          <ul className="mt-1 space-y-1">
            {archived.map((list) => (
              <li key={list.id} className="flex items-center gap-2" data-archived-list={list.name}>
                <ListDot color={list.color} />
                <Link to={hrefFor(list.id)} className="text-slate-800 underline">
                  {list.name}
                </Link>
                <Form method="post">
                  <CsrfInput token={csrf} />
                  <input type="hidden" name="intent" value="unarchive-list" />
                  <input type="hidden" name="id" value={list.id} />
                  <button type="submit" className="text-indigo-700 underline">
                    Unarchive “{list.name}”
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </nav>
  );
}

/**
 * Move earlier / Move later: the shown list's place among the active lists (after the Inbox, which
 * is always first). Not keyed by the list's version, so focus stays on the button pressed while the
 * page reloads; at an end the button is aria-disabled (still focusable) rather than removed.
 */
function ListOrder({
  list,
  place,
  count,
  csrf,
}: {
  list: ListSummary;
  /** The list's index among the active lists, the Inbox 0. */
  place: number;
  count: number;
  csrf: string;
}) {
  const ends = { earlier: place <= 1, later: place >= count - 1 };
  return (
    <div role="group" aria-label={`Order of “${list.name}”`} className="flex items-center gap-2 text-sm">
      <span className="text-slate-700">
        List {place + 1} of {count}
      </span>
      {(["earlier", "later"] as const).map((direction) => (
        <Form method="post" key={direction}>
          <CsrfInput token={csrf} />
          <input type="hidden" name="intent" value="move-list" />
          <input type="hidden" name="id" value={list.id} />
          <input type="hidden" name="direction" value={direction} />
          <button
            type="submit"
            aria-disabled={ends[direction] || undefined}
            onClick={(event) => {
              if (ends[direction]) event.preventDefault();
            }}
            className={`${secondaryButtonClass} aria-disabled:cursor-not-allowed aria-disabled:opacity-50`}
          >
            {direction === "earlier" ? "Move earlier" : "Move later"}
          </button>
        </Form>
      ))}
    </div>
  );
}

/** The shown list's name and colour, and Archive (not for the Inbox). */
function ListSettings({ list, csrf }: { list: ListSummary; csrf: string }) {
  return (
    <div
      className="flex flex-wrap items-end gap-2 rounded-lg border border-slate-200 bg-white p-3"
      data-list-settings
    >
      <h2 className="sr-only">List “{list.name}”</h2>
      {list.archived ? (
        <p className="w-full text-sm text-amber-900">
          This list is archived: its tasks are kept but hidden from the other views.
        </p>
      ) : null}
      <Form method="post" className="flex flex-wrap items-end gap-2" aria-label="List settings">
        <CsrfInput token={csrf} />
        <input type="hidden" name="intent" value="update-list" />
        <input type="hidden" name="id" value={list.id} />
        <input type="hidden" name="version" value={list.version} />
        <div>
          <label htmlFor="list-name" className="block text-xs font-medium text-slate-700">
            List name
          </label>
          <input
            id="list-name"
            name="name"
            required
            maxLength={LIST_LIMITS.nameMax}
            defaultValue={list.name}
            className={`${inputClass} mt-1 w-44 py-1`}
          />
        </div>
        <div>
          <label htmlFor="list-color" className="block text-xs font-medium text-slate-700">
            Colour
          </label>
          <div className="mt-1">
            <ColorSelect id="list-color" value={list.color} />
          </div>
        </div>
        <button type="submit" className={secondaryButtonClass}>
          Save list
        </button>
      </Form>
      {list.is_inbox ? null : (
        <Form method="post" className="ml-auto">
          <CsrfInput token={csrf} />
          <input type="hidden" name="intent" value={list.archived ? "unarchive-list" : "archive-list"} />
          <input type="hidden" name="id" value={list.id} />
          <button type="submit" className={list.archived ? secondaryButtonClass : dangerButtonClass}>
            {list.archived ? "Unarchive list" : "Archive list"}
          </button>
        </Form>
      )}
    </div>
  );
}

/**
 * Asks what becomes of a parent's open subtasks when it is completed (a ModalDialog: Escape or
 * Cancel completes nothing).
 */
export function CompleteParentDialog({
  title,
  open,
  onChoose,
  onCancel,
}: {
  title: string;
  /** How many subtasks are still open; null: the dialog is closed. */
  open: number | null;
  onChoose: (choice: SubtaskChoice) => void;
  onCancel: () => void;
}) {
  if (open === null) return null;
  const them = open === 1 ? "it" : "them";
  return (
    <ModalDialog
      title={`Complete “${title}”?`}
      description={`It has ${open} open subtask${open === 1 ? "" : "s"}. Complete ${them} too, or leave ${them} open?`}
      testId="complete-parent-dialog"
      onCancel={onCancel}
    >
      <button type="button" className={secondaryButtonClass} onClick={onCancel}>
        Cancel
      </button>
      <button type="button" className={secondaryButtonClass} onClick={() => onChoose("leave")}>
        Leave {them} open
      </button>
      <button type="button" className={buttonClass} autoFocus onClick={() => onChoose("complete")}>
        Complete all
      </button>
    </ModalDialog>
  );
}

/**
 * The same questions without JavaScript (lib/ask.ts): the task's page opens with one of them at
 * its top, each answer a form of its own, Cancel a link back to the page.
 */
export function ParentQuestion({
  ask,
  task,
  csrf,
}: {
  ask: Ask;
  task: { id: string; title: string; subtasks: { done: number; total: number } };
  csrf: string;
}) {
  const open = task.subtasks.total - task.subtasks.done;
  const them = open === 1 ? "it" : "them";
  const action = `/tasks/${task.id}`;
  const heading = ask.ask === "complete" ? `Complete “${task.title}”?` : `Delete “${task.title}”?`;
  const count = task.subtasks.total;
  return (
    <section
      aria-labelledby="parent-question"
      data-testid="parent-question"
      className="rounded-lg border border-amber-300 bg-amber-50 p-4"
    >
      <h2 id="parent-question" className="text-lg font-semibold text-slate-900">
        {heading}
      </h2>
      <p className="mt-1 text-sm text-slate-800">
        {ask.ask === "complete"
          ? `It has ${open} open subtask${open === 1 ? "" : "s"}. Complete ${them} too, or leave ${them} open?`
          : `Its ${count} subtask${count === 1 ? " goes" : "s go"} with it${ask.scope === "series" ? ", and the series ends" : ""}.`}
      </p>
      <div className="mt-3 flex flex-wrap items-center gap-2">
        {ask.ask === "complete" ? (
          <>
            <Form method="post" action={action}>
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="complete" />
              <input type="hidden" name="subtasks" value="complete" />
              <button type="submit" className={buttonClass}>
                Complete all
              </button>
            </Form>
            <Form method="post" action={action}>
              <CsrfInput token={csrf} />
              <input type="hidden" name="intent" value="complete" />
              <input type="hidden" name="subtasks" value="leave" />
              <button type="submit" className={secondaryButtonClass}>
                Leave {them} open
              </button>
            </Form>
          </>
        ) : (
          <Form method="post" action={action}>
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value="delete" />
            <input type="hidden" name="scope" value={ask.scope} />
            <input type="hidden" name={ASKED_FIELD} value="yes" />
            <button type="submit" className={dangerButtonClass}>
              Delete {count === 1 ? "both" : `all ${count + 1}`}
            </button>
          </Form>
        )}
        <Link to={action} className="text-sm text-indigo-700 underline">
          Cancel
        </Link>
      </div>
    </section>
  );
}
