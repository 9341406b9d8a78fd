// Undo for completing and deleting a task (the rules are #core/undo.ts). One provider in the root
// layout, so the toast outlives a route change (the task page's delete lands on the list) and live
// sync's revalidation, which only reloads loader data, never touches it.
//
// Every write goes through the list's action (routes/tasks.tsx → tasks.server.ts), i.e. the
// existing commands: complete, reopen, delete. A completion is sent at once and its toast offers
// reopen; a delete is held back while its toast shows and sent when the toast ends: expired,
// dismissed, replaced by the next toast, or its page left (in-app: a fetcher; leaving the document
// or closing the tab: a keepalive POST on pagehide, which the browser finishes after the page is
// gone). Undoing a held delete sends nothing.
import { useFetcher, useLocation } from "@remix-run/react";
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from "react";
import {
  heldDelete,
  leftToastPage,
  toastKey,
  UNDO_TOAST_MS,
  undoMessage,
  undoStep,
  type UndoDeleteScope,
  type UndoEvent,
  type UndoStep,
  type UndoToast,
} from "#core/undo.ts";
import type { SubtaskChoice } from "#core/tasks.ts";
import { ASKED_FIELD } from "../lib/ask.ts";

/** The list's action, which runs each command (the same route a form without JavaScript posts to). */
const LIST_ACTION = "/?index";

export interface TaskRef {
  id: string;
  title: string;
  /** An occurrence of an active series (the toast then says which part was deleted). */
  recurring: boolean;
}

type Intent = "complete" | "reopen" | "delete";

/** A command on its way through a fetcher. */
interface Command {
  key: string;
  intent: Intent;
  task: TaskRef;
  scope: UndoDeleteScope;
  /** A completion that, once done, offers Undo. */
  offer: boolean;
  /** Completing a parent with open subtasks: what becomes of them (the dialog's answer). */
  subtasks?: SubtaskChoice;
}

/** Where focus should go once the list has drawn: a task's row (after Undo), or the list itself. */
export interface FocusRequest {
  n: number;
  taskId: string | null;
}

interface UndoContextValue {
  /**
   * Completes or reopens `task`; a completion that succeeds offers Undo. A parent with open
   * subtasks is completed with `subtasks` (complete or leave them), and its Undo reopens what it completed.
   */
  setStatus(task: TaskRef, intent: "complete" | "reopen", subtasks?: SubtaskChoice): void;
  /** Hides `task` and holds its delete back while the toast (shown on `page`) offers Undo. */
  holdDelete(task: TaskRef, scope: UndoDeleteScope, page?: string): void;
  /** Tasks whose rows are not shown: held back, or being deleted. */
  hidden: ReadonlySet<string>;
  /** Tasks with a completion or reopening on its way (the row shows it already). */
  statusInFlight: ReadonlyMap<string, "complete" | "reopen">;
  focusRequest: FocusRequest | null;
  focusDone(request: FocusRequest): void;
}

const UndoContext = createContext<UndoContextValue | null>(null);

export function useUndo(): UndoContextValue {
  const value = useContext(UndoContext);
  if (!value) throw new Error("useUndo outside <UndoProvider>");
  return value;
}

/** Whether keys typed now belong to a field (its own undo and Escape). */
function typingIn(element: Element | null): boolean {
  return Boolean(element?.closest("input, textarea, select, [contenteditable=true]"));
}

function commandFields(command: Pick<Command, "intent" | "task" | "scope" | "subtasks">, csrf: string) {
  // The person was asked (a dialog) or had Undo on offer (the toast): the server does as told.
  const fields = new URLSearchParams({
    csrf,
    intent: command.intent,
    id: command.task.id,
    [ASKED_FIELD]: "yes",
  });
  if (command.intent === "delete") fields.set("scope", command.scope);
  if (command.intent === "complete" && command.subtasks) fields.set("subtasks", command.subtasks);
  return fields;
}

const VERBS: Record<Intent, string> = { complete: "complete", reopen: "reopen", delete: "delete" };

