// When a form's task command needs one of the task page's questions (lib/ask.ts) first: the
// redirect to the question, or null to go on. Shared by the list's and the task page's actions.
import { redirect } from "@remix-run/node";
import type { DeleteScope } from "#tasks/client.ts";
import { loadTaskDto } from "#tasks/records.ts";
import { ASKED_FIELD, askHref } from "./ask.ts";
import type { CommandResult } from "./commands.server.ts";
import { getDb } from "./db.server.ts";
import type { CurrentUser } from "./session.server.ts";

/** A person who was asked (the dialog) or had Undo on offer (the toast's commands). */
const wasAsked = (form: FormData) => form.get(ASKED_FIELD) === "yes";

/**
 * A completion refused for open subtasks, with no answer in the form and nobody asked (no
 * JavaScript): the task's page asks what becomes of them.
 */
export function completeQuestion(
  result: CommandResult<unknown>,
  taskId: string,
  answered: boolean,
  form: FormData,
): Response | null {
  if (result.ok || !result.fieldErrors.subtasks || answered || wasAsked(form)) return null;
  return redirect(askHref(taskId, { ask: "complete" }));
}

/** A parent takes its subtasks with it: unless asked already, the task's page asks first. */
export async function deleteQuestion(
  user: CurrentUser,
  form: FormData,
  taskId: string,
  scope: DeleteScope,
): Promise<Response | null> {
  if (wasAsked(form)) return null;
  const task = await loadTaskDto(getDb(), user.userId, taskId);
  return task?.subtasks.total ? redirect(askHref(taskId, { ask: "delete", scope })) : null;
}
