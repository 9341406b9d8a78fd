// A Todoist project's CSV export → tasks Orbit can create, row by row, each with what could not be
// carried over. Pure: the clock and the user's zone come in; the web app previews the result and
// creates the tasks through the create command (web/app/lib/import.server.ts).
//
// The format is Todoist's CSV template, as documented in "Format a CSV file to import into
// Todoist" (https://todoist.com/help/articles/format-a-csv-file-to-import-into-todoist-UVUXTmm6,
// also "Import or export a project as a CSV file",
// https://todoist.com/help/articles/import-or-export-a-project-as-a-csv-file-in-todoist-YC8YvN):
// a header line naming the columns TYPE, CONTENT, DESCRIPTION, PRIORITY, INDENT, AUTHOR,
// RESPONSIBLE, DATE, DATE_LANG, TIMEZONE (newer exports add DURATION, DURATION_UNIT, DEADLINE,
// DEADLINE_LANG), then one row per task, section or note:
// - TYPE "task", "section" or "note" ("a comment to the task in the row above"); Todoist's exports
//   also write a "meta" row (the project's view style) and empty rows between sections, which hold
//   nothing to import and are passed over without a word.
// - CONTENT: the task's name, its labels written in it as @label.
// - PRIORITY: "Type 1 to add p1 to the task (highest priority) … Type 4 to add p4 to the task
//   (lowest priority)". The CSV uses the numbers people see in Todoist's apps (p1 = 1), NOT the
//   numbers of Todoist's REST and Sync APIs, where 4 is "very urgent" ("Keep in mind that very
//   urgent is the priority 1 on clients. So, p1 will return 4 in the API", Todoist's Sync API
//   reference as quoted in github.com/Doist/todoist-python/issues/18 and
//   github.com/sachaos/todoist/issues/49). So PRIORITY 1 (p1) is our high, 2 medium, 3 low, and 4
//   (p4, Todoist's "no priority") none. The article says an empty cell means p1; Todoist's own
//   exports always fill the cell, and reading a blank cell in a hand-made file as the highest
//   priority would surprise more than it helps, so a blank cell is no priority.
// - INDENT: 1 a top-level task, 2 a sub-task, 3 a sub-sub-task … A sub-task becomes a subtask of the
//   indent-1 task above it (`parentLine`); Orbit's subtasks go one level deep, so a deeper one is
//   flattened to a subtask of that same top-level task, and the report says so.
// - DATE: the due date as typed in Todoist, in natural language ("tomorrow", "every monday",
//   "Dec 12 2026 17:00"), read in TIMEZONE when it names a zone, else in the user's. Dates are read
//   here (ISO dates, "Dec 12", "12 December 2026 5pm", "every 15th") or by quick add
//   (readQuickAdd: "tomorrow 5pm", "next friday", "every weekday at 9:30am", "every 2 weeks");
//   Todoist's "every!" (counted from completion) is our anchor "completion". A date neither reads
//   is reported, and the task is imported without a due date, the date kept in its description.
//   A date without a time is due at 09:00, as in quick add.
// Columns Orbit has no field for (RESPONSIBLE, DURATION, DEADLINE) are reported per task; AUTHOR
// is the exporting user and is passed over.
import { DateTime } from "luxon";
import { firstLine, parseCsv, sniffDelimiter } from "./csv.ts";
import { readQuickAdd } from "./quick-add.ts";
import {
  createTaskSchema,
  isValidTimeZone,
  LIMITS,
  tagSchema,
  type Priority,
  type RecurrenceInput,
} from "./tasks.ts";

/** What one import may hold: a Todoist project is far smaller (Todoist allows 300 active tasks). */
export const TODOIST_IMPORT_LIMITS = {
  /** Bytes of the uploaded file. */
  bytes: 1_048_576,
  /** Rows after the header line. */
  rows: 1_000,
} as const;

