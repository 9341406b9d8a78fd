// The task list's server side (routes/tasks.tsx): what its page loads, and its form intents, each
// read with its own zod schema. Writes to tasks go through the command functions; saved views are
// the web app's own (saved-views.server.ts).
import { data } from "@remix-run/node";
import { z } from "zod";
import { createListSchema, updateListSchema } from "#core/lists.ts";
import { parseQuickAdd } from "#core/quick-add.ts";
import { savedViewSchema } from "#core/task-query.ts";
import { subtaskChoiceSchema } from "#core/tasks.ts";
import { findListByName, listLists } from "#tasks/list-queries.ts";
import { listTags, listTasks } from "#tasks/queries.ts";
import { completeQuestion, deleteQuestion } from "../lib/ask.server.ts";
import { commandsAs } from "../lib/commands.server.ts";
import { getDb } from "../lib/db.server.ts";
import { undeliveredTaskIds } from "../lib/reminder-ledger.server.ts";
import { deleteView, listSavedViews, saveView } from "../lib/saved-views.server.ts";
import type { CurrentUser } from "../lib/session.server.ts";
import { filtersOf, listQueryOf } from "../lib/task-list.server.ts";

/** One page of the list the URL asks for, with what its filter bar and saved views need. */
export async function loadTaskList(user: CurrentUser, url: URL) {
  const now = new Date();
  const db = getDb();
  const parsed = listQueryOf(url, user.timeZone, now);
  const [page, tags, views, lists] = await Promise.all([
    parsed.ok
      ? listTasks(db, user.userId, parsed.query, now)
      : Promise.resolve({ items: [], nextCursor: null, match: null }),
    listTags(db, user.userId),
    listSavedViews(db, user.userId),
    listLists(db, user.userId, "all"),
  ]);
  // The list shown (?list=<id>), if it is one of the user's.
  const current = lists.find((list) => list.id === filtersOf(url).list) ?? null;
  // A subtask found on its own (a search) names its parent.
  const parentIds = [
    ...new Set(page.items.map((item) => item.parent_id).filter((id): id is string => id !== null)),
  ];
  const parents = parentIds.length
    ? await db.task.findMany({
        where: { id: { in: parentIds }, userId: user.userId },
        select: { id: true, title: true },
      })
    : [];
  const parentTitle = new Map(parents.map((p) => [p.id, p.title]));
  // A reminder that reached the user on no channel is marked on its row (the task's page says why).
  const undelivered = await undeliveredTaskIds(
    db,
    user.userId,
    page.items.filter((item) => item.status === "pending").map((item) => item.id),
  );
  return {
    items: page.items.map((item) => ({
      ...item,
      undelivered: undelivered.has(item.id),
      parentTitle: item.parent_id ? (parentTitle.get(item.parent_id) ?? null) : null,
    })),
    lists: lists.filter((list) => !list.archived),
    archivedLists: lists.filter((list) => list.archived),
    currentList: current,
    nextCursor: page.nextCursor,
    /** "similar" when the search's words matched nothing and these are close titles (a typo). */
    match: page.match,
    errors: parsed.ok ? [] : parsed.errors,
    tags: tags.map((t) => t.tag),
    views,
    filters: filtersOf(url),
    sort: parsed.ok ? parsed.query.sort : "due",
    timeZone: user.timeZone,
    /** What quick add's preview needs to say which default reminders will already have passed. */
    defaultReminders: user.defaultReminderMinutes,
    pastReminderPolicy: user.pastReminderPolicy,
    csrf: user.csrf,
    now: now.toISOString(),
  };
}

const quickAddSchema = z.object({
  text: z.string({ error: "Type what you need to do." }).trim().min(1, "Type what you need to do."),
  /** The list the page shows: a task typed there goes into it, unless the text names another. */
  list_id: z.union([z.literal(""), z.uuid()]),
});
/** complete and reopen: the task's row; completing a parent, what becomes of its open subtasks. */
const statusChangeSchema = z.object({
  id: z.uuid(),
  subtasks: z.union([z.literal(""), subtaskChoiceSchema]),
});
const listIdFormSchema = z.object({ id: z.uuid() });
const moveListFormSchema = z.object({ id: z.uuid(), direction: z.enum(["earlier", "later"]) });
/** delete: the task's row, and for an occurrence of a series whether the series ends with it. */
const deleteSchema = z.object({ id: z.uuid(), scope: z.enum(["occurrence", "series"]) });
const deleteViewSchema = z.object({ id: z.uuid() });

