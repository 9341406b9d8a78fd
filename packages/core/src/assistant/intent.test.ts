// The deterministic assistant's corpus (packages/core/src/fixtures/assistant-corpus.ts): every
// utterance must be understood as written there, on a fixed clock.
import { DateTime } from "luxon";
import { expect, test } from "vitest";
import {
  CHOICE_CORPUS,
  CONFIRMATION_CORPUS,
  CORPUS_NOW,
  CORPUS_ZONE,
  INTENT_CORPUS,
} from "#core/fixtures/assistant-corpus.ts";
import { parseChoice, parseConfirmation, parseIntent, type Intent } from "./intent.ts";

const ctx = { timeZone: CORPUS_ZONE, now: new Date(CORPUS_NOW) };
const INSTANT_FIELDS = new Set(["due_at", "due_from", "due_to"]);

/** The intent with every instant as local "yyyy-MM-dd HH:mm" (after checking it is one). */
function local(value: unknown, key = ""): unknown {
  if (typeof value === "string" && INSTANT_FIELDS.has(key)) {
    const at = DateTime.fromISO(value, { setZone: true });
    expect(at.isValid, `${key}: ${value}`).toBe(true);
    expect(at.offset, `${key}: ${value} has the user's offset`).toBe(
      DateTime.fromISO(value).setZone(CORPUS_ZONE).offset,
    );
    return at.setZone(CORPUS_ZONE).toFormat("yyyy-MM-dd HH:mm");
  }
  if (Array.isArray(value)) return value.map((v) => local(v));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, local(v, k)]));
  return value;
}

test("the corpus is big enough and has no duplicate utterance", () => {
  const all = [...INTENT_CORPUS, ...CONFIRMATION_CORPUS, ...CHOICE_CORPUS].map(([text]) => text);
  expect(all.length).toBeGreaterThanOrEqual(100);
  expect(new Set(INTENT_CORPUS.map(([text]) => text)).size).toBe(INTENT_CORPUS.length);
});

test.each(INTENT_CORPUS.map(([text, expected]) => ({ text, expected })))(
  "understands $text",
  ({ text, expected }) => {
    const intent: Intent = parseIntent(text, ctx);
    expect(local(intent)).toEqual(expected);
  },
);

test.each(CONFIRMATION_CORPUS)("a confirmation answered %j is %j", (text, expected) => {
  expect(parseConfirmation(text)).toBe(expected);
});

test.each(CHOICE_CORPUS)("a choice among three answered %j is %j", (text, expected) => {
  expect(parseChoice(text, 3)).toBe(expected);
});