/** The recurrence a row asks for, as POST /v1/tasks takes it. */
export type ImportRecurrence = Pick<
  RecurrenceInput,
  "pattern" | "interval" | "weekdays" | "month_week" | "anchor"
> &
  Partial<Pick<RecurrenceInput, "month_day" | "last_day_of_month">>;

/** A task as POST /v1/tasks takes it (JSON: the due date as RFC 3339). */
export interface ImportTaskInput {
  title: string;
  description: string;
  priority: Priority;
  due_at: string | null;
  /** Only when the row's TIMEZONE differs from the user's zone. */
  time_zone?: string;
  tags: string[];
  recurrence?: ImportRecurrence;
  /** Set when it is created: the list chosen for the import, or the parent's id for a subtask. */
  list_id?: string;
  parent_id?: string;
}

/** One row of the file and what becomes of it. `line` is the file's line the row starts on. */
export type ImportRow =
  /**
   * Created as a task; `notes` say what of the row it could not carry over. `parentLine`: a
   * sub-task, made a subtask of the task created from that line.
   */
  | { line: number; kind: "task"; input: ImportTaskInput; notes: string[]; parentLine?: number }
  /** A note, appended to the description of the task at `taskLine`. */
  | { line: number; kind: "comment"; taskLine: number; taskTitle: string }
  /** Not imported, and why. `text` is what the row holds (its CONTENT), to recognise it by. */
  | { line: number; kind: "skipped"; text: string; reason: string };

export type TodoistImport =
  | { ok: true; rows: ImportRow[] }
  /** The file as a whole cannot be read; `message` says why, for the file field. */
  | { ok: false; message: string };

export interface ImportClock {
  /** The user's zone: dates without a TIMEZONE are read in it. */
  timeZone: string;
  now: Date;
}

/** The upload's text: UTF-8 (a BOM is dropped by the CSV reader), or why it is not. */
export function decodeUpload(bytes: Uint8Array): { ok: true; text: string } | { ok: false; message: string } {
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return {
      ok: false,
      message: "The file is not UTF-8 text. Export it from Todoist again, or save it as “CSV UTF-8”.",
    };
  }
}

const REQUIRED_COLUMNS = ["TYPE", "CONTENT"] as const;