/**
 * The fields `schema` names, read from the form as today's forms send them: a field that is
 * missing reads as empty text.
 */
function readForm<S extends z.ZodObject>(schema: S, form: FormData) {
  const fields = Object.fromEntries(Object.keys(schema.shape).map((name) => [name, form.get(name) ?? ""]));
  return schema.safeParse(fields);
}

/** Each field's message (its top-level name, "form" for the whole), for the fields to show. */
function fieldErrorsOf(error: z.ZodError): Record<string, string> {
  return Object.fromEntries(error.issues.map((issue) => [String(issue.path[0] ?? "form"), issue.message]));
}

/** A refused list command in the words the lists bar shows (the field's own message first). */
function listMessage(result: {
  status: number;
  message: string;
  fieldErrors: Record<string, string>;
}): string {
  if (result.status === 404) return "This list no longer exists.";
  if (result.status === 409 && !result.fieldErrors.name)
    return "Someone changed this list meanwhile. Reload to see the latest version.";
  return Object.values(result.fieldErrors)[0] ?? result.message;
}

/**
 * The list's form intents: quick-add, complete, reopen, delete, save-view, delete-view, and the
 * lists bar's (create-list, update-list, archive-list, unarchive-list, move-list). With
 * JavaScript, complete, reopen and delete come from the undo toast's commands (components/undo.tsx),
 * a delete only once its toast has ended; without it, from the rows' forms, at once.
 */
