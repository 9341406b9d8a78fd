// The task list's server side (routes/tasks.tsx): what its page loads, and its form intents, each
// read with its own zod schema. Writes to tasks go through the command functions; saved views are
// the web app's own (saved-views.server.ts).
import { data } from "@remix-run/node";
import { z } from "zod";
import { parseQuickAdd } from "#core/quick-add.ts";
import { savedViewSchema } from "#core/task-query.ts";
import { listTags, listTasks } from "#tasks/queries.ts";
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
  const [page, tags, views] = await Promise.all([
    parsed.ok
      ? listTasks(db, user.userId, parsed.query, now)
      : Promise.resolve({ items: [], nextCursor: null, match: null }),
    listTags(db, user.userId),
    listSavedViews(db, user.userId),
  ]);
  // A reminder that reached the user on no channel is marked on its row (the task's page says why).
  const undelivered = await undeliveredTaskIds(
    db,
    user.userId,
    page.items.filter((item) => item.status === "pending").map((item) => item.id),
  );
  return {
    items: page.items.map((item) => ({ ...item, undelivered: undelivered.has(item.id) })),
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
});
/** complete and reopen: the task's row. */
const statusChangeSchema = z.object({ id: z.uuid() });
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

/**
 * The list's form intents: quick-add, complete, reopen, delete, save-view, delete-view. With
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
      const result = await commandsAs(user).createTask({
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
      const result = await commandsAs(user).completeTask(input.data.id, { reopen: intent === "reopen" });
      if (!result.ok) return reply(result.message, {}, result.status);
      return reply(null);
    }
    case "delete": {
      const input = readForm(deleteSchema, form);
      if (!input.success) throw new Response("No such task.", { status: 404 });
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