/** Reads a Todoist CSV export; `clock` dates its relative dates ("tomorrow"). */
export function readTodoistCsv(text: string, clock: ImportClock): TodoistImport {
  if (text.trim() === "") return { ok: false, message: "The file is empty." };
  const parsed = parseCsv(text, {
    delimiter: sniffDelimiter(firstLine(text)),
    maxRecords: TODOIST_IMPORT_LIMITS.rows + 1,
  });
  if (!parsed.ok) {
    return parsed.tooMany
      ? {
          ok: false,
          message: `The file has more than ${TODOIST_IMPORT_LIMITS.rows.toLocaleString("en")} rows: import at most ${TODOIST_IMPORT_LIMITS.rows.toLocaleString("en")} at a time, e.g. one Todoist project per file.`,
        }
      : { ok: false, message: `The file is not valid CSV: line ${parsed.line}: ${parsed.message}.` };
  }
  const [header, ...records] = parsed.records;
  const names = header!.fields.map((name) => name.trim().toUpperCase());
  const missing = REQUIRED_COLUMNS.filter((column) => !names.includes(column));
  if (missing.length > 0)
    return {
      ok: false,
      message: `This is not a Todoist CSV export: its first line must name the columns TYPE and CONTENT (it lacks ${missing.join(" and ")}).`,
    };
  const column = (fields: string[], name: string) => {
    const index = names.indexOf(name);
    return index < 0 ? "" : (fields[index] ?? "").trim();
  };

  const rows: ImportRow[] = [];
  /** The last task row, which a note belongs to; reset by a section. */
  let lastTask: Extract<ImportRow, { kind: "task" }> | null = null;
  /** The last task row that is not imported (its notes are not either). */
  let skippedTask: number | null = null;
  /** The lines of the tasks above at each indent level, to name a sub-task's parent. */
  const parents: number[] = [];
  for (const { line, fields } of records) {
    if (fields.every((field) => field.trim() === "")) continue;
    const type = column(fields, "TYPE").toLowerCase();
    const content = column(fields, "CONTENT");
    if (type === "meta") continue;
    if (type === "section") {
      lastTask = null;
      skippedTask = null;
      parents.length = 0;
      rows.push({
        line,
        kind: "skipped",
        text: content,
        reason: "A Todoist section: Orbit has no sections, so the tasks under it are imported without it.",
      });
      continue;
    }
    if (type === "note") {
      if (!lastTask) {
        const reason =
          skippedTask !== null
            ? `A comment on line ${skippedTask}'s task, which is not imported.`
            : "A comment with no task above it.";
        rows.push({ line, kind: "skipped", text: content, reason });
        continue;
      }
      if (content === "") continue;
      const added = appendText(lastTask.input.description, `Comment from Todoist: ${content}`);
      if (added === null) {
        rows.push({
          line,
          kind: "skipped",
          text: content,
          reason: `A comment that does not fit in the description of line ${lastTask.line}'s task (at most ${LIMITS.descriptionMax.toLocaleString("en")} characters).`,
        });
        continue;
      }
      lastTask.input.description = added;
      rows.push({ line, kind: "comment", taskLine: lastTask.line, taskTitle: lastTask.input.title });
      continue;
    }
    if (type !== "task") {
      rows.push({
        line,
        kind: "skipped",
        text: content,
        reason: type
          ? `TYPE “${column(fields, "TYPE")}” is none of task, section or note.`
          : "The row has no TYPE (task, section or note).",
      });
      continue;
    }
    const indent = readIndent(column(fields, "INDENT"));
    // Subtasks go one level deep: a sub-task, at any depth, goes under the top-level task above it.
    const topLine = indent.level > 1 ? parents[0] : undefined;
    const directParent = indent.level > 1 ? parents[indent.level - 2] : undefined;
    parents.length = Math.max(indent.level - 1, 0);
    parents[indent.level - 1] = line;
    const row = checked(taskRow(line, (name) => column(fields, name), clock));
    if (row.kind === "task") {
      if (indent.note) row.notes.push(indent.note);
      if (indent.level > 1 && topLine !== undefined) {
        row.parentLine = topLine;
        if (indent.level > 2)
          row.notes.push(
            `A sub-task ${indent.level - 1} levels deep in Todoist${directParent !== undefined ? ` (under line ${directParent})` : ""}: Orbit's subtasks go one level deep, so it is a subtask of line ${topLine}.`,
          );
      } else if (indent.level > 1)
        row.notes.push("A sub-task in Todoist with no task above it: imported as a task of its own.");
      lastTask = row;
    } else {
      lastTask = null;
      skippedTask = line;
    }
    rows.push(row);
  }
  return { ok: true, rows };
}

/**
 * A task row the create command's own schema accepts, or the reason it would refuse it: reported
 * in the preview, before anything is created.
 */
function checked(row: TaskRowResult): TaskRowResult {
  if (row.kind !== "task") return row;
  const result = createTaskSchema.safeParse(row.input);
  if (result.success) return row;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? `${issue.path.join(".")} ` : "";
  return {
    line: row.line,
    kind: "skipped",
    text: row.input.title,
    reason: `The task's ${field}${issue.message}.`,
  };
}

function readIndent(value: string): { level: number; note: string | null } {
  if (value === "") return { level: 1, note: null };
  const level = Number(value);
  if (Number.isInteger(level) && level >= 1 && level <= 10) return { level, note: null };
  return { level: 1, note: `INDENT “${value}” is no level 1–4: imported as a top-level task.` };
}