export async function tasksAction(user: CurrentUser, form: FormData) {
  const intent = String(form.get("intent") ?? "");
  const reply = (error: string | null, fieldErrors: Record<string, string> = {}, status = 200) =>
    data({ intent, error, fieldErrors }, { status });
  switch (intent) {
    case "quick-add": {
      const input = readForm(quickAddSchema, form);
      if (!input.success) {
        const fieldErrors = fieldErrorsOf(input.error);
        return reply(fieldErrors.text ?? "Type what you need to do.", fieldErrors, 400);
      }
      const draft = parseQuickAdd(input.data.text, user.timeZone, new Date());
      // list:Name picks the list by name; else the list the page shows; else the Inbox.
      let listId = input.data.list_id || undefined;
      if (draft.list) {
        const named = await findListByName(getDb(), user.userId, draft.list);
        if (!named)
          return reply(
            `You have no list named “${draft.list}”. Create it first, or pick another.`,
            { text: "" },
            400,
          );
        if (named.archived)
          return reply(`The list “${named.name}” is archived: unarchive it to add tasks to it.`, {}, 400);
        listId = named.id;
      }
      const result = await commandsAs(user).createTask({
        ...(listId ? { list_id: listId } : {}),
        title: draft.title,
        tags: draft.tags,
        priority: draft.priority,
        due_at: draft.dueAt?.toISOString() ?? null,
        ...(draft.recurrence ? { recurrence: draft.recurrence } : {}),
      });
      if (!result.ok) return reply(result.message, result.fieldErrors, result.status);
      return data({ intent, error: null, fieldErrors: {}, created: true });
    }
    case "complete":
    case "reopen": {
      const input = readForm(statusChangeSchema, form);
      if (!input.success) throw new Response("No such task.", { status: 404 });
      const result = await commandsAs(user).completeTask(input.data.id, {
        reopen: intent === "reopen",
        ...(intent === "complete" && input.data.subtasks ? { subtasks: input.data.subtasks } : {}),
      });
      // Open subtasks and nobody asked (a row's form without JavaScript): the task's page asks.
      const question = completeQuestion(result, input.data.id, Boolean(input.data.subtasks), form);
      if (question) return question;
      if (!result.ok) return reply(result.message, {}, result.status);
      // What an undo of this completion reopens besides the task.
      return data({
        intent,
        error: null,
        fieldErrors: {},
        completedSubtasks: result.body.completed_subtasks ?? [],
      });
    }
    case "create-list": {
      const list = createListSchema.safeParse({
        name: form.get("name") ?? "",
        color: form.get("color") || undefined,
      });
      if (!list.success) {
        const fieldErrors = fieldErrorsOf(list.error);
        return reply(Object.values(fieldErrors)[0] ?? "This list cannot be made.", fieldErrors, 400);
      }
      const result = await commandsAs(user).createList(list.data);
      if (!result.ok) return reply(listMessage(result), result.fieldErrors, result.status);
      return data({ intent, error: null, fieldErrors: {}, listId: result.body.id });
    }
    case "update-list":
    case "archive-list":
    case "unarchive-list": {
      const target = readForm(listIdFormSchema, form);
      if (!target.success) throw new Response("No such list.", { status: 404 });
      const version = Number(form.get("version")) || undefined;
      const changes = updateListSchema.safeParse(
        intent === "update-list"
          ? { name: form.get("name") ?? "", color: form.get("color") || undefined, version }
          : { archived: intent === "archive-list" },
      );
      if (!changes.success) {
        const fieldErrors = fieldErrorsOf(changes.error);
        return reply(Object.values(fieldErrors)[0] ?? "This change cannot be made.", fieldErrors, 400);
      }
      const result = await commandsAs(user).updateList(target.data.id, changes.data);
      if (!result.ok) return reply(listMessage(result), result.fieldErrors, result.status);
      return reply(null);
    }
    case "move-list": {
      // Earlier or later among the active lists the bar shows (archived ones keep their places
      // between them): just before the one before it, or just after the one after it.
      const target = readForm(moveListFormSchema, form);
      if (!target.success) throw new Response("No such list.", { status: 404 });
      const lists = await listLists(getDb(), user.userId, "active");
      const at = lists.findIndex((list) => list.id === target.data.id);
      if (at < 0) return reply("This list no longer exists, or is archived.", {}, 404);
      const earlier = target.data.direction === "earlier";
      const neighbour = lists[earlier ? at - 1 : at + 1];
      if (!neighbour || neighbour.is_inbox || lists[at]!.is_inbox)
        return reply(
          lists[at]!.is_inbox
            ? "The Inbox is always first."
            : `This list is already ${earlier ? "first" : "last"}.`,
          {},
          400,
        );
      const result = await commandsAs(user).updateList(
        target.data.id,
        earlier ? { before: neighbour.id } : { after: neighbour.id },
      );
      if (!result.ok) return reply(listMessage(result), result.fieldErrors, result.status);
      const place = (earlier ? at - 1 : at + 1) + 1;
      return data({
        intent,
        error: null,
        fieldErrors: {},
        moved: `“${lists[at]!.name}” is now list ${place} of ${lists.length}.`,
      });
    }
    case "delete": {
      const input = readForm(deleteSchema, form);
      if (!input.success) throw new Response("No such task.", { status: 404 });
      // A parent takes its subtasks with it. The toast's commands come after its Undo was on offer;
      // a row's form without JavaScript did not, so the task's page asks first.
      const question = await deleteQuestion(user, form, input.data.id, input.data.scope);
      if (question) return question;
      const result = await commandsAs(user).deleteTask(input.data.id, input.data.scope);
      // Already gone (another tab, or a held delete sent twice as the page went away): as asked.
      if (!result.ok && result.status !== 404) return reply(result.message, {}, result.status);
      return reply(null);
    }
    case "save-view": {
      const view = readForm(savedViewSchema, form);
      if (!view.success) {
        const fieldErrors = fieldErrorsOf(view.error);
        return reply(fieldErrors.name ?? "This view cannot be saved.", fieldErrors, 400);
      }
      await saveView(getDb(), user.userId, view.data);
      return reply(null);
    }
    case "delete-view": {
      const input = readForm(deleteViewSchema, form);
      if (!input.success) throw new Response("No such view.", { status: 404 });
      await deleteView(getDb(), user.userId, input.data.id);
      return reply(null);
    }
  }
  return reply("Unknown action.", {}, 400);
}
