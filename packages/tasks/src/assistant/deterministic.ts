// The deterministic brain (no model: the `make dev` default, offline): the message is read by the
// pure intent parser (#core/assistant/intent.ts), then acted on through the MCP tools. A task named
// by words is looked up with find_tasks; several matches are listed and asked about. Deleting and
// completing several tasks are confirmed first: the exact tool call is kept in the conversation and
// run only on "yes".
import type { Pending } from "#core/assistant/contract.ts";
import {
  parseChoice,
  parseConfirmation,
  parseIntent,
  type Intent,
  type IntentContext,
  type RefIntent,
  type TaskFilter,
} from "#core/assistant/intent.ts";
import { describeTask, HELP_TEXT, numbered, quote, unsupportedText } from "#core/assistant/replies.ts";
import type { TaskDto } from "#core/tasks.ts";
import type { BrainReply, TurnTools } from "./turn.ts";

const LIST_LIMIT = 20;
const CHOICES_SHOWN = 10;
/** Bulk completion acts on at most one MCP batch. */
const BULK_LIMIT = 50;

function filterArgs(filter: TaskFilter): Record<string, unknown> {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
}

export interface DeterministicInput {
  message: string;
  pending: Pending | null;
  ctx: IntentContext;
}

export async function deterministicTurn(input: DeterministicInput, tools: TurnTools): Promise<BrainReply> {
  const { message, pending, ctx } = input;
  if (pending?.kind === "confirm") {
    const answer = parseConfirmation(message);
    if (answer === "yes") return runConfirmed(pending, tools, ctx);
    if (answer === "no") {
      tools.say("OK, I won't. Nothing was changed.");
      return { pending: null };
    }
    tools.say("(I dropped the action that was waiting for your yes or no: nothing was changed.)\n");
  } else if (pending?.kind === "choose") {
    const index = chosenIndex(message, pending.candidates);
    if (index !== null) {
      const intent = pending.intent as unknown as RefIntent;
      return act(intent, pending.candidates[index]!, tools, ctx);
    }
  }
  return handle(parseIntent(message, ctx), tools, ctx);
}

function chosenIndex(message: string, candidates: { title: string }[]): number | null {
  const index = parseChoice(message, candidates.length);
  if (index !== null) return index;
  const said = message.trim().toLowerCase();
  const exact = candidates.findIndex((c) => c.title.trim().toLowerCase() === said);
  return exact >= 0 ? exact : null;
}

async function runConfirmed(
  pending: Extract<Pending, { kind: "confirm" }>,
  tools: TurnTools,
  ctx: IntentContext,
): Promise<BrainReply> {
  const outcome = await tools.call(pending.tool, pending.arguments);
  const verb = pending.tool === "delete_tasks" ? "Deleted" : "Completed";
  const results = (outcome.structured?.results ?? []) as { ok: boolean; error?: string }[];
  const done = pending.tasks.filter((_task, i) => results[i]?.ok);
  const failed = pending.tasks
    .map((task, i) => ({ task, error: results[i]?.ok ? null : (results[i]?.error ?? outcome.text) }))
    .filter((f) => f.error !== null);
  if (done.length > 0)
    tools.say(
      done.length === 1
        ? `${verb} ${quote(done[0]!.title)}.`
        : `${verb} ${done.length} tasks: ${done.map((t) => quote(t.title)).join(", ")}.`,
    );
  if (failed.length > 0) {
    if (done.length > 0) tools.say("\n");
    tools.say(failed.map((f) => `Could not change ${quote(f.task.title)}: ${f.error}`).join("\n"));
  }
  void ctx;
  return { pending: null };
}

/** How many open subtasks refused completing the one task of `outcome`, if that is why it failed. */
function openSubtasks(outcome: { structured?: Record<string, unknown> | null }): number | null {
  const [result] = (outcome.structured?.results ?? []) as {
    ok: boolean;
    type?: string;
    open_subtasks?: number;
  }[];
  if (!result || result.ok || !result.type?.endsWith("/open-subtasks")) return null;
  return typeof result.open_subtasks === "number" ? result.open_subtasks : null;
}

async function handle(intent: Intent, tools: TurnTools, ctx: IntentContext): Promise<BrainReply> {
  switch (intent.kind) {
    case "help":
      tools.say(HELP_TEXT);
      return { pending: null };
    case "unsupported":
      tools.say(unsupportedText(intent.reason, intent.detail));
      return { pending: null };
    case "add":
      return add(intent, tools, ctx);
    case "list":
      return list(intent.filter, intent.label, tools, ctx);
    case "search":
      return list({ status: "all", q: intent.q }, `matching ${quote(intent.q)}`, tools, ctx);
    case "complete_all":
      return completeAll(intent, tools, ctx);
    default:
      return resolveThenAct(intent, tools, ctx);
  }
}