/** Todoist's PRIORITY (1 = p1, the highest) as ours; see the file's header for the source. */
export const TODOIST_PRIORITIES: Record<string, Priority> = {
  "1": "high",
  "2": "medium",
  "3": "low",
  "4": "none",
};

const LABEL = /(^|\s)@([^\s@]+)/gu;

type TaskRowResult = Extract<ImportRow, { kind: "task" } | { kind: "skipped" }>;

function taskRow(line: number, column: (name: string) => string, clock: ImportClock): TaskRowResult {
  const notes: string[] = [];
  const content = column("CONTENT");

  // Labels → tags. A label Orbit cannot take as a tag stays in the title, so nothing is lost.
  const tags: string[] = [];
  const refused: string[] = [];
  const beyond: string[] = [];
  const title = content
    .replace(LABEL, (whole, lead: string, label: string) => {
      if (!tagSchema.safeParse(label).success) {
        refused.push(`@${label}`);
        return whole;
      }
      if (tags.some((tag) => tag.toLowerCase() === label.toLowerCase())) return lead;
      if (tags.length >= LIMITS.tagsPerTask) {
        beyond.push(`@${label}`);
        return lead;
      }
      tags.push(label);
      return lead;
    })
    .replace(/\s+/g, " ")
    .trim();
  if (refused.length > 0)
    notes.push(
      `${plural(refused.length, "Label")} ${refused.join(", ")} ${refused.length === 1 ? "is" : "are"} no Orbit tag (letters, digits and - _ / . only, at most ${LIMITS.tagMax} characters): kept in the title.`,
    );
  if (beyond.length > 0)
    notes.push(`A task has at most ${LIMITS.tagsPerTask} tags: ${beyond.join(", ")} not imported.`);
  if (title === "")
    return {
      line,
      kind: "skipped",
      text: content,
      reason:
        content === "" ? "The task has no CONTENT (its name)." : "The task's CONTENT holds only labels.",
    };

  let description = column("DESCRIPTION");
  let shortTitle = title;
  if (title.length > LIMITS.titleMax) {
    shortTitle = truncate(title, LIMITS.titleMax);
    description = appendText(`Full title: ${title}`, description) ?? description;
    notes.push(
      `The name is longer than ${LIMITS.titleMax} characters: shortened, the full name is in the description.`,
    );
  }

  const priorityText = column("PRIORITY");
  let priority: Priority = "none";
  if (priorityText !== "") {
    const mapped = TODOIST_PRIORITIES[priorityText];
    if (mapped) priority = mapped;
    else notes.push(`PRIORITY “${priorityText}” is none of 1–4: imported without a priority.`);
  }

  let zone = clock.timeZone;
  const zoneText = column("TIMEZONE");
  let dueAt: Date | null = null;
  let recurrence: ImportRecurrence | undefined;
  const dateText = column("DATE");
  if (dateText !== "") {
    if (zoneText !== "" && isValidTimeZone(zoneText)) zone = zoneText;
    else if (zoneText !== "")
      notes.push(
        `TIMEZONE “${zoneText}” is no time zone Orbit knows: the date is read in ${clock.timeZone}.`,
      );
    const date = readTodoistDate(dateText, zone, clock.now);
    if (date.ok) {
      dueAt = date.dueAt;
      if (date.recurrence) recurrence = date.recurrence;
    } else {
      const lang = column("DATE_LANG").toLowerCase();
      const language =
        lang !== "" && lang !== "en" ? ` (Orbit reads English dates; this one is “${lang}”)` : "";
      notes.push(
        `DATE “${dateText}” is not a date Orbit can read${language}: imported without a due date, the date is in the description.`,
      );
      description = appendText(description, `Todoist date: ${dateText}`) ?? description;
    }
  }

  const responsible = column("RESPONSIBLE");
  if (responsible !== "")
    notes.push(`Assigned to ${responsible} in Todoist: Orbit has no assignees, so this is not imported.`);
  const duration = column("DURATION");
  if (duration !== "") {
    const unit = column("DURATION_UNIT");
    const amount = unit && Number(duration) !== 1 && !unit.endsWith("s") ? `${unit}s` : unit;
    notes.push(
      `A duration of ${[duration, amount].filter(Boolean).join(" ")}: Orbit has no durations, so this is not imported.`,
    );
  }
  const deadline = column("DEADLINE");
  if (deadline !== "") {
    notes.push(
      `Deadline “${deadline}”: Orbit has no deadlines besides the due date; it is in the description.`,
    );
    description = appendText(description, `Todoist deadline: ${deadline}`) ?? description;
  }
  if (description.length > LIMITS.descriptionMax) {
    description = truncate(description, LIMITS.descriptionMax);
    notes.push(
      `The description is longer than ${LIMITS.descriptionMax.toLocaleString("en")} characters: shortened.`,
    );
  }

  const input: ImportTaskInput = {
    title: shortTitle,
    description,
    priority,
    due_at: dueAt ? dueAt.toISOString() : null,
    tags,
  };
  if (dueAt && zone !== clock.timeZone) input.time_zone = zone;
  if (recurrence) input.recurrence = recurrence;
  return { line, kind: "task", input, notes };
}

