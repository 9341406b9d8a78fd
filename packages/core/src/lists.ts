// Lists and subtasks: the rules (docs/decisions/016-lists-and-subtasks.md). Pure: zod only.
// Every task is in one of its owner's lists (the Inbox unless another is named); a task may have
// subtasks, one level deep. The commands (packages/tasks/src/lists.ts, commands.ts) apply these.
import { z } from "zod";
import { RuleViolation } from "./errors.ts";
import { instantStringSchema } from "./tasks.ts";
import { storableString } from "./text.ts";

/**
 * The list colours: tokens, never CSS, each mapped to a swatch by the web app with text contrast
 * checked there. The database CHECK (task_lists_color_check) holds the same tokens.
 */
export const LIST_COLORS = [
  "slate",
  "red",
  "orange",
  "amber",
  "green",
  "teal",
  "blue",
  "indigo",
  "purple",
  "pink",
] as const;
export type ListColor = (typeof LIST_COLORS)[number];

export const LIST_LIMITS = {
  nameMax: 60,
  /** Lists per user, archived ones included (each keeps its tasks). */
  listsPerUser: 200,
} as const;

export const INBOX_NAME = "Inbox";

export const listIdSchema = z.uuid({ error: "must be a list id (UUID)" });

/** A list's name: trimmed, 1–60 characters, one line. Unique per user among active lists, ignoring case. */
export const listNameSchema = storableString()
  .trim()
  .min(1, "must not be empty")
  .max(LIST_LIMITS.nameMax, `must be at most ${LIST_LIMITS.nameMax} characters`)
  .regex(/^[^\p{Cc}]*$/u, "must be one line without control characters");

export const listColorSchema = z.enum(LIST_COLORS, { error: `must be one of ${LIST_COLORS.join(", ")}` });

export const createListSchema = z.strictObject({
  name: listNameSchema,
  color: listColorSchema.default("blue"),
});
export type CreateListInput = z.infer<typeof createListSchema>;

export const updateListSchema = z
  .strictObject({
    name: listNameSchema.optional(),
    color: listColorSchema.optional(),
    /** true archives the list (its tasks are kept, hidden from the default views); false brings it back. */
    archived: z.boolean({ error: "must be true or false" }).optional(),
    /** Moves the list just before this one of the user's lists (never before the Inbox, which is first). */
    before: listIdSchema.optional(),
    /** Moves the list just after this one of the user's lists. */
    after: listIdSchema.optional(),
    /** The version the change is based on; a stale one is refused with 409. */
    version: z.number().int().min(1).optional(),
  })
  .refine((value) => Object.keys(value).some((key) => key !== "version"), {
    message: "name at least one field to change",
  })
  .refine((value) => value.before === undefined || value.after === undefined, {
    message: "name before or after, not both",
    path: ["after"],
  });
export type UpdateListInput = z.infer<typeof updateListSchema>;

export const listDtoSchema = z.object({
  id: storableString(),
  user_id: storableString(),
  name: storableString(),
  color: listColorSchema,
  is_inbox: z.boolean(),
  archived: z.boolean(),
  archived_at: instantStringSchema.nullable(),
  position: z.number(),
  created_at: instantStringSchema,
  updated_at: instantStringSchema,
  version: z.number(),
});
export type ListDto = z.infer<typeof listDtoSchema>;

/** What `GET /v1/lists` lists: each list with how many of its tasks are open. */
export const listSummarySchema = listDtoSchema.extend({ open_tasks: z.number().int() });
export type ListSummary = z.infer<typeof listSummarySchema>;

/**
 * Fields whose change a list event records (before/after). A move's `position` is recorded by the
 * command as the list's place before and after (stored positions may have gaps), not diffed here.
 */
export const LIST_TRACKED_FIELDS = [
  "name",
  "color",
  "archived",
] as const satisfies readonly (keyof ListDto)[];

export function diffLists(
  before: ListDto,
  after: ListDto,
): Record<string, { before: unknown; after: unknown }> {
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const field of LIST_TRACKED_FIELDS)
    if (before[field] !== after[field]) changes[field] = { before: before[field], after: after[field] };
  return changes;
}

