import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import {
  Form,
  Link,
  useFetcher,
  useLoaderData,
  useLocation,
  useNavigate,
  useNavigation,
  useSearchParams,
  useSubmit,
} from "@remix-run/react";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { keepLiteral, readQuickAdd, type QuickAddPart } from "#core/quick-add.ts";
import { describeWireRecurrence } from "#core/recurrence.ts";
import { reminderTiming, type ReminderTiming } from "#core/reminders.ts";
import { DEFAULT_ORDER, type Sort } from "#core/task-query.ts";
import type { TaskDto } from "#core/tasks.ts";
import { CHAT_SHORTCUT, ChatLauncher, ChatPanel } from "../components/chat-panel.tsx";
import { CompleteParentDialog, ListChip, ListsBar, SubtaskProgress } from "../components/lists.tsx";
import { LIVE_EVENT, useActionResult } from "../components/live-sync.tsx";
import { PastReminderHint } from "../components/reminder-editor.tsx";
import { TaskMeta } from "../components/task-meta.tsx";
import { useUndo, type TaskRef } from "../components/undo.tsx";
import { buttonClass, CsrfInput, inputClass, secondaryButtonClass } from "../components/ui.tsx";
import { formatDue, isOverdue, offsetLabel } from "../lib/format.ts";
import { viewQuery } from "../lib/view-query.ts";
import { renewalHeaders, requireUser, requireUserWithCsrf } from "../lib/session.server.ts";
import { loadTaskList, tasksAction } from "./tasks.server.ts";

