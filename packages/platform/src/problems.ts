// RFC 9457 problem details. Every error a function returns is one of these, as
// `application/problem+json`; nothing else reaches a client (no stack, no SQL).
import type { z } from "zod";
import { Conflict, NotFound, OpenSubtasks, RuleViolation, VersionConflict } from "#core/errors.ts";

export interface FieldError {
  /** JSON Pointer (RFC 6901) to the offending member of the request, e.g. "/body/title". */
  pointer: string;
  /** Dotted name of the field, e.g. "title" or "reminders.0.offset_minutes". */
  field: string;
  detail: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

const TYPE_BASE = "https://orbit.invalid/problems/";

/** Problem type URIs, one per kind of failure (documented in docs/api.md). */
export const ProblemType = {
  validation: `${TYPE_BASE}validation-error`,
  malformedJson: `${TYPE_BASE}malformed-json`,
  unauthorized: `${TYPE_BASE}unauthorized`,
  forbidden: `${TYPE_BASE}forbidden`,
  notFound: `${TYPE_BASE}not-found`,
  versionConflict: `${TYPE_BASE}version-conflict`,
  conflict: `${TYPE_BASE}conflict`,
  openSubtasks: `${TYPE_BASE}open-subtasks`,
  tooLarge: `${TYPE_BASE}payload-too-large`,
  unsupportedMediaType: `${TYPE_BASE}unsupported-media-type`,
  rateLimited: `${TYPE_BASE}rate-limited`,
  unavailable: `${TYPE_BASE}service-unavailable`,
  internal: `${TYPE_BASE}internal-error`,
  methodNotAllowed: `${TYPE_BASE}method-not-allowed`,
} as const;

export class Problem extends Error {
  readonly status: number;
  readonly body: ProblemBody;
  readonly headers: Record<string, string>;

  constructor(body: ProblemBody, headers: Record<string, string> = {}) {
    super(body.detail ?? body.title);
    this.status = body.status;
    this.body = body;
    this.headers = headers;
  }
}

export const problems = {
  validation: (errors: FieldError[], detail = "The request is not valid.") =>
    new Problem({ type: ProblemType.validation, title: "Invalid request", status: 400, detail, errors }),
  malformedJson: (detail: string) =>
    new Problem({ type: ProblemType.malformedJson, title: "Malformed JSON", status: 400, detail }),
  unauthorized: (detail = "A valid API token is required: send `Authorization: Bearer <token>`.") =>
    new Problem(
      { type: ProblemType.unauthorized, title: "Unauthorized", status: 401, detail },
      { "WWW-Authenticate": 'Bearer realm="orbit"' },
    ),
  forbidden: (detail: string) =>
    new Problem({ type: ProblemType.forbidden, title: "Forbidden", status: 403, detail }),
  notFound: (detail = "No such resource.") =>
    new Problem({ type: ProblemType.notFound, title: "Not found", status: 404, detail }),
  methodNotAllowed: (allowed: string[]) =>
    new Problem(
      {
        type: ProblemType.methodNotAllowed,
        title: "Method not allowed",
        status: 405,
        detail: `Allowed: ${allowed.join(", ")}.`,
      },
      { Allow: allowed.join(", ") },
    ),
  versionConflict: (current: number, given: number) =>
    new Problem({
      type: ProblemType.versionConflict,
      title: "Version conflict",
      status: 409,
      detail: `The task is at version ${current}, the request was based on version ${given}. Reload and retry.`,
      current_version: current,
    }),
  conflict: (detail: string, errors?: FieldError[]) =>
    new Problem({
      type: ProblemType.conflict,
      title: "Conflict",
      status: 409,
      detail,
      ...(errors ? { errors } : {}),
    }),
  openSubtasks: (open: number) =>
    new Problem({
      type: ProblemType.openSubtasks,
      title: "The task has open subtasks",
      status: 409,
      detail: `The task has ${open} open subtask${open === 1 ? "" : "s"}. Say what becomes of ${open === 1 ? "it" : "them"}: subtasks "complete" completes them too, "leave" leaves them open.`,
      open_subtasks: open,
      errors: [
        {
          pointer: "/body/subtasks",
          field: "subtasks",
          detail: 'must be "complete" or "leave" when the task has open subtasks',
        },
      ],
    }),
  tooLarge: (limit: number) =>
    new Problem({
      type: ProblemType.tooLarge,
      title: "Payload too large",
      status: 413,
      detail: `The request body is larger than ${limit} bytes.`,
    }),
  unsupportedMediaType: (got: string | undefined) =>
    new Problem({
      type: ProblemType.unsupportedMediaType,
      title: "Unsupported media type",
      status: 415,
      detail: `Send the body as application/json${got ? `, not ${got}` : ""}.`,
    }),
  rateLimited: (retryAfterSeconds: number) =>
    new Problem(
      {
        type: ProblemType.rateLimited,
        title: "Too many requests",
        status: 429,
        detail: `Retry in ${retryAfterSeconds} s.`,
      },
      { "Retry-After": String(retryAfterSeconds) },
    ),
  unavailable: (detail: string, retryAfterSeconds = 2) =>
    new Problem(
      { type: ProblemType.unavailable, title: "Service unavailable", status: 503, detail },
      { "Retry-After": String(retryAfterSeconds) },
    ),
  internal: () =>
    new Problem({
      type: ProblemType.internal,
      title: "Internal error",
      status: 500,
      detail: "Something went wrong on our side; it has been logged.",
    }),
};

/** RFC 6901 pointer to `path` (plain members, e.g. ["reminders", "0"]) under `location`. */
function pointerTo(location: string, path: readonly string[]): string {
  return `/${[location, ...path].map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`;
}

/**
 * The problem a thrown error is answered with when it is one on purpose: a Problem as it is, a
 * domain error (packages/core/src/errors.ts) as the API states it (a broken rule is a 400 pointing
 * at the body member it names, a missing resource a 404, a stale version a 409 naming the current
 * one). Undefined for anything else: a fault, which the host logs and answers with a 5xx.
 */
export function knownProblem(error: unknown): Problem | undefined {
  if (error instanceof Problem) return error;
  if (error instanceof RuleViolation)
    return problems.validation([
      { pointer: pointerTo("body", error.field.split(".")), field: error.field, detail: error.detail },
    ]);
  if (error instanceof NotFound) return problems.notFound(error.detail);
  if (error instanceof VersionConflict) return problems.versionConflict(error.current, error.given);
  if (error instanceof Conflict)
    return problems.conflict(error.detail, [
      { pointer: pointerTo("body", error.field.split(".")), field: error.field, detail: error.detail },
    ]);
  if (error instanceof OpenSubtasks) return problems.openSubtasks(error.open);
  return undefined;
}

/** Turns zod issues into field errors under `location` ("body", "query", "params", "headers"). */
export function fieldErrors(location: string, issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    // An unknown key is reported once per key, pointing at the key itself.
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
    return keys.map((key) => {
      const path = key === undefined ? issue.path.map(String) : [...issue.path.map(String), key];
      const pointer = pointerTo(location, path);
      const detail = key === undefined ? issue.message : `unknown field "${key}"`;
      return { pointer, field: path.join(".") || location, detail };
    });
  });
}
