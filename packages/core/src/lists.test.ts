import { expect, test } from "vitest";
import {
  archivedListViolation,
  createListSchema,
  diffLists,
  inboxViolation,
  listToken,
  moveViolation,
  parentViolation,
  reorderLists,
  subtaskListViolation,
  takeListToken,
  updateListSchema,
  type ListDto,
} from "./lists.ts";
import { statusChangeSchema, TRACKED_FIELDS } from "./tasks.ts";

const list: ListDto = {
  id: "0b7f3c2e-5d4a-4f7e-9a51-3c2d1e0f9a8b",
  user_id: "6f1c0d9e-2b3a-4c5d-8e7f-0a1b2c3d4e5f",
  name: "Work",
  color: "blue",
  is_inbox: false,
  archived: false,
  archived_at: null,
  position: 1,
  created_at: "2026-12-01T00:00:00.000Z",
  updated_at: "2026-12-01T00:00:00.000Z",
  version: 1,
};

test("a list's name is trimmed, one line, 1 to 60 characters; its colour a palette token", () => {
  expect(createListSchema.parse({ name: "  Work  " })).toEqual({ name: "Work", color: "blue" });
  const issues = (input: unknown) =>
    createListSchema.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  expect(issues({ name: " " })).toEqual(["name: must not be empty"]);
  expect(issues({ name: "x".repeat(61) })).toEqual(["name: must be at most 60 characters"]);
  expect(issues({ name: "a\nb" })).toEqual(["name: must be one line without control characters"]);
  expect(issues({ name: "Work", color: "#ff0000" })?.[0]).toMatch(/^color: must be one of slate, red/);
  expect(issues({ name: "Work", colour: "red" })?.[0]).toMatch(/colour/);
  expect(updateListSchema.safeParse({ version: 2 }).success).toBe(false);
});

test("the Inbox can be renamed and recoloured but not archived", () => {
  const inbox = { ...list, is_inbox: true };
  expect(inboxViolation(inbox, { archived: true })?.field).toBe("archived");
  expect(inboxViolation(inbox, { name: "Incoming", color: "red" })).toBeNull();
  expect(inboxViolation(list, { archived: true })).toBeNull();
});

test("subtasks go one level deep and never under themselves", () => {
  const top = { id: "p", parent_id: null };
  const sub = { id: "s", parent_id: "p" };
  expect(parentViolation(null, top, false)).toBeNull();
  expect(parentViolation(null, sub, false)?.detail).toBe("is a subtask itself: subtasks go one level deep");
  expect(parentViolation(top, top, false)?.detail).toBe("a task cannot be its own parent");
  expect(parentViolation({ id: "t", parent_id: null }, top, true)?.detail).toMatch(/has subtasks of its own/);
});

test("a subtask stays in its parent's list; nothing goes into an archived list", () => {
  expect(subtaskListViolation("l1", undefined)).toBeNull();
  expect(subtaskListViolation("l1", "l1")).toBeNull();
  expect(subtaskListViolation("l1", "l2")?.field).toBe("list_id");
  expect(archivedListViolation({ name: "Old", archived: true })?.detail).toBe(
    'the list "Old" is archived: unarchive it first',
  );
  expect(archivedListViolation({ name: "Work", archived: false })).toBeNull();
});

test("list: in a search: bare or quoted, anywhere, the first one only; the rest stays the search", () => {
  expect(takeListToken("list:Work report")).toEqual({ rest: "report", list: "Work" });
  expect(takeListToken('draft list:"Side project" page')).toEqual({
    rest: "draft page",
    list: "Side project",
  });
  expect(takeListToken("LIST:home")).toEqual({ rest: "", list: "home" });
  expect(takeListToken("checklist:items")).toEqual({ rest: "checklist:items", list: null });
  expect(takeListToken('list:"" x')).toEqual({ rest: "x", list: null });
  expect(takeListToken("report")).toEqual({ rest: "report", list: null });
  expect(listToken("Work")).toBe("list:Work");
  expect(listToken("Side project")).toBe('list:"Side project"');
});

test("list changes are diffed by name, colour and archived; tasks track list and parent", () => {
  expect(diffLists(list, { ...list, name: "Job", archived: true, position: 4 })).toEqual({
    name: { before: "Work", after: "Job" },
    archived: { before: false, after: true },
  });
  expect(TRACKED_FIELDS).toContain("list_id");
  expect(TRACKED_FIELDS).toContain("parent_id");
});

test("completing takes an optional subtasks choice: complete or leave", () => {
  expect(statusChangeSchema.parse({ subtasks: "complete" })).toEqual({ subtasks: "complete" });
  expect(statusChangeSchema.safeParse({ subtasks: "all" }).error?.issues[0]?.message).toBe(
    "must be complete (complete the open subtasks too) or leave (leave them open)",
  );
});

test("reorderLists puts a list just before or after another; moveViolation keeps the Inbox first", () => {
  const ids = ["inbox", "a", "b", "c"];
  expect(reorderLists(ids, "c", "a", "before")).toEqual(["inbox", "c", "a", "b"]);
  expect(reorderLists(ids, "a", "c", "after")).toEqual(["inbox", "b", "c", "a"]);
  expect(reorderLists(ids, "b", "inbox", "after")).toEqual(["inbox", "b", "a", "c"]);
  expect(reorderLists(ids, "a", "b", "before")).toEqual(ids);
  const inbox = { id: "inbox", is_inbox: true };
  const a = { id: "a", is_inbox: false };
  const b = { id: "b", is_inbox: false };
  expect(moveViolation(a, b, "before")).toBeNull();
  expect(moveViolation(a, inbox, "after")).toBeNull();
  expect(moveViolation(a, inbox, "before")).toMatchObject({ field: "before" });
  expect(moveViolation(inbox, a, "after")).toMatchObject({ field: "after" });
  expect(moveViolation(a, a, "after")).toMatchObject({ field: "after" });
});
