// Text PostgreSQL can store: the one rule every string Orbit takes in (request bodies, event
// payloads, CloudEvent ids, token names) passes before it reaches a `text` or `jsonb` column. It
// knows nothing of tasks, so infrastructure (packages/platform) may use it too.
import { z } from "zod";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why PostgreSQL cannot store `value`, or null when it can. A NUL (U+0000) is refused by `text`
 * (22021) and by `jsonb` (22P05); a UTF-16 surrogate without its pair is not Unicode text at all,
 * and `jsonb` refuses its `\uD800` escape (22P02). Either would reach the database as a 500, or,
 * in an event, fail its consumer on every redelivery.
 */
export function unstorableText(value: string): string | null {
  if (value.includes("\u0000")) return "must not contain a NUL character (U+0000)";
  if (LONE_SURROGATE.test(value)) return "must be well-formed Unicode (it has an unpaired surrogate)";
  return null;
}

/** A string `unstorableText` accepts; `error` is the message when the value is not a string. */
export function storableString(error = "must be a string") {
  return z.string({ error }).superRefine((value, ctx) => {
    const problem = unstorableText(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** Where in a JSON value (any depth, keys included) a string `unstorableText` refuses sits. */
export function findUnstorableText(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; message: string } | null {
  if (typeof value === "string") {
    const message = unstorableText(value);
    return message ? { path, message } : null;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorableText(item, [...path, index]);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const message = unstorableText(key);
      if (message) return { path: [...path, key], message: `has a key that ${message}` };
      const found = findUnstorableText(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}