export const meta: MetaFunction = () => [{ title: "Tasks · Orbit" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  return data(await loadTaskList(user, new URL(request.url)), { headers: renewalHeaders(user) });
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await request.formData();
  const user = await requireUserWithCsrf(request, form);
  return tasksAction(user, form);
}

type Loaded = ReturnType<typeof useLoaderData<typeof loader>>;
type Item = Loaded["items"][number];

const SORT_BUTTONS = [
  ["due", "Due date"],
  ["priority", "Priority"],
  ["created", "Created"],
  ["title", "A–Z"],
] as const;

export default function Tasks() {
  const loaded = useLoaderData<typeof loader>();
  const actionData = useActionResult<typeof action>();
  const navigation = useNavigation();
  const [params] = useSearchParams();
  const submit = useSubmit();
  const quickAddRef = useRef<HTMLInputElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const sectionRef = useRef<HTMLElement>(null);
  const [selected, setSelected] = useState(-1);
  // The task whose row (or a button in it) has focus: when that row leaves the list (completed out
  // of the view, deleted), focus moves to the row now in its place instead of falling to <body>.
  const focusedRow = useRef<string | null>(null);
  const undo = useUndo();
  // The assistant's panel; /assistant (the no-JavaScript page) sends a browser with it here, open.
  const location = useLocation();
  const navigate = useNavigate();
  const [chatOpen, setChatOpen] = useState(false);
  useEffect(() => {
    if ((location.state as { openAssistant?: boolean } | null)?.openAssistant) {
      setChatOpen(true);
      navigate(`${location.pathname}${location.search}`, { replace: true, state: null });
    }
  }, [location.state]);
  // What quick add will read, shown under the box as the user types (the server parses the same way).
  const [quickText, setQuickText] = useState("");
  const preview = useMemo(() => {
    if (!quickText.trim()) return null;
    const now = new Date();
    const read = readQuickAdd(quickText, loaded.timeZone, now);
    // A task given a due date gets the account's default reminders: say which have already passed.
    const due = read.draft.dueAt;
    const pastDefaults = due
      ? loaded.defaultReminders
          .map((minutes) => ({
            minutes,
            timing: reminderTiming(
              new Date(due.getTime() - minutes * 60_000),
              due,
              now,
              loaded.pastReminderPolicy,
            ),
          }))
          .filter((reminder) => reminder.timing !== "scheduled")
      : [];
    return { ...read, pastDefaults };
  }, [quickText, loaded.timeZone, loaded.defaultReminders, loaded.pastReminderPolicy]);

  // Pages after the first, fetched with "Load more" and kept in sync with live updates.
  const more = useFetcher<typeof loader>();
  const [extra, setExtra] = useState<Item[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(loaded.nextCursor);
  const baseKey = params.toString();
  useEffect(() => {
    setExtra([]);
    setNextCursor(loaded.nextCursor);
  }, [baseKey]);
  useEffect(() => {
    if (extra.length === 0) setNextCursor(loaded.nextCursor);
  }, [loaded.nextCursor]);
  useEffect(() => {
    if (more.state !== "idle" || !more.data) return;
    const page = more.data;
    setExtra((current) => [
      ...current,
      ...page.items.filter((item) => !current.some((c) => c.id === item.id)),
    ]);
    setNextCursor(page.nextCursor);
  }, [more.state, more.data]);
  useEffect(() => {
    const onUpdate = (event: Event) => {
      const update = (event as CustomEvent<{ event_type: string; task_id: string; task: TaskDto | null }>)
        .detail;
      setExtra((current) =>
        update.event_type === "task_deleted"
          ? current.filter((item) => item.id !== update.task_id)
          : current.map((item) =>
              item.id === update.task_id && update.task
                ? { ...update.task, undelivered: item.undelivered, parentTitle: item.parentTitle }
                : item,
            ),
      );
    };
    window.addEventListener(LIVE_EVENT, onUpdate);
    return () => window.removeEventListener(LIVE_EVENT, onUpdate);
  }, []);

  const items = useMemo(() => {
    const first = new Set(loaded.items.map((item) => item.id));
    return [...loaded.items, ...extra.filter((item) => !first.has(item.id))].filter(
      // A delete held back by the undo toast hides its row at once.
      (item) => !undo.hidden.has(item.id),
    );
  }, [loaded.items, extra, undo.hidden]);

  // Focus stays in the list: after the focused row left it, on the row now at its place (the next
  // one, or the last), or on the list itself once it is empty; after Undo, on the row that is back.
  const { focusRequest, focusDone } = undo;
  useLayoutEffect(() => {
    const section = sectionRef.current;
    if (!section) return;
    const rows = Array.from(section.querySelectorAll<HTMLElement>("[data-task-row]"));
    const active = document.activeElement;
    const lost = !active || active === document.body;
    const focusAt = (index: number) => {
      const at = Math.min(Math.max(index, 0), rows.length - 1);
      if (at >= 0) {
        rows[at]!.focus();
        setSelected(at);
      } else section.focus();
    };
    if (focusRequest) {
      const inList = section.contains(active);
      const back = focusRequest.taskId
        ? rows.findIndex((row) => row.dataset.taskId === focusRequest.taskId)
        : -1;
      if (back >= 0 && (lost || inList)) {
        focusAt(back);
        focusDone(focusRequest);
        return;
      }
      if (lost) focusAt(selected);
      // A reopened task comes back with the reload after its command: wait for it, unless the user
      // has moved on to something else meanwhile.
      else if (!inList) focusDone(focusRequest);
      if (!focusRequest.taskId) focusDone(focusRequest);
      return;
    }
    if (lost && focusedRow.current && !items.some((item) => item.id === focusedRow.current))
      focusAt(selected);
  }, [items, focusRequest, focusDone, selected]);

  // Clear the quick-add box once the task exists.
  useEffect(() => {
    if (actionData && "created" in actionData && actionData.created && navigation.state === "idle") {
      setQuickText("");
      quickAddRef.current?.focus();
    }
  }, [actionData, navigation.state]);

  // Keyboard shortcuts: q quick add, / search, j/k move, x complete, Delete (or #) delete, Enter
  // open, a the assistant; u and Ctrl/Cmd-Z undo, Escape dismisses the toast (components/undo.tsx).
  // None reaches the list from inside the assistant's panel (its own keys: Enter, Escape).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (event.metaKey || event.ctrlKey || event.altKey) return;
      if (target.closest("[data-chat-panel]")) return;
      if (target.closest("input, textarea, select, [contenteditable=true]")) {
        if (event.key === "Escape") target.blur();
        return;
      }
      const rows = listRef.current?.querySelectorAll<HTMLElement>("[data-task-row]") ?? [];
      const move = (to: number) => {
        const index = Math.max(0, Math.min(rows.length - 1, to));
        setSelected(index);
        rows[index]?.focus();
      };
      if (event.key === "q") {
        event.preventDefault();
        quickAddRef.current?.focus();
      } else if (event.key === CHAT_SHORTCUT) {
        event.preventDefault();
        setChatOpen(true);
      } else if (event.key === "/") {
        event.preventDefault();
        searchRef.current?.focus();
      } else if (event.key === "j") move(selected + 1);
      else if (event.key === "k") move(selected - 1);
      else if (event.key === "x" && rows[selected]) {
        rows[selected].querySelector<HTMLButtonElement>("[data-toggle]")?.click();
      } else if ((event.key === "Delete" || event.key === "#") && rows[selected]) {
        event.preventDefault();
        rows[selected].querySelector<HTMLButtonElement>("[data-delete]")?.click();
      } else if (event.key === "Enter" && rows[selected] && target === rows[selected]) {
        rows[selected].querySelector<HTMLAnchorElement>("a[data-open]")?.click();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [selected]);

  const filters = loaded.filters;
  const sortHref = (sort: Sort) => {
    const next = viewQuery(params);
    if (sort === loaded.sort && !params.get("order")) {
      // A second click on the current sort flips it from its default order.
      next.set("sort", sort);
      next.set("order", DEFAULT_ORDER[sort] === "asc" ? "desc" : "asc");
    } else {
      next.set("sort", sort);
      next.delete("order");
    }
    return `?${next.toString()}`;
  };
  const loading = navigation.state === "loading" && navigation.location?.pathname === "/";
  const filtered = Boolean(
    filters.q ||
    filters.priority ||
    filters.tag ||
    filters.due ||
    filters.from ||
    filters.to ||
    filters.status !== "pending",
  );
  const quickError = actionData?.intent === "quick-add" ? actionData : null;
  const listError =
    actionData?.error && String(actionData.intent).endsWith("-list")
      ? { message: actionData.error, field: Object.keys(actionData.fieldErrors ?? {})[0] ?? null }
      : null;
  const listsById = new Map([...loaded.lists, ...loaded.archivedLists].map((list) => [list.id, list]));
  const currentView = viewQuery(params);

  return (
    <div className="space-y-5">
      <h1 className="sr-only">{loaded.currentList ? `Tasks in ${loaded.currentList.name}` : "Tasks"}</h1>
      <ListsBar
        lists={loaded.lists}
        archived={loaded.archivedLists}
        current={loaded.currentList}
        csrf={loaded.csrf}
        error={listError}
        created={actionData && "listId" in actionData ? String(actionData.listId) : null}
        moved={actionData && "moved" in actionData ? String(actionData.moved) : null}
      />
      <Form method="post" className="flex flex-col gap-2 sm:flex-row" aria-label="Quick add">
        <CsrfInput token={loaded.csrf} />
        <input type="hidden" name="intent" value="quick-add" />
        <input type="hidden" name="list_id" value={loaded.currentList?.id ?? ""} />
        <label htmlFor="quick-add" className="sr-only">
          Add a task
        </label>
        <input
          ref={quickAddRef}
          id="quick-add"
          name="text"
          autoComplete="off"
          required
          value={quickText}
          onChange={(event) => setQuickText(event.target.value)}
          placeholder={`Add a task${loaded.currentList ? ` to ${loaded.currentList.name}` : ""}: Buy milk #home !high tomorrow 3pm list:Errands   (press q)`}
          aria-describedby={quickError?.error ? "quick-add-error" : undefined}
          className={`${inputClass} sm:flex-1`}
        />
        <button type="submit" className={buttonClass}>
          Add task
        </button>
      </Form>
      {preview && preview.parts.length > 0 ? (
        <QuickAddPreview
          parts={preview.parts}
          pastDefaults={preview.pastDefaults}
          title={preview.draft.title}
          timeZone={loaded.timeZone}
          onKeep={(part) => {
            setQuickText(keepLiteral(quickText, part));
            quickAddRef.current?.focus();
          }}
        />
      ) : null}
      {quickError?.error ? (
        <p id="quick-add-error" role="alert" className="text-sm text-red-700">
          {Object.values(quickError.fieldErrors as Record<string, string>)[0] ?? quickError.error}
        </p>
      ) : null}

      <Form
        method="get"
        role="search"
        aria-label="Find tasks"
        className="space-y-3 rounded-lg border border-slate-200 bg-white p-3 shadow-sm"
        onChange={(event) => {
          const target = event.target as HTMLInputElement;
          if (target.tagName === "SELECT" || target.type === "date")
            submit(event.currentTarget, { replace: true });
        }}
      >
        <div className="flex gap-2">
          <label htmlFor="search" className="sr-only">
            Search tasks
          </label>
          <input
            ref={searchRef}
            id="search"
            name="q"
            type="search"
            defaultValue={filters.q}
            key={filters.q}
            placeholder="Search tasks (press /)"
            className={`${inputClass} flex-1`}
          />
          <button type="submit" className={secondaryButtonClass}>
            Search
          </button>
        </div>
        <div className="grid grid-cols-2 gap-2 sm:grid-cols-4">
          <Select
            label="Status"
            name="status"
            value={filters.status}
            options={[
              ["pending", "Open"],
              ["completed", "Done"],
              ["all", "All"],
            ]}
          />
          <Select
            label="Priority"
            name="priority"
            value={filters.priority}
            options={[
              ["", "Any priority"],
              ["high", "High"],
              ["medium", "Medium"],
              ["low", "Low"],
              ["none", "None"],
            ]}
          />
          <Select
            label="Tag"
            name="tag"
            value={filters.tag}
            options={[
              ["", "Any tag"],
              ...loaded.tags.map((tag) => [tag.toLowerCase(), `#${tag}`] as [string, string]),
            ]}
          />
          <Select
            label="Due"
            name="due"
            value={filters.due}
            options={[
              ["", "Any time"],
              ["overdue", "Overdue"],
              ["today", "Today"],
              ["week", "Next 7 days"],
              ["none", "No due date"],
            ]}
          />
        </div>
        <fieldset className="flex flex-wrap items-end gap-2">
          <legend className="text-xs font-medium text-slate-700">Due between (both days included)</legend>
          <DateInput label="From" name="from" value={filters.from} max={filters.to || undefined} />
          <DateInput label="To" name="to" value={filters.to} min={filters.from || undefined} />
          {filters.from || filters.to ? (
            <Link
              to={`?${viewQuery(params, ["from", "to", "cursor"]).toString()}`}
              replace
              className="pb-2 text-sm text-indigo-700 underline"
            >
              Clear dates
            </Link>
          ) : null}
        </fieldset>
        {filters.sort ? <input type="hidden" name="sort" value={filters.sort} /> : null}
        {filters.order ? <input type="hidden" name="order" value={filters.order} /> : null}
      </Form>

      <div className="flex flex-wrap items-center gap-2">
        <span className="text-sm text-slate-700" id="sort-label">
          Sort:
        </span>
        <div role="group" aria-labelledby="sort-label" className="flex flex-wrap gap-1">
          {SORT_BUTTONS.map(([sort, label]) => (
            <Link
              key={sort}
              to={sortHref(sort)}
              aria-current={loaded.sort === sort ? "true" : undefined}
              data-sort={sort}
              className={`rounded-md px-2.5 py-1 text-sm font-medium ${loaded.sort === sort ? "bg-indigo-600 text-white" : "bg-white text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50"}`}
            >
              {label}
              {loaded.sort === sort ? ((filters.order || DEFAULT_ORDER[sort]) === "desc" ? " ↓" : " ↑") : ""}
            </Link>
          ))}
        </div>
        <SavedViews views={loaded.views} csrf={loaded.csrf} query={currentView.toString()} />
        <ChatLauncher open={chatOpen} onOpen={() => setChatOpen(true)} />
      </div>

      {loaded.errors.length > 0 ? (
        <p role="alert" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900">
          This view has a problem: {loaded.errors.join("; ")}
        </p>
      ) : null}

      <section
        ref={sectionRef}
        aria-label="Task list"
        aria-busy={loading}
        tabIndex={-1}
        className={loading ? "opacity-60 transition-opacity" : ""}
        onBlur={(event) => {
          // Focus left the list for good (not: its row was removed, which the effect above handles).
          const from = event.target;
          if (event.currentTarget.contains(event.relatedTarget as Node | null)) return;
          setTimeout(() => {
            if (from.isConnected && !sectionRef.current?.contains(document.activeElement))
              focusedRow.current = null;
          }, 0);
        }}
      >
        {items.length === 0 ? (
          <div
            className="rounded-lg border border-dashed border-slate-300 bg-white p-10 text-center"
            data-testid="empty-state"
          >
            <p className="text-lg font-medium">
              {filtered ? "Nothing matches this view." : "You are all caught up."}
            </p>
            <p className="mt-1 text-sm text-slate-700">
              {filtered ? (
                <Link to="/" className="text-indigo-700 underline">
                  Clear filters
                </Link>
              ) : (
                "Add your first task above, e.g. “Pay rent #home !high tomorrow 9am”."
              )}
            </p>
          </div>
        ) : (
          <>
            {loaded.match === "similar" ? (
              <p className="mb-2 text-sm text-slate-700" data-testid="similar-matches" role="status">
                No task has the words “{loaded.filters.q}”; these titles come close.
              </p>
            ) : null}
            <ul
              ref={listRef}
              className="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm"
            >
              {items.map((task, index) => (
                <TaskRow
                  key={task.id}
                  task={task}
                  list={loaded.currentList ? null : (listsById.get(task.list_id) ?? null)}
                  csrf={loaded.csrf}
                  timeZone={loaded.timeZone}
                  now={loaded.now}
                  selected={index === selected}
                  onFocus={() => {
                    setSelected(index);
                    focusedRow.current = task.id;
                  }}
                />
              ))}
            </ul>
          </>
        )}
        {nextCursor ? (
          <div className="mt-4 text-center">
            <button
              type="button"
              className={secondaryButtonClass}
              disabled={more.state !== "idle"}
              onClick={() => {
                const next = viewQuery(params);
                next.set("cursor", nextCursor);
                more.load(`/?index&${next.toString()}`);
              }}
            >
              {more.state !== "idle" ? "Loading…" : "Load more"}
            </button>
          </div>
        ) : null}
      </section>
      <p className="hidden text-xs text-slate-600 sm:block">
        Shortcuts: <kbd>q</kbd> quick add · <kbd>/</kbd> search · <kbd>j</kbd>/<kbd>k</kbd> move ·{" "}
        <kbd>x</kbd> complete · <kbd>Del</kbd> delete · <kbd>u</kbd> undo · <kbd>Enter</kbd> open ·{" "}
        <kbd>{CHAT_SHORTCUT}</kbd> assistant
      </p>
      <ChatPanel
        open={chatOpen}
        onClose={() => setChatOpen(false)}
        csrf={loaded.csrf}
        timeZone={loaded.timeZone}
      />
    </div>
  );
}

const PRIORITY_NAMES = { high: "High", medium: "Medium", low: "Low", none: "None" } as const;

/** The chips under quick add: each part it read, with × to keep that text as title instead. */
function QuickAddPreview({
  parts,
  pastDefaults,
  title,
  timeZone,
  onKeep,
}: {
  parts: QuickAddPart[];
  /** The default reminders whose time will already have passed when the task is saved. */
  pastDefaults: { minutes: number; timing: ReminderTiming }[];
  title: string;
  timeZone: string;
  onKeep: (part: QuickAddPart) => void;
}) {
  const chip = "inline-flex items-center gap-1 rounded-full px-2 py-0.5";
  return (
    <div className="text-xs text-slate-700" data-testid="quick-add-preview">
      <p className="sr-only" aria-live="polite">
        Will add “{title}”
      </p>
      <ul aria-label="Quick add understood" className="flex flex-wrap items-center gap-2">
        {parts.map((part, index) =>
          part.kind === "unknown-priority" ? (
            <li key={index} className={`${chip} bg-amber-100 text-amber-900`} data-part="unknown-priority">
              {part.text} is not a priority (use !high, !medium or !low): it stays in the title
            </li>
          ) : (
            <li key={index} className={`${chip} bg-indigo-50 text-indigo-900`} data-part={part.kind}>
              {part.kind === "tag"
                ? `#${part.tag}`
                : part.kind === "priority"
                  ? `Priority: ${PRIORITY_NAMES[part.priority]}`
                  : part.kind === "repeat"
                    ? `Repeats: ${describeWireRecurrence({ ...part.recurrence, month_day: null, last_day_of_month: false })}`
                    : part.kind === "list"
                      ? `List: ${part.list}`
                      : `Due: ${formatDue(part.dueAt.toISOString(), timeZone)}`}
              <button
                type="button"
                className="rounded-full px-1 text-indigo-700 hover:bg-indigo-100"
                aria-label={`Keep “${part.text}” as text`}
                title={`Keep “${part.text}” as text`}
                onClick={() => onKeep(part)}
              >
                ×
              </button>
            </li>
          ),
        )}
        {pastDefaults.map(({ minutes, timing }) => (
          <li key={`past-${minutes}`} className="inline-flex items-center gap-1" data-part="past-reminder">
            <span>{offsetLabel(minutes)}</span>
            <PastReminderHint timing={timing} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function DateInput({
  label,
  name,
  value,
  min,
  max,
}: {
  label: string;
  name: string;
  value: string;
  min?: string;
  max?: string;
}) {
  return (
    <div>
      <label htmlFor={`filter-${name}`} className="block text-xs font-medium text-slate-700">
        {label}
      </label>
      <input
        id={`filter-${name}`}
        name={name}
        type="date"
        defaultValue={value}
        key={value}
        min={min}
        max={max}
        className={`${inputClass} mt-1`}
      />
    </div>
  );
}

function Select({
  label,
  name,
  value,
  options,
}: {
  label: string;
  name: string;
  value: string;
  options: [string, string][];
}) {
  return (
    <div>
      <label htmlFor={`filter-${name}`} className="block text-xs font-medium text-slate-700">
        {label}
      </label>
      <select
        id={`filter-${name}`}
        name={name}
        defaultValue={value}
        key={value}
        className={`${inputClass} mt-1`}
      >
        {options.map(([optionValue, optionLabel]) => (
          <option key={optionValue} value={optionValue}>
            {optionLabel}
          </option>
        ))}
      </select>
    </div>
  );
}

function SavedViews({
  views,
  csrf,
  query,
}: {
  views: { id: string; name: string; query: string }[];
  csrf: string;
  query: string;
}) {
  const [open, setOpen] = useState(false);
  return (
    <div className="ml-auto flex flex-wrap items-center gap-1">
      {views.map((view) => (
        <span key={view.id} className="inline-flex items-center rounded-md bg-white ring-1 ring-slate-300">
          <Link to={`/?${view.query}`} className="px-2 py-1 text-sm text-slate-800 hover:bg-slate-50">
            ★ {view.name}
          </Link>
          <Form method="post">
            <CsrfInput token={csrf} />
            <input type="hidden" name="intent" value="delete-view" />
            <input type="hidden" name="id" value={view.id} />
            <button
              type="submit"
              aria-label={`Delete saved view ${view.name}`}
              className="px-1.5 py-1 text-sm text-slate-600 hover:text-red-700"
            >
              ×
            </button>
          </Form>
        </span>
      ))}
      {open ? (
        <Form method="post" className="flex items-center gap-1" onSubmit={() => setOpen(false)}>
          <CsrfInput token={csrf} />
          <input type="hidden" name="intent" value="save-view" />
          <input type="hidden" name="query" value={query} />
          <label htmlFor="view-name" className="sr-only">
            View name
          </label>
          <input
            id="view-name"
            name="name"
            required
            maxLength={60}
            placeholder="View name"
            className={`${inputClass} w-32 py-1`}
            autoFocus
          />
          <button type="submit" className={secondaryButtonClass}>
            Save
          </button>
        </Form>
      ) : (
        <button
          type="button"
          className="rounded-md px-2 py-1 text-sm text-indigo-700 hover:bg-indigo-50"
          onClick={() => setOpen(true)}
        >
          Save view
        </button>
      )}
    </div>
  );
}

function TaskRow({
  task,
  list,
  csrf,
  timeZone,
  now,
  selected,
  onFocus,
}: {
  task: Item;
  /** The task's list, shown where the view holds more than one list. */
  list: { name: string; color: string } | null;
  csrf: string;
  timeZone: string;
  now: string;
  selected: boolean;
  onFocus: () => void;
}) {
  const undo = useUndo();
  const inFlight = undo.statusInFlight.get(task.id);
  // What the row's command will make it, shown while it is on its way.
  const done = inFlight ? inFlight === "complete" : task.status === "completed";
  const overdue = isOverdue(task, new Date(now));
  const ref: TaskRef = { id: task.id, title: task.title, recurring: Boolean(task.recurrence?.active) };
  // The list deletes one occurrence of a series (it goes on); the task page also offers the series.
  const deleteLabel = ref.recurring ? `Delete this occurrence of “${task.title}”` : `Delete “${task.title}”`;
  // Completing a parent with open subtasks first asks what becomes of them.
  const [asking, setAsking] = useState(false);
  const openSubtasks = task.subtasks.total - task.subtasks.done;
  return (
    <li
      data-task-row
      data-task-id={task.id}
      data-status={task.status}
      tabIndex={-1}
      onFocus={onFocus}
      className={`flex items-start gap-3 px-4 py-3 ${selected ? "bg-indigo-50" : ""} ${overdue ? "border-l-4 border-l-red-500" : ""}`}
    >
      {/* Without JavaScript these forms post to the list's action; with it, the undo toast's commands
          run them (a completion at once, a delete once its toast has ended). */}
      <Form
        method="post"
        onSubmit={(event) => {
          event.preventDefault();
          if (inFlight) return;
          if (!done && openSubtasks > 0) setAsking(true);
          else undo.setStatus(ref, done ? "reopen" : "complete");
        }}
      >
        <CsrfInput token={csrf} />
        <input type="hidden" name="id" value={task.id} />
        <input type="hidden" name="intent" value={done ? "reopen" : "complete"} />
        <button
          type="submit"
          data-toggle
          aria-label={done ? `Reopen “${task.title}”` : `Complete “${task.title}”`}
          className={`mt-0.5 flex h-5 w-5 items-center justify-center rounded-full border-2 ${done ? "border-emerald-600 bg-emerald-600 text-white" : "border-slate-400 hover:border-indigo-600"}`}
        >
          {done ? "✓" : ""}
        </button>
      </Form>
      <div className="min-w-0 flex-1">
        <Link
          data-open
          to={`/tasks/${task.id}`}
          className={`block truncate font-medium hover:underline ${done ? "text-slate-500 line-through" : "text-slate-900"}`}
        >
          {task.title}
        </Link>
        <TaskMeta task={task} timeZone={timeZone} now={now} variant="row" />
        {list || task.subtasks.total > 0 || task.parentTitle ? (
          <div className="mt-1 flex flex-wrap items-center gap-2">
            {list ? <ListChip list={list} /> : null}
            <SubtaskProgress subtasks={task.subtasks} />
            {task.parentTitle ? (
              <span className="text-xs text-slate-700" data-parent-title>
                ↳ subtask of {task.parentTitle}
              </span>
            ) : null}
          </div>
        ) : null}
        {asking ? (
          <CompleteParentDialog
            title={task.title}
            open={openSubtasks}
            onCancel={() => setAsking(false)}
            onChoose={(choice) => {
              setAsking(false);
              undo.setStatus(ref, "complete", choice);
            }}
          />
        ) : null}
        {task.undelivered ? (
          <Link
            to={`/tasks/${task.id}`}
            data-undelivered-badge
            title="A reminder of this task reached you on no channel: open the task to see why"
            className="mt-1 inline-block rounded bg-red-100 px-1.5 py-0.5 text-xs font-medium text-red-900"
          >
            Reminder not delivered
          </Link>
        ) : null}
      </div>
      <Form
        method="post"
        onSubmit={(event) => {
          event.preventDefault();
          undo.holdDelete(ref, "occurrence");
        }}
      >
        <CsrfInput token={csrf} />
        <input type="hidden" name="intent" value="delete" />
        <input type="hidden" name="id" value={task.id} />
        <input type="hidden" name="scope" value="occurrence" />
        <button
          type="submit"
          data-delete
          aria-label={deleteLabel}
          title={deleteLabel}
          className="-my-1 rounded-md p-1.5 text-slate-500 hover:bg-red-50 hover:text-red-700"
        >
          <svg aria-hidden="true" viewBox="0 0 20 20" fill="currentColor" className="h-4 w-4">
            <path
              fillRule="evenodd"
              d="M8.75 1A2.75 2.75 0 0 0 6 3.75v.44c-.8.08-1.57.17-2.34.3a.75.75 0 1 0 .25 1.47l.15-.03.9 10.06A2.75 2.75 0 0 0 7.7 18.5h4.6a2.75 2.75 0 0 0 2.74-2.51l.9-10.06.15.03a.75.75 0 0 0 .25-1.48c-.77-.12-1.55-.22-2.34-.3v-.43A2.75 2.75 0 0 0 11.25 1h-2.5ZM10 4c.84 0 1.67.03 2.5.08v-.33c0-.69-.56-1.25-1.25-1.25h-2.5c-.69 0-1.25.56-1.25 1.25v.33C8.33 4.03 9.16 4 10 4ZM8.58 7.72a.75.75 0 0 0-1.5.06l.3 7.5a.75.75 0 1 0 1.5-.06l-.3-7.5Zm4.34.06a.75.75 0 1 0-1.5-.06l-.3 7.5a.75.75 0 1 0 1.5.06l.3-7.5Z"
              clipRule="evenodd"
            />
          </svg>
        </button>
      </Form>
    </li>
  );
}