/** `text` after `base` on a paragraph of its own; null when the result would be too long. */
function appendText(base: string, text: string): string | null {
  const joined = base === "" ? text : text === "" ? base : `${base}\n\n${text}`;
  return joined.length > LIMITS.descriptionMax ? null : joined;
}

/** At most `max` UTF-16 units, never splitting a surrogate pair. */
function truncate(text: string, max: number): string {
  let cut = text.slice(0, max);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut;
}

const plural = (count: number, word: string) => (count === 1 ? word : `${word}s`);

// ───── DATE ─────

export type TodoistDate =
  { ok: true; dueAt: Date; recurrence: ImportRecurrence | null } | { ok: false; reason: string };

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const MONTH = String.raw`(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?`;
const TIME = String.raw`(?:,?\s+(?:at\s+|@\s*)?(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?`;
const WEEKDAY_PREFIX = String.raw`(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?`;
const DAY = String.raw`(\d{1,2})(?:st|nd|rd|th)?`;

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i;
const MONTH_FIRST = new RegExp(String.raw`^${WEEKDAY_PREFIX}${MONTH}\s+${DAY}(?:,?\s+(\d{4}))?${TIME}$`, "i");
const DAY_FIRST = new RegExp(String.raw`^${WEEKDAY_PREFIX}${DAY}\s+${MONTH}(?:,?\s+(\d{4}))?${TIME}$`, "i");
const MONTH_DAY_RULE = new RegExp(
  String.raw`^every(!?)\s+(?:(\d{1,2})(?:st|nd|rd|th)?|(last\s+day))(?:\s+of\s+the\s+month)?${TIME}$`,
  "i",
);

/**
 * A Todoist DATE read in `zone` at `now`: a due instant, and the rule when it repeats. See the
 * file's header for what is read.
 */
