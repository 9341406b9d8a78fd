// Quick add: one line of text → a task draft. "Buy milk #home !high tomorrow 3pm" is the title
// "Buy milk", tag "home", priority high, due tomorrow at 15:00 in the user's zone. Pure (luxon
// for zone arithmetic); the clock is passed in.
//
// Due phrases, matched at the end of the text or anywhere as a whole: "today", "tonight",
// "tomorrow", "monday" (the coming one) / "next monday" (the one in next week, as Todoist reads
// it), "in 2 days|weeks|hours|minutes", each optionally followed by a time ("3pm", "3:30pm",
// "15:00", "at 9am"). A lone time ("at 5pm", "10:30am", "15:00"; a bare number only after "at" and
// with am/pm or minutes) is the next such time: today, or tomorrow once it has passed. A date
// without a time is due at 09:00, except "today" once 09:00 has passed (then 23:59) and "tonight"
// (20:00), so a date-only task is never overdue the moment it is made. Text in double quotes is
// kept as it is ("\"Meeting at 3pm\" tomorrow" is that title, due tomorrow).
import { DateTime } from "luxon";
import type { Priority } from "./tasks.ts";

export interface QuickAddDraft {
  title: string;
  tags: string[];
  priority: Priority;
  /** null when the text names no due phrase (a repeat phrase gives one: its first slot). */
  dueAt: Date | null;
  /** "every monday", "every 2 weeks", "every last friday", …; null when none. */
  recurrence: QuickAddRecurrence | null;
  /** `list:Work` or `list:"Side project"`: the list's name as typed (the caller finds it); null for the current list. */
  list: string | null;
}

/** A repeat phrase as the API's recurrence takes it (anchor, ends: the API's defaults). */
export interface QuickAddRecurrence {
  pattern: "hourly" | "daily" | "weekly" | "monthly" | "yearly";
  interval: number;
  weekdays: number[];
  month_week: 1 | 2 | 3 | 4 | -1 | null;
}

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const WEEKDAY_ALIASES: Record<string, number> = {
  mon: 1,
  tue: 2,
  tues: 2,
  wed: 3,
  thu: 4,
  thur: 4,
  thurs: 4,
  fri: 5,
  sat: 6,
  sun: 7,
  ...Object.fromEntries(WEEKDAYS.map((day, index) => [day, index + 1])),
};

const TIME = String.raw`(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?`;
const DAY_WORD = String.raw`today|tonight|tomorrow|tmrw|(?:next\s+)?(?:${Object.keys(WEEKDAY_ALIASES).join("|")})`;
const IN_PHRASE = String.raw`in\s+(\d{1,3})\s+(minute|min|hour|hr|day|week|month)s?`;

/** A due phrase: a day word with an optional time, "in N units", or a lone "at <time>". */
const DUE_PATTERNS: { re: RegExp; kind: "day" | "in" | "at" }[] = [
  { re: new RegExp(String.raw`(?:^|\s)(${DAY_WORD})(?:\s+${TIME})?(?=\s|$)`, "i"), kind: "day" },
  { re: new RegExp(String.raw`(?:^|\s)${IN_PHRASE}(?=\s|$)`, "i"), kind: "in" },
  {
    re: new RegExp(String.raw`(?:^|\s)(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?(?=\s|$)`, "gi"),
    kind: "at",
  },
];

