// Domain errors: what a rule or a command refuses, said without HTTP. Each adapter says it its own
// way: the function host answers a problem+json response (packages/platform/src/problems.ts), a
// consumer retries or drops the event, a tool tells the model. Nothing here knows about tasks.

/** Every refusal the domain makes on purpose (anything else thrown is a fault). */
export abstract class DomainError extends Error {}

/** The input breaks a rule. `field` is a plain dotted path into the input, e.g. "reminders" or "due_at". */
export class RuleViolation extends DomainError {
  override readonly name = "RuleViolation";

  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** What the command names does not exist (or is not the caller's to see, which must look the same). */
export class NotFound extends DomainError {
  override readonly name = "NotFound";

  constructor(readonly detail: string) {
    super(detail);
  }
}

/** The change was based on a version that is no longer the current one. */
export class VersionConflict extends DomainError {
  override readonly name = "VersionConflict";

  constructor(
    readonly current: number,
    readonly given: number,
  ) {
    super(`version ${given} is stale: the current version is ${current}`);
  }
}

/** The input clashes with what exists (e.g. a list name already taken); `field` names the input's member. */
export class Conflict extends DomainError {
  override readonly name = "Conflict";

  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** Completing a parent with open subtasks needs to be told what becomes of them. */
export class OpenSubtasks extends DomainError {
  override readonly name = "OpenSubtasks";

  constructor(readonly open: number) {
    super(`the task has ${open} open subtask(s)`);
  }
}