// ───── the Inbox ─────

/** The Inbox is always there: it cannot be archived (renaming and recolouring it are allowed). */
export function inboxViolation(
  list: Pick<ListDto, "is_inbox">,
  input: UpdateListInput,
): RuleViolation | null {
  return list.is_inbox && input.archived === true
    ? new RuleViolation("archived", "the Inbox cannot be archived")
    : null;
}

// ───── order ─────

/**
 * The user's lists in order after moving `id` just before or after `anchor` (both in `ids`, the
 * current order with the Inbox first; `moveViolation` has allowed the move).
 */
export function reorderLists(ids: string[], id: string, anchor: string, where: "before" | "after"): string[] {
  const rest = ids.filter((other) => other !== id);
  const at = rest.indexOf(anchor) + (where === "after" ? 1 : 0);
  return [...rest.slice(0, at), id, ...rest.slice(at)];
}

/** Why `list` cannot go before or after `anchor` (null when it can): the Inbox stays first. */
export function moveViolation(
  list: Pick<ListDto, "id" | "is_inbox">,
  anchor: Pick<ListDto, "id" | "is_inbox">,
  where: "before" | "after",
): RuleViolation | null {
  if (list.is_inbox) return new RuleViolation(where, "the Inbox is always first: it cannot be moved");
  if (anchor.id === list.id) return new RuleViolation(where, "must name another list than the one moved");
  if (anchor.is_inbox && where === "before")
    return new RuleViolation("before", "the Inbox is always first: nothing goes before it");
  return null;
}

// ───── subtasks ─────

interface Node {
  id: string;
  parent_id: string | null;
}

/**
 * Whether `task` may become a subtask of `parent` (null when it may): one level only, so a
 * subtask cannot take subtasks and a task with subtasks cannot become one; never its own parent.
 * An unknown parent (or another user's) is a NotFound before this is asked.
 */
export function parentViolation(
  task: Node | null,
  parent: Node,
  taskHasSubtasks: boolean,
): RuleViolation | null {
  if (task && parent.id === task.id) return new RuleViolation("parent_id", "a task cannot be its own parent");
  if (parent.parent_id !== null)
    return new RuleViolation("parent_id", "is a subtask itself: subtasks go one level deep");
  if (taskHasSubtasks)
    return new RuleViolation("parent_id", "this task has subtasks of its own, so it cannot become a subtask");
  return null;
}

/** A subtask lives in its parent's list: naming another list for it is refused. */
export function subtaskListViolation(parentListId: string, listId: string | undefined): RuleViolation | null {
  return listId !== undefined && listId !== parentListId
    ? new RuleViolation(
        "list_id",
        "a subtask is in its parent's list: move the parent, or make it a task of its own (parent_id null) first",
      )
    : null;
}

/** A task may not be created in, or moved into, an archived list. */
export function archivedListViolation(list: { name: string; archived: boolean }): RuleViolation | null {
  return list.archived
    ? new RuleViolation("list_id", `the list "${list.name}" is archived: unarchive it first`)
    : null;
}

// ───── list: in search and quick add ─────

/**
 * `list:Work` or `list:"Side project"` in a search or a quick-add line: the list named, and the
 * text without it. The word `list:` cannot collide with a tag (`#`) or priority (`!`). Only the
 * first is read; the name is compared ignoring case.
 */
export function takeListToken(text: string): { rest: string; list: string | null } {
  const match = /(^|\s)list:(?:"([^"]*)"|([^\s"]+))(?=\s|$)/iu.exec(text);
  if (!match) return { rest: text, list: null };
  const name = (match[2] ?? match[3] ?? "").trim();
  const rest = (text.slice(0, match.index + match[1]!.length) + text.slice(match.index + match[0].length))
    .replace(/\s+/g, " ")
    .trim();
  return { rest, list: name.length > 0 ? name : null };
}

/** How a list name is written back into a search: quoted when it has a space. */
export function listToken(name: string): string {
  return /[\s"]/.test(name) ? `list:"${name.replace(/"/g, "")}"` : `list:${name}`;
}
