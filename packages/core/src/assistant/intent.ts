// The deterministic assistant's understanding: one message → one intent, with no model and no I/O.
// Task text, dates, times, tags, priorities and repeats are read by quick add (../quick-add.ts), the
// same parser the task list's box uses; this module adds the verbs around them ("add", "move … to",
// "complete", "what's due …"), reminder phrases ("remind me an hour before"), and the answers to
// its own questions ("yes", "the second one"). Anything it does not recognise is `unsupported`:
// it never guesses, least of all a destructive action.
import { DateTime } from "luxon";
import { readQuickAdd, type QuickAddRecurrence } from "#core/quick-add.ts";
import type { Priority } from "#core/tasks.ts";

export interface IntentContext {
  timeZone: string;
  now: Date;
}

/** find_tasks' filters, as the MCP tool takes them. */
export interface TaskFilter {
  status: "pending" | "completed" | "all";
  q?: string;
  tags?: string[];
  priorities?: Priority[];
  due_from?: string;
  due_to?: string;
  overdue?: boolean;
  no_due?: boolean;
}

export interface NewTask {
  title: string;
  tags: string[];
  priority: Priority;
  /** RFC 3339 with the user's offset; null for no due date. */
  due_at: string | null;
  recurrence: QuickAddRecurrence | null;
  /** Only when the message names one ("remind me an hour before"); else the account's default. */
  reminders?: { offset_minutes: number }[];
}

export type UnsupportedReason =
  "empty" | "language" | "unknown" | "bulk_delete" | "bulk_scope" | "no_date" | "reminder_needs_due";

export type Intent =
  | { kind: "add"; task: NewTask }
  | { kind: "list"; filter: TaskFilter; label: string }
  | { kind: "search"; q: string }
  | { kind: "complete"; ref: string }
  | { kind: "reopen"; ref: string }
  | { kind: "complete_all"; filter: TaskFilter; label: string }
  | { kind: "delete"; ref: string }
  | { kind: "reschedule"; ref: string; due_at: string }
  | { kind: "rename"; ref: string; title: string }
  | { kind: "set_priority"; ref: string; priority: Priority }
  | { kind: "help" }
  | { kind: "unsupported"; reason: UnsupportedReason; detail?: string };

/** The intents that name one task by words (resolved to an id by searching the user's tasks). */
export type RefIntent = Extract<Intent, { ref: string }>;

const POLITE_START =
  /^(?:(?:hey|hi|ok|okay)\s+orbit\b[,:]?\s*|orbit[,:]\s*|please\s+|pls\s+|plz\s+|kindly\s+|(?:can|could|would|will)\s+you\s+(?:please\s+)?|i\s+(?:want|need|would like|'d like)\s+(?:you\s+)?to\s+|i\s+want\s+|let'?s\s+)+/i;
const POLITE_END = /(?:[,\s]+(?:please|pls|for me|thanks|thank you|thx))+$/i;

/** The message with polite padding and closing punctuation removed; whitespace collapsed. */
export function normalize(text: string): string {
  let out = text.replace(/\s+/g, " ").trim();
  out = out.replace(/[?!.]+$/, "").trim();
  out = out.replace(POLITE_START, "").replace(POLITE_END, "").trim();
  return out.replace(/[?!.]+$/, "").trim();
}

// ───── Answers to the assistant's own questions ─────

const YES =
  /^(?:y|yes|yeah|yep|yup|sure|ok|okay|confirm|confirmed|do it|go ahead|please do|yes please|yes,? do it|correct|affirmative|absolutely)$/i;
const NO =
  /^(?:n|no|nope|nah|cancel|stop|don'?t|do not|never ?mind|abort|no thanks|no,? (?:don'?t|cancel)|keep (?:it|them))$/i;

/** "yes"/"no" to a confirmation, or null for anything else (which cancels it). */
export function parseConfirmation(text: string): "yes" | "no" | null {
  const t = text
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[.!]+$/, "");
  if (YES.test(t)) return "yes";
  if (NO.test(t)) return "no";
  return null;
}