async function add(intent: Extract<Intent, { kind: "add" }>, tools: TurnTools, ctx: IntentContext) {
  const { task } = intent;
  const args: Record<string, unknown> = {
    title: task.title,
    tags: task.tags,
    priority: task.priority,
    due_at: task.due_at,
    ...(task.recurrence ? { recurrence: task.recurrence } : {}),
    ...(task.reminders ? { reminders: task.reminders } : {}),
  };
  const outcome = await tools.call("add_tasks", { tasks: [args] });
  const created = outcome.tasks[0];
  if (!outcome.ok || !created) {
    const result = (outcome.structured?.results as { error?: string }[] | undefined)?.[0];
    tools.say(`I couldn't add that task: ${result?.error ?? outcome.text}`);
    return { pending: null };
  }
  tools.say(`Added ${describeTask(created, ctx.timeZone, ctx.now)}.`);
  return { pending: null };
}

async function list(filter: TaskFilter, label: string, tools: TurnTools, ctx: IntentContext) {
  const outcome = await tools.call("find_tasks", { ...filterArgs(filter), sort: "due", limit: LIST_LIMIT });
  if (!outcome.ok) {
    tools.say(`I couldn't look that up: ${outcome.text}`);
    return { pending: null };
  }
  const items = outcome.tasks;
  const what =
    `${filter.status === "completed" ? "completed" : filter.status === "all" ? "" : "open"} tasks${label ? ` ${label}` : ""}`
      .replace(/\s+/g, " ")
      .trim();
  if (items.length === 0) {
    tools.say(`You have no ${what}.`);
    return { pending: null };
  }
  const more = outcome.structured?.next_cursor ? ` (the first ${items.length})` : "";
  tools.say(
    `${items.length === 1 ? `One of your ${what}` : `Your ${what}${more}`}:\n${numbered(items, ctx.timeZone, ctx.now)}`,
  );
  return { pending: null };
}

async function completeAll(
  intent: Extract<Intent, { kind: "complete_all" }>,
  tools: TurnTools,
  ctx: IntentContext,
): Promise<BrainReply> {
  const outcome = await tools.call("find_tasks", {
    ...filterArgs(intent.filter),
    sort: "due",
    limit: BULK_LIMIT,
  });
  if (!outcome.ok) {
    tools.say(`I couldn't look that up: ${outcome.text}`);
    return { pending: null };
  }
  const items = outcome.tasks;
  if (items.length === 0) {
    tools.say(`You have no open tasks ${intent.label}: nothing to complete.`);
    return { pending: null };
  }
  const more = outcome.structured?.next_cursor ? ` (the first ${BULK_LIMIT}; more remain)` : "";
  const summary = `Complete ${items.length === 1 ? "1 task" : `${items.length} tasks`} ${intent.label}${more}?`;
  tools.say(`${summary}\n${numbered(items, ctx.timeZone, ctx.now)}\nAnswer yes or no.`);
  return askFirst(tools, {
    summary,
    tool: "complete_tasks",
    arguments: { tasks: items.map((t) => ({ id: t.id, version: t.version })) },
    tasks: items.map((t) => ({ id: t.id, title: t.title })),
  });
}

/** Keeps the exact tool call in the conversation and asks: it runs only on "yes". */
function askFirst(tools: TurnTools, action: Omit<Extract<Pending, { kind: "confirm" }>, "kind">): BrainReply {
  tools.emit("confirm", { summary: action.summary });
  return { pending: { kind: "confirm", ...action } };
}