export function readTodoistDate(text: string, zone: string, now: Date): TodoistDate {
  const date = text.trim().replace(/\s+/g, " ");
  const zonedNow = DateTime.fromJSDate(now, { zone });

  const iso = ISO_DATE.exec(date);
  if (iso) {
    const [, y, mo, d, h, mi, s, offset] = iso;
    const fields = {
      year: +y!,
      month: +mo!,
      day: +d!,
      hour: h ? +h : 9,
      minute: mi ? +mi : 0,
      second: s ? +s : 0,
    };
    const at = offset
      ? DateTime.fromObject(fields, {
          zone: `UTC${offset === "Z" || offset === "z" ? "" : offset.replace(/^([+-]\d{2})(\d{2})$/, "$1:$2")}`,
        })
      : DateTime.fromObject(fields, { zone });
    return at.isValid ? { ok: true, dueAt: at.toJSDate(), recurrence: null } : noSuchDate(date);
  }

  const named = MONTH_FIRST.exec(date) ?? DAY_FIRST.exec(date);
  if (named) {
    const monthFirst = MONTH_FIRST.test(date);
    const [monthWord, dayText] = monthFirst ? [named[1]!, named[2]!] : [named[2]!, named[1]!];
    const time = clockOf(named[4], named[5], named[6]);
    if (!time) return { ok: false, reason: "its time is not a time of day" };
    const month = MONTHS[monthWord.toLowerCase().slice(0, 3)]!;
    const day = Number(dayText);
    if (named[3]) {
      const at = DateTime.fromObject({ year: +named[3], month, day, ...time }, { zone });
      return at.isValid ? { ok: true, dueAt: at.toJSDate(), recurrence: null } : noSuchDate(date);
    }
    // No year: the next such day, today included (Todoist reads "Dec 12" so).
    const today = zonedNow.startOf("day");
    for (let ahead = 0; ahead <= 8; ahead++) {
      const at = DateTime.fromObject({ year: today.year + ahead, month, day, ...time }, { zone });
      if (at.isValid && at.startOf("day") >= today)
        return { ok: true, dueAt: at.toJSDate(), recurrence: null };
    }
    return noSuchDate(date);
  }

  const monthly = MONTH_DAY_RULE.exec(date);
  if (monthly) {
    const time = clockOf(monthly[4], monthly[5], monthly[6]);
    const day = monthly[2] ? Number(monthly[2]) : null;
    if (!time || (day !== null && (day < 1 || day > 31))) return { ok: false, reason: "no day of the month" };
    // The first such day from today on (today only while its time is ahead); a 31st is a short
    // month's last day, as the recurrence engine counts it.
    let month = zonedNow.startOf("month");
    for (let i = 0; i < 3; i++, month = month.plus({ months: 1 })) {
      const at = month.set({
        day: day === null ? month.daysInMonth! : Math.min(day, month.daysInMonth!),
        ...time,
      });
      if (at > zonedNow)
        return {
          ok: true,
          dueAt: at.toJSDate(),
          recurrence: {
            pattern: "monthly",
            interval: 1,
            weekdays: [],
            month_week: null,
            month_day: day,
            last_day_of_month: day === null,
            anchor: monthly[1] ? "completion" : "schedule",
          },
        };
    }
  }

  // Quick add's phrases, when they are all the DATE says. Todoist's "every!" counts from completion.
  const fromCompletion = /^every!/i.test(date);
  const phrase = fromCompletion ? date.replace(/^every!/i, "every") : date;
  const { draft, parts } = readQuickAdd(phrase, zone, now);
  let rest = ` ${phrase} `;
  for (const part of parts) {
    if (part.kind !== "due" && part.kind !== "repeat") return { ok: false, reason: "not a date" };
    rest = rest.replace(part.text, " ");
  }
  if (parts.length === 0 || rest.trim() !== "" || !draft.dueAt) return { ok: false, reason: "not a date" };
  return {
    ok: true,
    dueAt: draft.dueAt,
    recurrence: draft.recurrence
      ? { ...draft.recurrence, anchor: fromCompletion ? "completion" : "schedule" }
      : null,
  };
}

function noSuchDate(date: string): TodoistDate {
  return { ok: false, reason: `there is no such day as ${date}` };
}

/** 09:00 when no time is given; null for a time that is none, or a bare hour (ambiguous). */
function clockOf(hourText: string | undefined, minuteText: string | undefined, meridiem: string | undefined) {
  if (hourText === undefined) return { hour: 9, minute: 0 };
  let hour = Number(hourText);
  const minute = minuteText === undefined ? 0 : Number(minuteText);
  if (minute > 59) return null;
  if (meridiem) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem.toLowerCase().startsWith("p") ? 12 : 0);
  } else if (minuteText === undefined || hour > 23) return null;
  return { hour, minute };
}