export function UndoProvider({ csrf, children }: { csrf: string | null; children: ReactNode }) {
  const { pathname } = useLocation();
  const [toast, setToast] = useState<UndoToast | null>(null);
  const [commands, setCommands] = useState<Command[]>([]);
  // Deletes sent as the page went away (kept hidden if the page comes back from the back/forward cache).
  const [gone, setGone] = useState<ReadonlySet<string>>(new Set());
  const [problem, setProblem] = useState<string | null>(null);
  const [focusRequest, setFocusRequest] = useState<FocusRequest | null>(null);
  // The handlers below read the latest of these without being re-created.
  const toastRef = useRef<UndoToast | null>(null);
  const commandsRef = useRef<Command[]>([]);
  const csrfRef = useRef(csrf);
  csrfRef.current = csrf;
  const pathRef = useRef(pathname);
  const counter = useRef(0);
  const regionRef = useRef<HTMLDivElement>(null);

  const run = useCallback(
    (intent: Intent, task: TaskRef, scope: UndoDeleteScope, offer: boolean, subtasks?: SubtaskChoice) => {
      const command = { key: `undo-command-${++counter.current}`, intent, task, scope, offer, subtasks };
      commandsRef.current = [...commandsRef.current, command];
      setCommands(commandsRef.current);
    },
    [],
  );

  const apply = useCallback(
    (event: UndoEvent): UndoStep => {
      const before = toastRef.current;
      const step = undoStep(before, event);
      if (step.toast !== before) {
        toastRef.current = step.toast;
        setToast(step.toast);
      }
      // Whatever is sent concerns the toast that was shown (replaced, settled or undone).
      for (const command of step.send)
        if (before)
          run(
            command.intent,
            // The toast's task, or a subtask its completion completed (undo reopens those too).
            { id: command.taskId, title: before.action.title, recurring: before.action.recurring },
            command.intent === "delete" ? command.scope : "occurrence",
            false,
          );
      return step;
    },
    [run],
  );

  const show = useCallback(
    (action: UndoToast["action"], page: string) => {
      setProblem(null);
      apply({ type: "show", toast: { id: ++counter.current, action, page } });
    },
    [apply],
  );

  const undo = useCallback(
    (id: number) => {
      const active = document.activeElement;
      const step = apply({ type: "undo", id });
      // The row that comes back takes focus, unless the user is typing somewhere meanwhile.
      if (step.undone && !typingIn(active))
        setFocusRequest({ n: ++counter.current, taskId: step.undone.taskId });
    },
    [apply],
  );

  const settle = useCallback(
    (id: number) => {
      const fromToast = regionRef.current?.contains(document.activeElement) ?? false;
      apply({ type: "settle", id });
      // Focus was on the toast, which is gone now: back to the list.
      if (fromToast) setFocusRequest({ n: ++counter.current, taskId: null });
    },
    [apply],
  );

  const settled = useCallback(
    (command: Command, error: string | null, completedSubtasks: string[] = []) => {
      commandsRef.current = commandsRef.current.filter((c) => c.key !== command.key);
      setCommands(commandsRef.current);
      if (error) {
        setProblem(`Could not ${VERBS[command.intent]} “${command.task.title}”. ${error}`);
        return;
      }
      if (command.offer)
        show(
          {
            kind: "completed",
            taskId: command.task.id,
            title: command.task.title,
            recurring: command.task.recurring,
            ...(completedSubtasks.length > 0 ? { alsoCompleted: completedSubtasks } : {}),
          },
          pathRef.current,
        );
    },
    [show],
  );

  // Leaving the toast's page (a link, the task page's delete landing elsewhere) settles it.
  useEffect(() => {
    if (pathRef.current === pathname) return;
    pathRef.current = pathname;
    setFocusRequest(null);
    const current = toastRef.current;
    if (current && leftToastPage(current, pathname)) apply({ type: "settle", id: current.id });
  }, [pathname, apply]);

  // Leaving the document (another address, reload, closing the tab): the held delete, and any
  // delete still on its way, go out as keepalive requests the browser completes after the page is
  // gone. A delete sent twice is answered "already gone" the second time, and logged once.
  useEffect(() => {
    const onPageHide = () => {
      const token = csrfRef.current;
      const current = toastRef.current;
      const deletes = commandsRef.current.filter((c) => c.intent === "delete");
      const held = heldDelete(current);
      if (current?.action.kind === "deleted" && held)
        deletes.push({
          key: "held",
          intent: "delete",
          task: { id: held, title: current.action.title, recurring: current.action.recurring },
          scope: current.action.scope,
          offer: false,
        });
      if (!token || deletes.length === 0) return;
      for (const command of deletes)
        void fetch(LIST_ACTION, {
          method: "POST",
          body: commandFields(command, token),
          keepalive: true,
          credentials: "same-origin",
        }).catch(() => {});
      toastRef.current = null;
      setToast(null);
      setGone((ids) => new Set([...ids, ...deletes.map((c) => c.task.id)]));
    };
    window.addEventListener("pagehide", onPageHide);
    return () => window.removeEventListener("pagehide", onPageHide);
  }, []);

  // u or Ctrl/Cmd-Z undoes, Escape dismisses (and so sends a held delete now).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const current = toastRef.current;
      if (!current) return;
      const key = toastKey(event, typingIn(event.target as Element | null));
      if (!key) return;
      event.preventDefault();
      if (key === "undo") undo(current.id);
      else settle(current.id);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, settle]);

  const value = useMemo<UndoContextValue>(() => {
    const hidden = new Set(gone);
    const held = heldDelete(toast);
    if (held) hidden.add(held);
    const statusInFlight = new Map<string, "complete" | "reopen">();
    for (const command of commands)
      if (command.intent === "delete") hidden.add(command.task.id);
      else statusInFlight.set(command.task.id, command.intent);
    return {
      setStatus: (task, intent, subtasks) => {
        setProblem(null);
        setFocusRequest(null);
        run(intent, task, "occurrence", intent === "complete", subtasks);
      },
      holdDelete: (task, scope, page = pathRef.current) => {
        setFocusRequest(null);
        show({ kind: "deleted", taskId: task.id, title: task.title, recurring: task.recurring, scope }, page);
      },
      hidden,
      statusInFlight,
      focusRequest,
      focusDone: (request) => setFocusRequest((current) => (current?.n === request.n ? null : current)),
    };
  }, [toast, commands, gone, focusRequest, run, show]);

  return (
    <UndoContext.Provider value={value}>
      {children}
      {csrf
        ? commands.map((command) => (
            <CommandRunner key={command.key} command={command} csrf={csrf} onSettled={settled} />
          ))
        : null}
      <div
        ref={regionRef}
        className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex flex-col items-center gap-2 p-4"
      >
        {problem ? (
          <div
            role="alert"
            className="pointer-events-auto flex max-w-lg items-start gap-3 rounded-lg bg-red-50 px-4 py-3 text-sm text-red-900 shadow-lg ring-1 ring-red-200"
          >
            <p className="min-w-0 flex-1">{problem}</p>
            <button
              type="button"
              aria-label="Dismiss"
              className="rounded px-1.5 text-red-800 hover:bg-red-100"
              onClick={() => setProblem(null)}
            >
              ×
            </button>
          </div>
        ) : null}
        {/* Always in the page, so screen readers announce what appears in it. */}
        <div role="status" aria-live="polite" data-testid="undo-toast" className="w-full max-w-lg sm:w-auto">
          {toast ? (
            <ToastBody key={toast.id} toast={toast} onUndo={() => undo(toast.id)} onSettle={settle} />
          ) : null}
        </div>
      </div>
    </UndoContext.Provider>
  );
}

