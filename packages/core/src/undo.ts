// Undo in the web app: completing or deleting a task offers "Undo" for a few seconds. The rules
// here are what that toast says, which key undoes, and what each way it ends sends, through the
// existing commands only, so the audit log stays true: undoing a completion sends reopen (the log
// shows completed, then reopened); a delete is held back while it can be undone, so undoing it
// sends nothing (the log has no delete) and letting it go sends it.

/** How long the toast offers Undo (it waits while the pointer or focus is on it). */
export const UNDO_TOAST_MS = 6_000;

export type UndoDeleteScope = "occurrence" | "series";

/** What the toast offers to undo. */
export type Undoable =
  | {
      kind: "completed";
      taskId: string;
      title: string;
      recurring: boolean;
      /** A parent completed with its open subtasks: those it completed (undo reopens them too). */
      alsoCompleted?: string[];
    }
  | { kind: "deleted"; taskId: string; title: string; recurring: boolean; scope: UndoDeleteScope };

export interface UndoToast {
  /** Tells a toast from the one that replaced it (a late timer of the old one changes nothing). */
  id: number;
  action: Undoable;
  /** The path the toast belongs to: leaving it settles the toast (a held delete is sent). */
  page: string;
}

/** A command the toast's end sends. */
export type UndoCommand =
  { intent: "reopen"; taskId: string } | { intent: "delete"; taskId: string; scope: UndoDeleteScope };

export type UndoEvent =
  /** A new completion or delete: it replaces the toast shown, which settles first. */
  | { type: "show"; toast: UndoToast }
  | { type: "undo"; id: number }
  /** Expired, dismissed (Escape, ×), or left (another page, the tab closed). */
  | { type: "settle"; id: number };

export interface UndoStep {
  toast: UndoToast | null;
  /** Commands to send now, in order. */
  send: UndoCommand[];
  /** What was undone, if anything (its row comes back). */
  undone: Undoable | null;
}

/** What settling `toast` sends: its held delete, or nothing (a completion is already done). */
function settled(toast: UndoToast | null): UndoCommand[] {
  if (toast?.action.kind !== "deleted") return [];
  return [{ intent: "delete", taskId: toast.action.taskId, scope: toast.action.scope }];
}

/** The next state of the one toast, and what to send. An event for an older toast changes nothing. */
export function undoStep(current: UndoToast | null, event: UndoEvent): UndoStep {
  const unchanged: UndoStep = { toast: current, send: [], undone: null };
  if (event.type === "show") return { toast: event.toast, send: settled(current), undone: null };
  if (!current || current.id !== event.id) return unchanged;
  if (event.type === "settle") return { toast: null, send: settled(current), undone: null };
  const { action } = current;
  return {
    toast: null,
    // Undoing a delete sends nothing: it was never sent. Undoing a completion reopens what it
    // completed: the task, and the subtasks completed with it (not those done before).
    send:
      action.kind === "completed"
        ? [action.taskId, ...(action.alsoCompleted ?? [])].map((taskId) => ({
            intent: "reopen" as const,
            taskId,
          }))
        : [],
    undone: action,
  };
}

/** The task a toast holds back from deletion (its row stays hidden meanwhile). */
export function heldDelete(toast: UndoToast | null): string | null {
  return toast?.action.kind === "deleted" ? toast.action.taskId : null;
}

/** Whether being at `path` ends the toast: it is settled as soon as the user leaves its page. */
export function leftToastPage(toast: UndoToast | null, path: string): boolean {
  return toast !== null && toast.page !== path;
}

/** The toast's sentence, before its Undo button. */
export function undoMessage(action: Undoable): string {
  const title = `“${action.title}”`;
  if (action.kind === "completed") {
    const also = action.alsoCompleted?.length ?? 0;
    return also > 0
      ? `Completed ${title} and ${also} subtask${also === 1 ? "" : "s"}.`
      : `Completed ${title}.`;
  }
  if (!action.recurring) return `Deleted ${title}.`;
  return action.scope === "series"
    ? `Deleted ${title} and its series.`
    : `Deleted this occurrence of ${title}.`;
}

export interface KeyPress {
  key: string;
  code?: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

/**
 * What a key press does to a shown toast: `u`, or Ctrl-Z (Cmd-Z on a Mac) undoes, Escape
 * dismisses. Never while the user types in a field: its own undo and Escape are the field's.
 * Ctrl-Shift-Z is redo, not undo.
 */
export function toastKey(press: KeyPress, typing: boolean): "undo" | "dismiss" | null {
  if (typing || press.altKey) return null;
  const command = press.ctrlKey || press.metaKey;
  if (press.key === "Escape" && !command && !press.shiftKey) return "dismiss";
  if (!command && press.key.toLowerCase() === "u") return "undo";
  const z = press.key.toLowerCase() === "z" || press.code === "KeyZ";
  if (z && press.ctrlKey !== press.metaKey && !press.shiftKey) return "undo";
  return null;
}