const ORDINALS: Record<string, number> = {
  first: 1,
  "1st": 1,
  one: 1,
  second: 2,
  "2nd": 2,
  two: 2,
  third: 3,
  "3rd": 3,
  three: 3,
  fourth: 4,
  "4th": 4,
  four: 4,
  fifth: 5,
  "5th": 5,
  five: 5,
  sixth: 6,
  "6th": 6,
  six: 6,
  seventh: 7,
  "7th": 7,
  seven: 7,
  eighth: 8,
  "8th": 8,
  eight: 8,
  ninth: 9,
  "9th": 9,
  nine: 9,
  tenth: 10,
  "10th": 10,
  ten: 10,
};

/**
 * Which of `count` listed tasks the answer picks ("2", "#2", "the second one", "the last"), as a
 * 0-based index; null when it is no such answer or out of range.
 */
export function parseChoice(text: string, count: number): number | null {
  const t = normalize(text).toLowerCase();
  const m =
    /^(?:(?:it'?s|i mean|take|pick|choose)\s+)?(?:the\s+|number\s+|no\.?\s*|#)?(\d{1,2}|[a-z0-9]+)(?:\s+(?:one|task))?$/.exec(
      t,
    );
  if (!m) return null;
  const word = m[1]!;
  let n: number | undefined;
  if (/^\d+$/.test(word)) n = Number(word);
  else if (word === "last") n = count;
  else n = ORDINALS[word];
  if (n === undefined || n < 1 || n > count) return null;
  return n - 1;
}

// ───── Languages other than English ─────

const FOREIGN_WORDS =
  /^(?:añade|añadir|agrega|agregar|recuérdame|recuerdame|crea|crear|borra|borrar|elimina|qué|que tengo|tengo|füge|hinzufügen|erinnere|lösche|bitte|was habe|ich|ajoute|ajouter|rappelle|supprime|qu'est|quelles?|aggiungi|ricordami|elimina|cosa|voeg|herinner|verwijder|adicionar|adicione|lembre|lembrar|apague|o que|dodaj|przypomnij|usuń)\b/i;

/** True when the text is written in another language (a script other than Latin, or a known verb). */
function isForeign(text: string): boolean {
  const letters = text.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return false;
  const latin = letters.filter((c) => /\p{Script=Latin}/u.test(c)).length;
  if (latin / letters.length < 0.5) return true;
  return FOREIGN_WORDS.test(text.trim());
}

// ───── Pieces ─────

const ARTICLE = /^(?:the|my|a|an|that|this|our)\s+/i;
const REF_TAIL = /\s+(?:task|tasks|todo|to-do|item|one|thing|reminder)$/i;

/** A task reference as search words: "the groceries task" → "groceries". */
export function cleanRef(text: string): string {
  let ref = text.trim().replace(/^["'“”‘’]+|["'“”‘’]+$/g, "");
  for (let i = 0; i < 3; i++) ref = ref.replace(ARTICLE, "").replace(REF_TAIL, "").trim();
  ref = ref.replace(/^(?:task|todo)\s+/i, "").replace(/^(?:called|named|titled)\s+/i, "");
  return ref.replace(/^["'“”‘’]+|["'“”‘’]+$/g, "").trim();
}

const REMINDER_UNITS: Record<string, number> = {
  minute: 1,
  min: 1,
  hour: 60,
  hr: 60,
  day: 1440,
  week: 10080,
};
const REMINDER =
  /(?:,\s*|\s+)(?:and\s+)?(?:please\s+)?(?:remind me|with a reminder|set a reminder|add a reminder|reminder)\s+(half an?|an?|one|\d{1,4})\s*(minute|min|hour|hr|day|week)s?\s+(?:before|earlier|ahead|in advance|beforehand)(?:\s+(?:it(?:'s| is)?(?:\s+due)?|hand))?(?=[\s,.!]|$)/i;

/** "… and remind me an hour before": the offset in minutes, and the text without the phrase. */
export function extractReminder(text: string): { text: string; offsetMinutes: number | null } {
  const m = REMINDER.exec(` ${text}`);
  if (!m) return { text, offsetMinutes: null };
  const amount = m[1]!.toLowerCase();
  const unit = REMINDER_UNITS[m[2]!.toLowerCase()]!;
  const count = amount.startsWith("half") ? 0.5 : /^\d+$/.test(amount) ? Number(amount) : 1;
  const start = m.index - 1;
  const rest = `${text.slice(0, Math.max(0, start))} ${text.slice(start + m[0].length)}`;
  return { text: rest.replace(/\s+/g, " ").trim(), offsetMinutes: Math.round(count * unit) };
}

/** Due phrase only ("friday", "next monday 9am", "tomorrow at 3pm"): the instant, or null. */
export function parseWhen(text: string, ctx: IntentContext): string | null {
  const phrase = text
    .trim()
    .replace(/^(?:on|at|for|by|until|till)\s+/i, (m) => (/^at\s/i.test(m) ? m : ""))
    .replace(/^(?:the\s+)?(?:coming\s+)?/i, "");
  if (!phrase) return null;
  const { draft, parts } = readQuickAdd(phrase, ctx.timeZone, ctx.now);
  const due = parts.find((p) => p.kind === "due");
  if (!due || !draft.dueAt) return null;
  // Every word must belong to the due phrase: "friday or so" is not a date we read.
  if (draft.title !== phrase.trim()) return null;
  return iso(draft.dueAt, ctx.timeZone);
}

function iso(instant: Date, timeZone: string): string {
  return DateTime.fromJSDate(instant, { zone: timeZone }).toISO({ suppressMilliseconds: true })!;
}

// ───── Listing ─────

const PRIORITY_WORDS: [RegExp, Priority][] = [
  [/\b(?:high[- ]priority|high prio|urgent|important|top[- ]priority|priority high|!high)\b/i, "high"],
  [/\b(?:medium[- ]priority|priority medium|!medium)\b/i, "medium"],
  [/\b(?:low[- ]priority|priority low|!low)\b/i, "low"],
];

/** Words that never name a tag in "show my <word> tasks". */
const NOT_TAGS = new Set(
  (
    "my all the a an any open pending remaining other current today today's tomorrow tomorrow's " +
    "overdue late upcoming due completed done finished high low medium urgent important priority " +
    "high-priority low-priority medium-priority recurring repeating weekly daily new old recent " +
    "this next week week's unfinished outstanding undone your our some these those which what show " +
    "list find display see view get give me are is do have search look"
  ).split(" "),
);

function dayRange(ctx: IntentContext, fromDays: number, toDays: number) {
  const today = DateTime.fromJSDate(ctx.now, { zone: ctx.timeZone }).startOf("day");
  return {
    due_from: today.plus({ days: fromDays }).toISO({ suppressMilliseconds: true })!,
    due_to: today.plus({ days: toDays }).toISO({ suppressMilliseconds: true })!,
  };
}

/**
 * The filters a list request names, and a label for the reply ("due today", "tagged #work"); null
 * when it names none we know (then it is no list request).
 */
export function readFilter(
  text: string,
  ctx: IntentContext,
  { requireFilter }: { requireFilter: boolean },
): { filter: TaskFilter; label: string } | null {
  const t = text.toLowerCase();
  const filter: TaskFilter = { status: "pending" };
  const labels: string[] = [];
  let named = false;
  if (/\b(?:completed|finished|done|closed)\b/.test(t) && !/\bnot (?:done|completed|finished)\b/.test(t)) {
    filter.status = "completed";
    labels.push("completed");
    named = true;
  }
  if (/\b(?:overdue|late|past due|missed)\b/.test(t)) {
    filter.overdue = true;
    labels.push("overdue");
    named = true;
  } else if (/\b(?:today|tonight|today's)\b/.test(t)) {
    Object.assign(filter, dayRange(ctx, 0, 1));
    labels.push("due today");
    named = true;
  } else if (/\b(?:tomorrow|tomorrow's|tmrw)\b/.test(t)) {
    Object.assign(filter, dayRange(ctx, 1, 2));
    labels.push("due tomorrow");
    named = true;
  } else if (/\bnext week\b/.test(t)) {
    const weekday = DateTime.fromJSDate(ctx.now, { zone: ctx.timeZone }).weekday;
    const toMonday = 8 - weekday;
    Object.assign(filter, dayRange(ctx, toMonday, toMonday + 7));
    labels.push("due next week");
    named = true;
  } else if (/\b(?:this week|week|rest of the week)\b/.test(t)) {
    const weekday = DateTime.fromJSDate(ctx.now, { zone: ctx.timeZone }).weekday;
    Object.assign(filter, dayRange(ctx, 0, 8 - weekday));
    labels.push("due this week");
    named = true;
  } else if (/\b(?:no due date|without (?:a )?(?:due )?date|undated|someday|unscheduled)\b/.test(t)) {
    filter.no_due = true;
    labels.push("without a due date");
    named = true;
  }
  for (const [re, priority] of PRIORITY_WORDS) {
    if (re.test(t)) {
      filter.priorities = [priority];
      labels.unshift(`${priority}-priority`);
      named = true;
      break;
    }
  }
  const tags = [...text.matchAll(/(?:^|\s)#([\p{L}\p{N}][\p{L}\p{N}_\-/.]*)/gu)].map((m) => m[1]!);
  const tagged = /\b(?:tagged|with (?:the )?tag|labell?ed)\s+#?([\p{L}\p{N}][\p{L}\p{N}_\-/.]*)/iu.exec(text);
  if (tagged && !tags.includes(tagged[1]!)) tags.push(tagged[1]!);
  if (tags.length === 0) {
    // "show my high-priority work tasks": the last plain word before "tasks" names a tag.
    const before = /(?:^|\s)([\p{L}\p{N}][\p{L}\p{N}_-]*)\s+(?:tasks|todos|to-dos|items|stuff)\b/iu.exec(
      text,
    );
    if (before && !NOT_TAGS.has(before[1]!.toLowerCase())) tags.push(before[1]!);
  }
  if (tags.length > 0) {
    filter.tags = tags;
    labels.push(`tagged ${tags.map((tag) => `#${tag}`).join(" or ")}`);
    named = true;
  }
  if (requireFilter && !named) return null;
  return { filter, label: labels.join(", ") };
}

// ───── The verbs ─────

const LIST_START =
  /^(?:what(?:'s| is| are|s)?|which|show(?: me)?|list|display|give me|tell me|any|are there|is there|do i have|have i got|what do i have|what have i got|how many|get|see|view|my)\b/i;
const ADD_START =
  /^(?:add|create|new task|new|make (?:a )?(?:new )?task|put|schedule|jot down|note|todo|to-do|task)\b[:\s]*/i;
const REMIND_TO = /\bremind me (?:to|about)\s+/i;

function addIntent(body: string, ctx: IntentContext): Intent {
  const { text: withoutReminder, offsetMinutes } = extractReminder(body);
  let text = withoutReminder
    .replace(REMIND_TO, " ")
    .replace(/\s+(?:to|on|in)\s+(?:my|the)\s+(?:task\s+|to-?do\s+)?(?:list|tasks|todos)\b/i, " ")
    .replace(/^(?:a\s+)?(?:new\s+)?task\s+(?:to\s+|called\s+|named\s+)?/i, "")
    .replace(/\s+/g, " ")
    .trim();
  text = text.replace(/^(?:to\s+)/i, "").trim();
  if (!text) return { kind: "unsupported", reason: "unknown" };
  const { draft } = readQuickAdd(text, ctx.timeZone, ctx.now);
  // "pay rent on monday": quick add takes "monday" and leaves the preposition behind.
  const title = draft.dueAt
    ? draft.title.replace(/\s+(?:on|by|at|due|due on|due by|for)$/i, "")
    : draft.title;
  const task: NewTask = {
    title,
    tags: draft.tags,
    priority: draft.priority,
    due_at: draft.dueAt ? iso(draft.dueAt, ctx.timeZone) : null,
    recurrence: draft.recurrence,
  };
  if (offsetMinutes !== null) {
    if (!task.due_at)
      return {
        kind: "unsupported",
        reason: "reminder_needs_due",
        detail: "A reminder is set before a due time: say when it is due, e.g. “tomorrow 6pm”.",
      };
    task.reminders = [{ offset_minutes: offsetMinutes }];
  }
  return { kind: "add", task };
}

const PRIORITY_NAMES: Record<string, Priority> = {
  high: "high",
  top: "high",
  urgent: "high",
  medium: "medium",
  normal: "medium",
  low: "low",
  no: "none",
  none: "none",
};

/** A verb that asks for more than a list: such a message is never read as a bare filter phrase. */
const ACTION_WORD =
  /\b(?:delete|remove|erase|wipe|clear|complete|finish|mark|add|create|move|rename|set|change|ignore|forget|drop|cancel|mode|admin|system|instructions?)\b/i;

/** Reads one message (a new request, not an answer to a question) into an intent. */
export function parseIntent(message: string, ctx: IntentContext): Intent {
  const raw = message.replace(/\s+/g, " ").trim();
  if (!raw) return { kind: "unsupported", reason: "empty" };
  if (isForeign(raw)) return { kind: "unsupported", reason: "language" };
  const text = normalize(raw);
  if (!text) return { kind: "help" };
  const lower = text.toLowerCase();

  if (
    /^(?:help|\?|hi|hello|hey|good (?:morning|afternoon|evening)|thanks|thank you|what can you do|how do(?:es)? (?:this|it|you) work|who are you|commands)$/i.test(
      lower,
    )
  )
    return { kind: "help" };

  // Bulk: never "everything" without a filter, and never a bulk delete.
  const bulkDelete = /^(?:delete|remove|trash|erase|clear|wipe|get rid of)\s+(?:all|every(?:thing)?|each)\b/i;
  if (bulkDelete.test(text) || /^(?:clear|wipe|empty)\s+(?:my|the)\s+(?:list|tasks)\b/i.test(text))
    return { kind: "unsupported", reason: "bulk_delete" };
  const bulk =
    /^(?:complete|finish|close|check off|tick off|mark)\s+(?:all|every(?:thing)?|each)\b(?:\s+(?:of\s+)?(?:my\s+|the\s+)?)?(.*?)(?:\s+(?:as\s+)?(?:done|complete|completed|finished))?$/i.exec(
      text,
    );
  if (bulk) {
    const read = readFilter(bulk[1] ?? "", ctx, { requireFilter: true });
    if (!read) return { kind: "unsupported", reason: "bulk_scope" };
    return { kind: "complete_all", filter: { ...read.filter, status: "pending" }, label: read.label };
  }

  let m = /^(?:remove|clear|drop|delete)\s+(?:the\s+)?priority\s+(?:from|of|on)\s+(.+)$/i.exec(text);
  if (m) return { kind: "set_priority", ref: cleanRef(m[1]!), priority: "none" };

  m = /^(?:delete|remove|trash|erase|get rid of|drop|cancel)\s+(.+)$/i.exec(text);
  if (m) {
    const ref = cleanRef(m[1]!.replace(/\s+(?:from (?:my|the) (?:list|tasks))$/i, ""));
    return ref ? { kind: "delete", ref } : { kind: "unsupported", reason: "unknown" };
  }

  m =
    /^(?:reopen|re-open|uncomplete|undo|restore|unmark)\s+(.+?)(?:\s+as\s+(?:done|complete|completed))?$/i.exec(
      text,
    );
  if (m) return { kind: "reopen", ref: cleanRef(m[1]!) };
  m = /^mark\s+(.+?)\s+(?:as\s+)?(?:not done|undone|incomplete|pending|open|not completed)$/i.exec(text);
  if (m) return { kind: "reopen", ref: cleanRef(m[1]!) };

  m = /^(?:rename|retitle)\s+(.+?)\s+(?:to|as|into)\s+(.+)$/i.exec(text);
  m ??= /^change\s+the\s+(?:title|name)\s+of\s+(.+?)\s+to\s+(.+)$/i.exec(text);
  m ??= /^call\s+(.+?)\s+(.+?)\s+instead$/i.exec(text);
  if (m) {
    const title = m[2]!.trim().replace(/^["'“”‘’]+|["'“”‘’]+$/g, "");
    return title
      ? { kind: "rename", ref: cleanRef(m[1]!), title }
      : { kind: "unsupported", reason: "unknown" };
  }

  m =
    /^(?:set|make|mark|change|flag)\s+(.+?)\s+(?:to\s+|as\s+)?(?:a\s+)?(high|top|urgent|medium|normal|low|no)(?:[- ]priority)?$/i.exec(
      text,
    );
  if (m && !/\b(?:done|complete|completed|finished)$/i.test(text)) {
    const ref = cleanRef(m[1]!.replace(/\s+(?:the\s+)?priority$/i, "").replace(/^the priority of\s+/i, ""));
    if (ref) return { kind: "set_priority", ref, priority: PRIORITY_NAMES[m[2]!.toLowerCase()]! };
  }
  m = /^(?:set|change)\s+the\s+priority\s+of\s+(.+?)\s+to\s+(high|medium|low|none|urgent|normal)$/i.exec(
    text,
  );
  if (m)
    return { kind: "set_priority", ref: cleanRef(m[1]!), priority: PRIORITY_NAMES[m[2]!.toLowerCase()]! };
  m = /^(de-?)?prioriti[sz]e\s+(.+)$/i.exec(text);
  if (m) return { kind: "set_priority", ref: cleanRef(m[2]!), priority: m[1] ? "low" : "high" };

  m =
    /^(?:move|reschedule|push|postpone|delay|shift|bump|put off|change the (?:due )?date of|set the due date of|set|change)\s+(.+?)\s+(?:to|until|till|for|on|by)\s+(.+)$/i.exec(
      text,
    );
  if (m) {
    const when = parseWhen(m[2]!, ctx);
    const ref = cleanRef(m[1]!.replace(/^(?:the )?due date of\s+/i, ""));
    if (!when)
      return {
        kind: "unsupported",
        reason: "no_date",
        detail: `I couldn't read “${m[2]!.trim()}” as a date and time.`,
      };
    if (ref) return { kind: "reschedule", ref, due_at: when };
  }

  m =
    /^(?:complete|finish|finished|close|check off|tick off|done with|done|mark)\s+(.+?)(?:\s+(?:as\s+)?(?:done|complete|completed|finished|off))?$/i.exec(
      text,
    );
  if (m && (!/^mark\b/i.test(text) || /\s(?:as\s+)?(?:done|complete|completed|finished)$/i.test(text))) {
    const ref = cleanRef(m[1]!);
    if (ref) return { kind: "complete", ref };
  }
  m = /^i(?:'ve| have)?\s+(?:finished|completed|done|did)\s+(.+)$/i.exec(text);
  m ??= /^(.+?)\s+is\s+(?:done|finished|complete|completed)$/i.exec(text);
  if (m) {
    const ref = cleanRef(m[1]!);
    if (ref) return { kind: "complete", ref };
  }

  m =
    /^(?:search|find|look(?:ing)? for|look up|search for)\s+(?:for\s+)?(?:tasks?\s+)?(?:about|for|with|named|called|mentioning|containing|matching)?\s*(.+)$/i.exec(
      text,
    );
  if (m) {
    const listed = readFilter(m[1]!, ctx, { requireFilter: true });
    if (listed) return { kind: "list", ...listed };
    const q = cleanRef(m[1]!);
    return q ? { kind: "search", q } : { kind: "unsupported", reason: "unknown" };
  }

  if (REMIND_TO.test(` ${text}`) || /^every\b/i.test(text)) return addIntent(text, ctx);
  m = ADD_START.exec(text);
  if (m) return addIntent(text.slice(m[0].length), ctx);

  if (LIST_START.test(text)) {
    const listed = readFilter(text, ctx, { requireFilter: false });
    if (listed && (listed.label || /\b(?:tasks|todos|to-dos|to do|list|agenda)\b/i.test(text)))
      return { kind: "list", filter: listed.filter, label: listed.label };
  } else if (/^(?:(?:my|all)\s+)?(?:tasks|todos|to-dos|list|agenda)$/i.test(text)) {
    return { kind: "list", filter: { status: "pending" }, label: "" };
  } else if (/\b(?:tasks|todos|to-dos|agenda|due)\b/i.test(text) && !ACTION_WORD.test(text)) {
    // A bare filter phrase ("today's tasks", "tasks tagged #home"), with no verb asking for more.
    const listed = readFilter(text, ctx, { requireFilter: true });
    if (listed) return { kind: "list", filter: listed.filter, label: listed.label };
  }
  return { kind: "unsupported", reason: "unknown" };
}