/** The toast: what happened, Undo, and ×. It waits while the pointer or keyboard focus is on it. */
function ToastBody({
  toast,
  onUndo,
  onSettle,
}: {
  toast: UndoToast;
  onUndo: () => void;
  onSettle: (id: number) => void;
}) {
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const paused = hovered || focused;
  const remaining = useRef(UNDO_TOAST_MS);
  const settleRef = useRef(onSettle);
  settleRef.current = onSettle;
  useEffect(() => {
    if (paused) return;
    const started = Date.now();
    const timer = setTimeout(() => settleRef.current(toast.id), remaining.current);
    return () => {
      clearTimeout(timer);
      remaining.current = Math.max(0, remaining.current - (Date.now() - started));
    };
  }, [paused, toast.id]);
  return (
    <div
      className="pointer-events-auto flex items-center gap-3 rounded-lg bg-slate-900 py-2 pl-4 pr-2 text-sm text-white shadow-lg"
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
      onFocus={() => setFocused(true)}
      onBlur={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setFocused(false);
      }}
    >
      <p className="min-w-0 flex-1 break-words">{undoMessage(toast.action)}</p>
      <button
        type="button"
        onClick={onUndo}
        title="Undo (u or Ctrl+Z)"
        className="rounded-md px-2.5 py-1.5 font-semibold text-indigo-200 underline underline-offset-2 hover:bg-slate-800 hover:text-white"
      >
        Undo
      </button>
      <button
        type="button"
        aria-label="Dismiss"
        title="Dismiss (Esc)"
        onClick={() => onSettle(toast.id)}
        className="rounded-md px-2 py-1.5 text-slate-300 hover:bg-slate-800 hover:text-white"
      >
        ×
      </button>
    </div>
  );
}

/** Sends one command through a fetcher of its own, and reports its answer once it is settled. */
function CommandRunner({
  command,
  csrf,
  onSettled,
}: {
  command: Command;
  csrf: string;
  onSettled: (command: Command, error: string | null, completedSubtasks?: string[]) => void;
}) {
  const fetcher = useFetcher<{ error?: string | null; completedSubtasks?: string[] }>({ key: command.key });
  const sent = useRef(false);
  const done = useRef(false);
  useEffect(() => {
    if (sent.current) return;
    sent.current = true;
    fetcher.submit(commandFields(command, csrf), { method: "post", action: LIST_ACTION });
    // Sent once, with what it was started with.
  }, []);
  useEffect(() => {
    if (done.current || fetcher.state !== "idle" || fetcher.data === undefined) return;
    done.current = true;
    onSettled(command, fetcher.data?.error ?? null, fetcher.data?.completedSubtasks ?? []);
  }, [fetcher.state, fetcher.data, command, onSettled]);
  return null;
}
