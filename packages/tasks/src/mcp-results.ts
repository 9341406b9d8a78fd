// How the MCP tools answer a model: a text it reads (with the JSON of the result) beside the same
// result as structured content; a failure as one sentence that says what to do next.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { TaskDto } from "#core/tasks.ts";
import type { Principal } from "#platform/auth.ts";
import type { Logger } from "#platform/logger.ts";
import { fieldErrors, type FieldError } from "#platform/problems.ts";
import type { CommandFailure, CommandReply } from "./client.ts";

/** The outcome of one command: the task (or nothing, for a delete), or a sentence for a model. */
/**
 * One item's result. A refusal the caller can answer carries its problem type (and, for a parent
 * with open subtasks, how many), so an agent can ask the person rather than parse the sentence.
 */
export type Outcome =
  { ok: true; task: TaskDto | null } | { ok: false; error: string; type?: string; open_subtasks?: number };

export function textResult(
  text: string,
  structured: Record<string, unknown>,
  isError = false,
): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured, isError };
}

export function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** `value`'s JSON as the text, beside `structured` (the same data under its name). */
export function jsonResult(value: unknown, structured: Record<string, unknown>): CallToolResult {
  return textResult(JSON.stringify(value, null, 2), structured);
}

/** null when the token may write; else the error a write tool answers with. */
export function readOnlyError(tool: string, principal: Principal): CallToolResult | null {
  if (principal.scope === "read_write") return null;
  return errorResult(
    `This API token is read-only: ${tool} changes tasks and needs a token with the read_write scope.`,
  );
}

export function invalid(location: string, issues: z.core.$ZodIssue[]): CallToolResult {
  const errors = fieldErrors(location, issues).map((e) => `${e.field}: ${e.detail}`);
  return errorResult(`Invalid arguments: ${errors.join("; ")}`);
}

/** `title: must not be empty; due_at: must be …` from a problem+json body; else its title/detail. */
export function problemText(status: number, body: unknown): string {
  const problem = (body && typeof body === "object" ? body : {}) as {
    title?: string;
    detail?: string;
    errors?: FieldError[];
  };
  if (problem.errors?.length) return problem.errors.map((e) => `${e.field}: ${e.detail}`).join("; ");
  if (problem.title) return problem.detail ? `${problem.title}: ${problem.detail}` : problem.title;
  return `The task service answered HTTP ${status}; retry shortly.`;
}

/** A failed command as a sentence; a failure of the plumbing (not the user's input) is logged. */
export function failureText(failure: CommandFailure, log: Logger): string {
  switch (failure.kind) {
    case "unreachable":
      log.error("dapr sidecar unreachable", { err: failure.error });
      return "The task service is unreachable right now; retry shortly.";
    case "sidecar":
      log.error("service invocation failed", {
        app_id: failure.appId,
        status: failure.status,
        body: failure.body,
      });
      return `The task service (${failure.appId}) is unavailable right now; retry shortly.`;
    case "problem":
      return problemText(failure.status, failure.problem);
  }
}

export function outcomeOf(reply: CommandReply<TaskDto | null>, log: Logger): Outcome {
  if (reply.ok) return { ok: true, task: reply.value };
  const error = failureText(reply.failure, log);
  if (reply.failure.kind !== "problem") return { ok: false, error };
  const { type, open_subtasks: open } = reply.failure.problem as { type?: unknown; open_subtasks?: unknown };
  return {
    ok: false,
    error,
    ...(typeof type === "string" ? { type } : {}),
    ...(typeof open === "number" ? { open_subtasks: open } : {}),
  };
}

/**
 * One line per item, then the JSON of every result. The call is an error only when nothing
 * succeeded; a partial batch reports each failure by its index so the model can retry just those.
 */
export function batchResult(verb: string, outcomes: Outcome[]): CallToolResult {
  const done = outcomes.filter((o) => o.ok).length;
  const lines = [`${verb} ${done} of ${outcomes.length}.`];
  outcomes.forEach((o, index) => {
    if (!o.ok) lines.push(`[${index}] failed: ${o.error}`);
  });
  const results = outcomes.map((o) => (o.ok ? { ok: true, task: o.task } : o));
  lines.push(JSON.stringify(results, null, 2));
  return textResult(lines.join("\n"), { results }, done === 0);
}