/** Finds the one task `intent.ref` names, or asks which when several match. */
async function resolveThenAct(intent: RefIntent, tools: TurnTools, ctx: IntentContext): Promise<BrainReply> {
  const status = intent.kind === "reopen" ? "completed" : "pending";
  const outcome = await tools.call("find_tasks", { q: intent.ref, status, limit: CHOICES_SHOWN + 1 });
  if (!outcome.ok) {
    tools.say(`I couldn't look for ${quote(intent.ref)}: ${outcome.text}`);
    return { pending: null };
  }
  const found = outcome.tasks;
  const exact = found.filter((t) => t.title.trim().toLowerCase() === intent.ref.toLowerCase());
  const matches = exact.length === 1 ? exact : found;
  if (matches.length === 0) {
    tools.say(
      `I couldn't find ${status === "completed" ? "a completed" : "an open"} task matching ${quote(intent.ref)}. “search for …” looks through all of them.`,
    );
    return { pending: null };
  }
  if (matches.length > 1) {
    const shown = matches.slice(0, CHOICES_SHOWN);
    tools.say(
      `Several tasks match ${quote(intent.ref)}${matches.length > CHOICES_SHOWN ? ` (the first ${CHOICES_SHOWN})` : ""}. Which one do you mean?\n${numbered(shown, ctx.timeZone, ctx.now)}\nAnswer with its number, e.g. “2” or “the second one”.`,
    );
    return {
      pending: {
        kind: "choose",
        intent: intent as unknown as Record<string, unknown>,
        candidates: shown.map((t) => ({ id: t.id, title: t.title })),
      },
    };
  }
  return act(intent, { id: matches[0]!.id, title: matches[0]!.title }, tools, ctx);
}

function firstError(outcome: { text: string; structured: Record<string, unknown> | null }): string {
  const result = (outcome.structured?.results as { error?: string }[] | undefined)?.[0];
  return result?.error ?? outcome.text;
}

/** Acts on the one task a reference was resolved to. */
async function act(
  intent: RefIntent,
  task: { id: string; title: string },
  tools: TurnTools,
  ctx: IntentContext,
): Promise<BrainReply> {
  const said = (text: string) => {
    tools.say(text);
    return { pending: null };
  };
  const changed = (outcome: { tasks: TaskDto[] }) => outcome.tasks[0];
  switch (intent.kind) {
    case "delete": {
      const summary = `Delete ${quote(task.title)}?`;
      tools.say(`${summary} Answer yes or no.`);
      return askFirst(tools, { summary, tool: "delete_tasks", arguments: { ids: [task.id] }, tasks: [task] });
    }
    case "complete":
    case "reopen": {
      const reopen = intent.kind === "reopen";
      const outcome = await tools.call("complete_tasks", { tasks: [{ id: task.id }], reopen });
      const open = openSubtasks(outcome);
      if (!reopen && open !== null) {
        // A parent with open subtasks: the person says what becomes of them, as the list's dialog asks.
        const summary = `${quote(task.title)} has ${open} open subtask${open === 1 ? "" : "s"}. Complete ${open === 1 ? "it" : "them"} too?`;
        tools.say(`${summary} Answer yes to complete all of them, or no to leave everything open.`);
        return askFirst(tools, {
          summary,
          tool: "complete_tasks",
          arguments: { tasks: [{ id: task.id }], subtasks: "complete" },
          tasks: [task],
        });
      }
      if (!outcome.ok)
        return said(
          `I couldn't ${reopen ? "reopen" : "complete"} ${quote(task.title)}: ${firstError(outcome)}`,
        );
      const done = changed(outcome);
      const repeats = !reopen && done?.recurrence?.active ? " Its next occurrence is on your list." : "";
      return said(`${reopen ? "Reopened" : "Completed"} ${quote(task.title)}.${repeats}`);
    }
    case "reschedule": {
      const outcome = await tools.call("reschedule_task", { id: task.id, due_at: intent.due_at });
      const moved = changed(outcome);
      if (!outcome.ok || !moved) return said(`I couldn't move ${quote(task.title)}: ${firstError(outcome)}`);
      return said(`Moved: ${describeTask(moved, ctx.timeZone, ctx.now)}.`);
    }
    case "rename": {
      const outcome = await tools.call("update_tasks", {
        updates: [{ id: task.id, changes: { title: intent.title } }],
      });
      const renamed = changed(outcome);
      if (!outcome.ok || !renamed)
        return said(`I couldn't rename ${quote(task.title)}: ${firstError(outcome)}`);
      return said(`Renamed ${quote(task.title)} to ${quote(renamed.title)}.`);
    }
    case "set_priority": {
      const outcome = await tools.call("update_tasks", {
        updates: [{ id: task.id, changes: { priority: intent.priority } }],
      });
      if (!outcome.ok || !changed(outcome))
        return said(`I couldn't change ${quote(task.title)}: ${firstError(outcome)}`);
      return said(
        intent.priority === "none"
          ? `${quote(task.title)} has no priority now.`
          : `${quote(task.title)} is ${intent.priority} priority now.`,
      );
    }
  }
}