/** `list:Name` or `list:"Two words"` (quoted text is a placeholder by then); never a tag's `#`. */
const LIST = /(?<=\s)list:(?:\uE000(\d+)\uE001|([^\s\uE000"#!]+))(?=\s)/i;

const WEEKDAY_WORD = `(?:${Object.keys(WEEKDAY_ALIASES).join("|")})`;
const NTH_WORDS: Record<string, 1 | 2 | 3 | 4 | -1> = {
  first: 1,
  "1st": 1,
  second: 2,
  "2nd": 2,
  third: 3,
  "3rd": 3,
  fourth: 4,
  "4th": 4,
  last: -1,
};
/**
 * A repeat phrase: "every" [other | N] then a unit ("every 2 weeks", "every 8 hours"), "weekday",
 * an nth weekday ("every 3rd tuesday", "every last friday") or weekdays ("every mon and thu"),
 * with an optional time. Only after "every": "Weekly report" is a title, not a rule.
 */
const REPEAT = new RegExp(
  String.raw`(?:^|\s)every\s+(?:(other)\s+|(\d{1,3})\s+)?(?:(hour|day|week|month|year)s?|(weekday)s?|(${Object.keys(NTH_WORDS).join("|")})\s+(${WEEKDAY_WORD})|(${WEEKDAY_WORD}(?:\s*(?:,|and|&)\s*${WEEKDAY_WORD})*))(?:\s+${TIME})?(?=\s|$)`,
  "i",
);

/** The repeat phrase in `text`: the rule, and its first slot as the due date when none is given. */
function parseRepeat(
  text: string,
  now: DateTime,
): { recurrence: QuickAddRecurrence; first: DateTime; match: string; hasTime: boolean } | null {
  const m = REPEAT.exec(text);
  if (!m) return null;
  const interval = m[1] ? 2 : m[2] ? Number(m[2]) : 1;
  if (interval < 1 || interval > 365) return null;
  let time = { hour: 9, minute: 0 };
  const hasTime = m[8] !== undefined;
  if (hasTime) {
    const parsed = clock(m[8]!, m[9], m[10]);
    // "every day at 5" without am/pm and minutes is as ambiguous here as anywhere.
    if (!parsed || (!m[10] && m[9] === undefined)) return null;
    time = parsed;
  }
  const at = (day: DateTime) => day.set({ ...time, second: 0, millisecond: 0 });
  // The first day on or after today (today only while its time is ahead) that `fits`.
  const firstDay = (fits: (day: DateTime) => boolean) => {
    for (let ahead = 0; ahead < 400; ahead++) {
      const day = at(now.startOf("day").plus({ days: ahead }));
      if (day > now && fits(day)) return day;
    }
    return at(now.plus({ days: 1 }));
  };
  const unit = m[3]?.toLowerCase();
  let recurrence: QuickAddRecurrence;
  let first: DateTime;
  if (unit === "hour") {
    recurrence = { pattern: "hourly", interval, weekdays: [], month_week: null };
    first = now.plus({ hours: interval }).set({ second: 0, millisecond: 0 });
  } else if (unit) {
    const pattern = ({ day: "daily", week: "weekly", month: "monthly", year: "yearly" } as const)[
      unit as "day" | "week" | "month" | "year"
    ];
    recurrence = { pattern, interval, weekdays: [], month_week: null };
    first = firstDay(() => true);
  } else if (m[4]) {
    recurrence = { pattern: "weekly", interval, weekdays: [1, 2, 3, 4, 5], month_week: null };
    first = firstDay((day) => day.weekday <= 5);
  } else if (m[5]) {
    const week = NTH_WORDS[m[5].toLowerCase()]!;
    const weekday = WEEKDAY_ALIASES[m[6]!.toLowerCase()]!;
    recurrence = { pattern: "monthly", interval, weekdays: [weekday], month_week: week };
    first = firstDay((day) => {
      if (day.weekday !== weekday) return false;
      return week === -1 ? day.plus({ days: 7 }).month !== day.month : Math.ceil(day.day / 7) === week;
    });
  } else {
    const weekdays = [
      ...new Set(
        m[7]!
          .toLowerCase()
          .split(/\s*(?:,|and|&)\s*/)
          .map((word) => WEEKDAY_ALIASES[word.trim()]!),
      ),
    ].sort((a, b) => a - b);
    recurrence = { pattern: "weekly", interval, weekdays, month_week: null };
    first = firstDay((day) => weekdays.includes(day.weekday));
  }
  return { recurrence, first, match: m[0], hasTime };
}

const TAG = /(?:^|\s)#([\p{L}\p{N}][\p{L}\p{N}_\-/.]*)/gu;
const PRIORITY = /(?:^|\s)!(high|medium|med|low|h|m|l)(?=\s|$)/i;

/** Hours and minutes of "3", "3pm", "3:30", "15:00"; null when out of range. */
function clock(hourText: string, minuteText: string | undefined, meridiem: string | undefined) {
  let hour = Number(hourText);
  const minute = minuteText === undefined ? 0 : Number(minuteText);
  if (minute > 59) return null;
  if (meridiem) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem.toLowerCase() === "pm" ? 12 : 0);
  } else if (hour > 23) return null;
  return { hour, minute };
}

function parseDue(text: string, now: DateTime): { dueAt: DateTime; match: string } | null {
  for (const { re, kind } of DUE_PATTERNS) {
    if (kind === "at") {
      // Every candidate in turn: "Buy 2 apples 5pm" skips the bare 2 and takes 5pm.
      for (const m of text.matchAll(re)) {
        const time = clock(m[1]!, m[2], m[3]);
        // A bare "5" or "at 5" without am/pm and without minutes is too ambiguous to be a time
        // ("meet at 5 guys", "buy 2 apples").
        if (!time || (!m[3] && m[2] === undefined)) continue;
        const today = now.set({ ...time, second: 0, millisecond: 0 });
        // "Meeting with Sam at 3pm" typed at 21:27 means tomorrow, not overdue at once.
        return { dueAt: today < now ? today.plus({ days: 1 }) : today, match: m[0] };
      }
      continue;
    }
    const m = re.exec(text);
    if (!m) continue;
    if (kind === "in") {
      const amount = Number(m[1]);
      const unit = m[2]!.toLowerCase();
      const key = unit.startsWith("min")
        ? "minutes"
        : unit.startsWith("h")
          ? "hours"
          : unit === "day"
            ? "days"
            : `${unit}s`;
      return { dueAt: now.plus({ [key]: amount }).set({ second: 0, millisecond: 0 }), match: m[0] };
    }
    const word = m[1]!.toLowerCase().replace(/\s+/g, " ");
    let day = now.startOf("day");
    let defaultTime = { hour: 9, minute: 0 };
    if (word === "today") {
      if (now.hour >= 9) defaultTime = { hour: 23, minute: 59 };
    } else if (word === "tonight") {
      defaultTime = { hour: 20, minute: 0 };
    } else if (word === "tomorrow" || word === "tmrw") {
      day = day.plus({ days: 1 });
    } else {
      const weekday = WEEKDAY_ALIASES[word.replace(/^next /, "")]!;
      // "friday" is the coming Friday (never today). "next friday" is the Friday of next week
      // (Mon–Sun), as Todoist reads it: typed on a Thursday that is 8 days on, not tomorrow.
      let ahead = (weekday - now.weekday + 7) % 7;
      if (ahead === 0) ahead = 7;
      if (word.startsWith("next ") && now.weekday + ahead <= 7) ahead += 7;
      day = day.plus({ days: ahead });
    }
    let time = defaultTime;
    if (m[2] !== undefined) {
      const parsed = clock(m[2], m[3], m[4]);
      if (!parsed) return null;
      time = parsed;
    }
    return { dueAt: day.set(time), match: m[0] };
  }
  return null;
}

/** What quick add understood, each with the text it came from (for the preview under the box). */
export type QuickAddPart =
  | { kind: "tag"; text: string; tag: string }
  | { kind: "priority"; text: string; priority: Priority }
  | { kind: "due"; text: string; dueAt: Date }
  | { kind: "repeat"; text: string; recurrence: QuickAddRecurrence }
  | { kind: "list"; text: string; list: string }
  /** A `!word` that is no priority: kept in the title, and worth a warning. */
  | { kind: "unknown-priority"; text: string };

/** Parses a quick-add line in `timeZone` at `now`. The title is what remains, trimmed. */
export function parseQuickAdd(input: string, timeZone: string, now: Date): QuickAddDraft {
  return readQuickAdd(input, timeZone, now).draft;
}

/** parseQuickAdd, and the parts it read, in the order they appear in the text. */
export function readQuickAdd(
  input: string,
  timeZone: string,
  now: Date,
): { draft: QuickAddDraft; parts: QuickAddPart[] } {
  const parts: (QuickAddPart & { at: number })[] = [];
  // Quoted text is set aside (a private-use placeholder no pattern matches) and put back, without
  // its quotes, in the title.
  const quoted: string[] = [];
  let text = ` ${input} `.replace(/"([^"]*)"/g, (_whole, inner: string) => {
    quoted.push(inner);
    return `\uE000${quoted.length - 1}\uE001`;
  });
  const source = (fragment: string) =>
    fragment.trim().replace(/\uE000(\d+)\uE001/g, (_whole, index: string) => `"${quoted[Number(index)]}"`);
  // `list:Work`, `list:"Side project"` (its quotes were set aside above): the list, out of the title.
  let list: string | null = null;
  const listMatch = LIST.exec(text);
  if (listMatch) {
    const name = (listMatch[1] !== undefined ? quoted[Number(listMatch[1])]! : listMatch[2]!).trim();
    if (name) {
      list = name;
      parts.push({ kind: "list", text: source(listMatch[0]), list: name, at: listMatch.index });
      text =
        text.slice(0, listMatch.index) +
        " ".repeat(listMatch[0].length) +
        text.slice(listMatch.index + listMatch[0].length);
    }
  }
  const tags: string[] = [];
  text = text.replace(TAG, (whole, tag: string, offset: number) => {
    if (!tags.some((t) => t.toLowerCase() === tag.toLowerCase())) tags.push(tag);
    parts.push({ kind: "tag", text: source(whole), tag, at: offset });
    return " ".repeat(whole.length);
  });
  let priority: Priority = "none";
  const p = PRIORITY.exec(text);
  if (p) {
    const level = p[1]!.toLowerCase();
    priority = level.startsWith("h") ? "high" : level.startsWith("m") ? "medium" : "low";
    parts.push({ kind: "priority", text: source(p[0]), priority, at: p.index });
    text = text.slice(0, p.index) + " ".repeat(p[0].length) + text.slice(p.index + p[0].length);
  }
  for (const unknown of text.matchAll(/(?:^|\s)(![\p{L}\p{N}]+)(?=\s|$)/gu))
    parts.push({ kind: "unknown-priority", text: unknown[1]!, at: unknown.index });
  const zonedNow = DateTime.fromJSDate(now, { zone: timeZone });
  // The repeat phrase first: "every monday at 5pm" is a rule, not "monday at 5pm".
  const repeat = parseRepeat(text, zonedNow);
  if (repeat) {
    const at = text.indexOf(repeat.match);
    parts.push({ kind: "repeat", text: source(repeat.match), recurrence: repeat.recurrence, at });
    text = text.slice(0, at) + " ".repeat(repeat.match.length) + text.slice(at + repeat.match.length);
  }
  const due = parseDue(text, zonedNow);
  if (due) {
    const at = text.indexOf(due.match);
    parts.push({ kind: "due", text: source(due.match), dueAt: due.dueAt.toJSDate(), at });
    text = text.slice(0, at) + " " + text.slice(at + due.match.length);
  }
  // A repeating task needs a due date: without a due phrase, the rule's first slot.
  const dueAt = due ? due.dueAt.toJSDate() : repeat ? repeat.first.toJSDate() : null;
  const title = text
    .replace(/\uE000(\d+)\uE001/g, (_whole, index: string) => quoted[Number(index)]!)
    .replace(/\s+/g, " ")
    .trim();
  return {
    draft: {
      title: title || input.trim(),
      tags,
      priority,
      dueAt,
      recurrence: repeat ? repeat.recurrence : null,
      list,
    },
    parts: parts.sort((a, b) => a.at - b.at).map(({ at: _at, ...part }) => part as QuickAddPart),
  };
}

/**
 * The input with one part kept as literal text: its words quoted, so quick add reads them as title
 * ("Meeting at 3pm" with the due part kept → `Meeting "at 3pm"`). What a preview chip's × does.
 */
export function keepLiteral(input: string, part: QuickAddPart): string {
  const at = input.indexOf(part.text);
  if (at < 0) return input;
  return `${input.slice(0, at)}"${part.text}"${input.slice(at + part.text.length)}`;
}
