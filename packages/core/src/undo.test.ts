// Undo's rules: one toast at a time, what each way it ends sends, and which key undoes.
import { describe, expect, it } from "vitest";
import {
  heldDelete,
  leftToastPage,
  toastKey,
  undoMessage,
  undoStep,
  type KeyPress,
  type Undoable,
  type UndoToast,
} from "./undo.ts";

const completed: Undoable = { kind: "completed", taskId: "a", title: "Pay rent", recurring: false };
const deleted: Undoable = {
  kind: "deleted",
  taskId: "b",
  title: "Buy milk",
  recurring: false,
  scope: "occurrence",
};
const toast = (id: number, action: Undoable, page = "/"): UndoToast => ({ id, action, page });

describe("the undo toast", () => {
  it("undoing a completion sends reopen: the audit log shows completed, then reopened", () => {
    expect(undoStep(toast(1, completed), { type: "undo", id: 1 })).toEqual({
      toast: null,
      send: [{ intent: "reopen", taskId: "a" }],
      undone: completed,
    });
  });

  it("undoing a delete sends nothing: the delete was held back, so the log never has it", () => {
    expect(undoStep(toast(1, deleted), { type: "undo", id: 1 })).toEqual({
      toast: null,
      send: [],
      undone: deleted,
    });
  });

  it("a held delete is sent when the toast expires, is dismissed or its page is left", () => {
    expect(undoStep(toast(1, deleted), { type: "settle", id: 1 })).toEqual({
      toast: null,
      send: [{ intent: "delete", taskId: "b", scope: "occurrence" }],
      undone: null,
    });
    // A completion is already done: letting its toast go sends nothing more.
    expect(undoStep(toast(1, completed), { type: "settle", id: 1 }).send).toEqual([]);
  });

  it("keeps the scope a recurring task's delete was asked with", () => {
    const series: Undoable = { ...deleted, recurring: true, scope: "series" };
    expect(undoStep(toast(1, series), { type: "settle", id: 1 }).send).toEqual([
      { intent: "delete", taskId: "b", scope: "series" },
    ]);
  });

  it("shows one toast at a time: a new one sends the delete the old one held, at once", () => {
    expect(undoStep(toast(1, deleted), { type: "show", toast: toast(2, completed) })).toEqual({
      toast: toast(2, completed),
      send: [{ intent: "delete", taskId: "b", scope: "occurrence" }],
      undone: null,
    });
    expect(undoStep(toast(1, completed), { type: "show", toast: toast(2, deleted) }).send).toEqual([]);
    expect(undoStep(null, { type: "show", toast: toast(1, deleted) }).send).toEqual([]);
  });

  it("ignores a late timer or click of a toast that was replaced: the new one stays, nothing is sent twice", () => {
    const current = toast(2, deleted);
    for (const event of [{ type: "settle", id: 1 } as const, { type: "undo", id: 1 } as const])
      expect(undoStep(current, event)).toEqual({ toast: current, send: [], undone: null });
    expect(undoStep(null, { type: "undo", id: 1 })).toEqual({ toast: null, send: [], undone: null });
  });

  it("hides the row of the task it holds back, and only that one", () => {
    expect(heldDelete(toast(1, deleted))).toBe("b");
    expect(heldDelete(toast(1, completed))).toBeNull();
    expect(heldDelete(null)).toBeNull();
  });

  it("is settled once the user leaves its page, not by staying on it", () => {
    expect(leftToastPage(toast(1, deleted, "/"), "/settings")).toBe(true);
    expect(leftToastPage(toast(1, deleted, "/"), "/")).toBe(false);
    expect(leftToastPage(null, "/settings")).toBe(false);
  });

  it("says what happened, and for a recurring task which part of it", () => {
    expect(undoMessage(completed)).toBe("Completed “Pay rent”.");
    expect(undoMessage(deleted)).toBe("Deleted “Buy milk”.");
    expect(undoMessage({ ...deleted, recurring: true })).toBe("Deleted this occurrence of “Buy milk”.");
    expect(undoMessage({ ...deleted, recurring: true, scope: "series" })).toBe(
      "Deleted “Buy milk” and its series.",
    );
  });
});

describe("the toast's keys", () => {
  const press = (key: string, mods: Partial<KeyPress> = {}): KeyPress => ({
    key,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    shiftKey: false,
    ...mods,
  });

  it("u, Ctrl-Z and Cmd-Z undo; Escape dismisses", () => {
    expect(toastKey(press("u"), false)).toBe("undo");
    expect(toastKey(press("U", { shiftKey: true }), false)).toBe("undo");
    expect(toastKey(press("z", { ctrlKey: true }), false)).toBe("undo");
    expect(toastKey(press("z", { metaKey: true }), false)).toBe("undo");
    expect(toastKey(press("Escape"), false)).toBe("dismiss");
  });

  it("Ctrl-Z on a keyboard layout whose key there is not z still undoes (by the key's place)", () => {
    expect(toastKey(press("я", { ctrlKey: true, code: "KeyZ" }), false)).toBe("undo");
  });

  it("leaves every key to a field the user types in", () => {
    for (const key of [press("u"), press("z", { ctrlKey: true }), press("Escape")])
      expect(toastKey(key, true)).toBeNull();
  });

  it("is not redo (Ctrl-Shift-Z), Ctrl-U, Alt-U, or a plain z", () => {
    expect(toastKey(press("Z", { ctrlKey: true, shiftKey: true }), false)).toBeNull();
    expect(toastKey(press("z", { ctrlKey: true, metaKey: true }), false)).toBeNull();
    expect(toastKey(press("u", { ctrlKey: true }), false)).toBeNull();
    expect(toastKey(press("u", { altKey: true }), false)).toBeNull();
    expect(toastKey(press("z"), false)).toBeNull();
    expect(toastKey(press("x"), false)).toBeNull();
  });
});
