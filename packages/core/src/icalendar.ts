// A user's dated tasks as an iCalendar feed (RFC 5545) that calendar apps subscribe to. Pure: the
// tasks and the clock come in as arguments, the text goes out.
//
// Two flavours of one feed, because the apps disagree on what they show from a subscription:
// - "events" (the default): a VEVENT per dated task, which Google Calendar, Apple Calendar and
//   Thunderbird all show. A task is a moment, not a meeting: DTSTART is the due time with no DTEND
//   (RFC 5545 §3.6.1: it ends when it starts), TRANSP:TRANSPARENT so it never marks the user busy.
//   VEVENT has no "completed": a task done in the last days stays, its SUMMARY starting "✓ ".
// - "todos": a VTODO per dated task (DUE, STATUS NEEDS-ACTION or COMPLETED with COMPLETED and
//   PERCENT-COMPLETE), for apps with a task list (Thunderbird's Tasks). No recurring VTODO: a
//   recurring to-do repeats DTSTART (RFC 5545 §3.8.2.4), and DUE must be later than DTSTART
//   (§3.8.2.3), so future occurrences would be to-dos starting and due at once, or phantom items
//   in a list of things to do; the to-do list shows the occurrence that exists, and its text says
//   how it repeats.
//
// A repeating task. An occurrence is a task of its own (Orbit creates the next when one is done),
// so a series on schedule is two items: the current occurrence as it is (its own due date, which
// may have been moved by hand off the rule's grid) and one recurring VEVENT for the dates still to
// come, from the next date the engine (recurrence.ts) would create, with the RRULE that gives the
// engine's dates. Its DTSTART is always a slot of the rule, so RRULE and DTSTART agree (§3.8.5.3).
// Its UID is the series' own; SEQUENCE grows as the series moves on or its rule changes.
// - Time zones: calendar slots keep their local wall time (09:00 stays 09:00 across DST), so the
//   recurring VEVENT's DTSTART is a local time with the series' TZID and a VTIMEZONE generated
//   here from the same zone data the engine uses (Luxon/ICU): explicit transitions for the first
//   two years, then the zone's yearly rule (see "VTIMEZONE" below). A UTC DTSTART with an RRULE would drift by the DST change for half the year.
//   Apps that know IANA names (Google, Apple, Thunderbird) use the TZID; the VTIMEZONE keeps the
//   feed correct for anything that reads only the file (ical.js in our tests). A local time that a
//   spring-forward gap swallows is read forward by the gap (§3.3.5), as the engine does.
//   Hourly series are elapsed time (8 hours apart across DST), so their DTSTART is UTC.
// - Everything else (due dates, alarms, stamps, UNTIL) is UTC.
// - "Monthly on the 31st" clamps to short months in Orbit; RFC 5545 skips them. The 31st clamped
//   is the month's last day, BYMONTHDAY=-1, and a yearly Feb 29 is BYMONTH=2;BYMONTHDAY=-1; the
//   29th and 30th are "the last of the 28th … 30th the month has": BYMONTHDAY=28,29,30;BYSETPOS=-1.
// - COUNT is the occurrences left (max_count less those created); UNTIL is ends_at. RFC 5545
//   forbids both in one rule, so with both the one that ends the series first is given.
// - A series counted from completion has no RRULE equivalent (the next date depends on when the
//   current one is done): only the current occurrence is in the feed, its DESCRIPTION saying
//   "Repeats: … from completion: the next date is set when this one is done."
// Reminders are VALARMs (ACTION:DISPLAY): an offset is a TRIGGER relative to the due time (for a
// VTODO, which has DUE and no DTSTART, RELATED=END); an absolute one is a DATE-TIME TRIGGER, and on
// the recurring VEVENT the same distance before each date (as the next occurrence carries it:
// carriedReminders). Completed tasks carry none.
import { DateTime, IANAZone } from "luxon";
import { describeRecurrence, nextOccurrence, type RecurrenceRule } from "./recurrence.ts";
import type { Priority } from "./tasks.ts";

export type CalendarFlavour = "events" | "todos";

export interface CalendarTask {
  id: string;
  title: string;
  description: string;
  status: "pending" | "completed";
  priority: Priority;
  dueAt: Date;
  tags: string[];
  /** The name of the task's list: the first of its CATEGORIES, before its tags. */
  list: string | null;
  reminders: { offsetMinutes: number | null; remindAt: Date | null }[];
  completedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Every write increments it: SEQUENCE is version - 1. */
  version: number;
  /** Where the task opens in Orbit, if known. */
  url: string | null;
  /** The series this task is an occurrence of, if any. */
  series: CalendarSeries | null;
}

export interface CalendarSeries {
  id: string;
  rule: RecurrenceRule;
  active: boolean;
  /** Occurrences created so far: the latest occurrence's index. */
  occurrencesCreated: number;
  /** This task's place in the series (1 = the first). */
  occurrenceIndex: number | null;
  version: number;
  updatedAt: Date;
}

export interface CalendarFeed {
  flavour: CalendarFlavour;
  tasks: CalendarTask[];
  now: Date;
  /** The calendar's name in the app (NAME, X-WR-CALNAME). */
  name: string;
}

/** Orbit's product identifier (PRODID, RFC 5545 §3.7.3). */
export const PRODID = "-//Orbit//Orbit task feed 1.0//EN";
/** How often apps are asked to refetch (REFRESH-INTERVAL, RFC 7986; X-PUBLISHED-TTL for Apple and Outlook). */
export const REFRESH_INTERVAL = "PT1H";
/** The prefix of a completed task's SUMMARY in the events flavour. */
export const DONE_MARK = "✓ ";

const MINUTE = 60_000;
const DAY = 86_400_000;
const RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
const PRIORITY: Record<Priority, number | null> = { high: 1, medium: 5, low: 9, none: null };

// ───── Content lines ─────

/** C0 controls but tab and line feed, and DEL: not allowed in TEXT. */
const isControl = (char: string) => {
  const code = char.charCodeAt(0);
  return (code < 0x20 && char !== "\t" && char !== "\n") || code === 0x7f;
};

/**
 * TEXT escaping (§3.3.11): backslash, semicolon and comma are escaped, every line break becomes
 * "\n". Control characters other than tab are not allowed in TEXT and are dropped.
 */
export function escapeText(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, "\n")
    .replace(/[^ -~]/g, (char) => (isControl(char) ? "" : char))
    .replace(/[\\;,\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/**
 * A content line folded to at most 75 octets of UTF-8 per line (§3.1): each continuation line
 * starts with one space, and no character's bytes are split across lines.
 */
export function foldLine(line: string): string {
  // ASCII only (most lines): one octet per character.
  if (line.length <= 75 && !/[^\x20-\x7e]/.test(line)) return line;
  const parts: string[] = [];
  let current = "";
  let octets = 0;
  let limit = 75;
  for (const char of line) {
    const size = utf8Length(char.codePointAt(0)!);
    if (octets + size > limit) {
      parts.push(current);
      current = "";
      octets = 0;
      limit = 74; // the leading space is one of the line's 75
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join("\r\n ");
}

/** Octets of one code point in UTF-8 (a lone surrogate is written as U+FFFD: three). */
const utf8Length = (code: number) => (code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4);

/** A UTC DATE-TIME (§3.3.5, form #2), to the second. */
export function utcDateTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/[-:]/g, "") + "Z";
}

/** A DURATION (§3.3.6) of whole seconds, e.g. -PT15M, -P1DT2H, PT0S. */
export function duration(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  let rest = Math.abs(Math.trunc(seconds));
  if (rest === 0) return "PT0S";
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const time = (hours ? `${hours}H` : "") + (minutes ? `${minutes}M` : "") + (secs ? `${secs}S` : "");
  return `${sign}P${days ? `${days}D` : ""}${time ? `T${time}` : ""}`;
}

// ───── RRULE ─────

/**
 * "The d-th, or the month's last day when it is shorter", as RFC 5545 can say it. The 31st is
 * every month's last day (BYMONTHDAY=-1); the 29th and 30th are the last of the 28th … d-th the
 * month has (BYSETPOS=-1). ical.js (and so Thunderbird) applies BYSETPOS only beside BYDAY, so it
 * shows every one of the 28th … 30th for those two: the plain -1 is used wherever it is exact.
 */
function clampedMonthDay(day: number): string {
  if (day <= 28) return `BYMONTHDAY=${day}`;
  if (day === 31) return "BYMONTHDAY=-1";
  const days = Array.from({ length: day - 27 }, (_, i) => 28 + i);
  return `BYMONTHDAY=${days.join(",")};BYSETPOS=-1`;
}

/**
 * The RRULE value (without COUNT/UNTIL) whose dates, from a DTSTART on one of the rule's slots,
 * are the engine's (recurrence.ts) for a series on schedule.
 */
export function rruleOf(rule: RecurrenceRule): string {
  const start = DateTime.fromJSDate(rule.startsAt, { zone: rule.timeZone });
  const interval = rule.interval > 1 ? `;INTERVAL=${rule.interval}` : "";
  switch (rule.pattern) {
    case "hourly":
      return `FREQ=HOURLY${interval}`;
    case "daily":
      return `FREQ=DAILY${interval}`;
    case "weekly": {
      const days =
        rule.weekdays.length > 0 ? [...new Set(rule.weekdays)].sort((a, b) => a - b) : [start.weekday];
      return `FREQ=WEEKLY${interval};BYDAY=${days.map((d) => RRULE_DAYS[d - 1]).join(",")};WKST=MO`;
    }
    case "monthly": {
      const week = rule.monthWeek ?? null;
      if (week !== null) return `FREQ=MONTHLY${interval};BYDAY=${week}${RRULE_DAYS[rule.weekdays[0]! - 1]}`;
      if (rule.lastDayOfMonth) return `FREQ=MONTHLY${interval};BYMONTHDAY=-1`;
      return `FREQ=MONTHLY${interval};${clampedMonthDay(rule.monthDay ?? start.day)}`;
    }
    case "yearly":
      // Only Feb 29 needs clamping (the series' own month has its day): Feb's last day.
      return `FREQ=YEARLY${interval};BYMONTH=${start.month};BYMONTHDAY=${
        start.month === 2 && start.day === 29 ? -1 : start.day
      }`;
  }
}

/** The series still to come after `task`, or null when there is none to show. */
interface Upcoming {
  /** The next occurrence's due instant: the recurring item's first date. */
  first: Date;
  /** DTSTART: a local wall time in the series' zone (TZID), or UTC for hourly and UTC series. */
  dtstart: { tzid: string | null; value: string };
  rrule: string;
}

function upcoming(task: CalendarTask, now: Date): Upcoming | null {
  const series = task.series;
  if (!series || !series.active || task.status !== "pending") return null;
  const rule = series.rule;
  if (rule.anchor !== "schedule") return null;
  // Only the latest occurrence moves the series on (tasks/recurrence.ts).
  if (series.occurrenceIndex === null || series.occurrenceIndex < series.occurrencesCreated) return null;
  const first = nextOccurrence(rule, {
    previousDue: task.dueAt,
    completedAt: null,
    now,
    occurrencesSoFar: series.occurrencesCreated,
  });
  if (!first) return null;
  let end = "";
  const left = rule.maxCount === null ? null : rule.maxCount - series.occurrencesCreated;
  if (left !== null && rule.endsAt !== null) {
    // Both bounds: RFC 5545 allows one. COUNT when the count runs out first, else UNTIL.
    let due: Date | null = first;
    let created = series.occurrencesCreated + 1;
    for (let n = 1; n < left && due !== null; n++, created++)
      due = nextOccurrence(rule, {
        previousDue: due,
        completedAt: null,
        now: due,
        occurrencesSoFar: created,
      });
    end = due !== null ? `;COUNT=${left}` : `;UNTIL=${utcDateTime(rule.endsAt)}`;
  } else if (left !== null) end = `;COUNT=${left}`;
  else if (rule.endsAt !== null) end = `;UNTIL=${utcDateTime(rule.endsAt)}`;
  return { first, dtstart: seriesStart(rule, first), rrule: rruleOf(rule) + end };
}

const isUtcZone = (zone: string) =>
  ["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Etc/Zulu"].includes(zone);

/** The recurring item's DTSTART: the slot's local date at the series' local time of day. */
function seriesStart(rule: RecurrenceRule, slot: Date): Upcoming["dtstart"] {
  if (rule.pattern === "hourly" || isUtcZone(rule.timeZone)) return { tzid: null, value: utcDateTime(slot) };
  const day = DateTime.fromJSDate(slot, { zone: rule.timeZone });
  const time = DateTime.fromJSDate(rule.startsAt, { zone: rule.timeZone });
  return { tzid: rule.timeZone, value: `${day.toFormat("yyyyMMdd")}T${time.toFormat("HHmmss")}` };
}

// ───── VTIMEZONE ─────
//
// Zone rules in tzdata are "the last Sunday of the month" or "the first Sunday on or after the
// Nth" at a fixed time, so a zone's future is told by finding its transitions for 28 years (the
// calendar's full cycle, in which such a rule lands on each of its seven possible dates) and
// checking that each year's are the same rule: BYDAY=-1SU, or BYMONTHDAY=N..N+6 with BYDAY=SU
// (written 1SU … 4SU when N is 1, 8, 15 or 22). A zone whose transitions follow no such rule
// (Morocco's around Ramadan) gets its transitions written out for 60 years instead.

interface Transition {
  at: number;
  /** Offsets in minutes before and after. */
  from: number;
  to: number;
}

/** How far apart the search looks: no zone changes its offset twice within a week after 2000. */
const STEP = 7 * DAY;

/** Offset changes of `zone` in [startMs, endMs), pinned to the millisecond. */
function transitions(zone: IANAZone, startMs: number, endMs: number): Transition[] {
  const out: Transition[] = [];
  let previous = startMs;
  let offset = zone.offset(startMs);
  while (previous < endMs) {
    const next = Math.min(previous + STEP, endMs);
    if (zone.offset(next) !== offset) {
      let lo = previous;
      let hi = next;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (zone.offset(mid) === offset) lo = mid;
        else hi = mid;
      }
      const to = zone.offset(hi);
      out.push({ at: hi, from: offset, to });
      offset = to;
      previous = hi;
    } else previous = next;
  }
  return out;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");
/** A UTC offset as +HHMM (§3.3.14). */
function utcOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}
/** Epoch ms of a wall time (written as if UTC) as a local DATE-TIME. */
function wall(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, "");
}

function isDaylight(zone: IANAZone, at: number, offset: number): boolean {
  const year = new Date(at).getUTCFullYear();
  return offset > Math.min(zone.offset(Date.UTC(year, 0, 1)), zone.offset(Date.UTC(year, 6, 1)));
}

/** Where a transition falls on the wall clock it leaves. */
function wallOf(t: Transition) {
  const local = new Date(t.at + t.from * MINUTE);
  const day = local.getUTCDate();
  const length = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 0)).getUTCDate();
  return {
    key: `${local.getUTCMonth() + 1} ${local.getUTCDay()} ${wall(local.getTime()).slice(9)} ${t.from} ${t.to}`,
    month: local.getUTCMonth() + 1,
    weekday: RRULE_DAYS[(local.getUTCDay() + 6) % 7]!,
    day,
    last: day + 7 > length,
  };
}

/** The yearly RRULE of the i-th transition of every year in `years`, or null if there is none. */
function yearlyRule(years: Transition[][], i: number): string | null {
  const walls = years.map((year) => wallOf(year[i]!));
  const first = walls[0]!;
  if (walls.some((w) => w.key !== first.key)) return null;
  const base = `FREQ=YEARLY;BYMONTH=${first.month}`;
  const days = walls.map((w) => w.day);
  const low = Math.min(...days);
  const high = Math.max(...days);
  if (low === high) return `${base};BYMONTHDAY=${low}`; // a fixed date (not on a weekday)
  if (high - low > 6) return null;
  if (walls.every((w) => w.last)) return `${base};BYDAY=-1${first.weekday}`;
  // Seen on all seven dates of its window [low, low + 6]: "on or after the low-th".
  if (new Set(days).size === 7) {
    if ((low - 1) % 7 === 0) return `${base};BYDAY=${(low + 6) / 7}${first.weekday}`;
    const window = Array.from({ length: 7 }, (_, k) => low + k).join(",");
    return `${base};BYDAY=${first.weekday};BYMONTHDAY=${window}`;
  }
  return null;
}

const yearStart = (year: number) => Date.UTC(year, 0, 1) - DAY;
/** The calendar repeats every 28 years (Gregorian exceptions aside): every date-weekday pairing. */
const CYCLE_YEARS = 28;
const EXPLICIT_YEARS = 60;
const zoneCache = new Map<string, string[]>();

/**
 * The VTIMEZONE lines for `zone` valid from `fromYear` on: an observance for the offset at the
 * start of that year, its transitions and the next year's, then the zone's yearly rule (when its
 * transitions over the following 28 years keep one) or 60 years of transitions written out.
 */
export function vtimezone(zoneName: string, fromYear: number): string[] {
  const key = `${zoneName}@${fromYear}`;
  const cached = zoneCache.get(key);
  if (cached) return cached;
  const zone = IANAZone.create(zoneName);
  if (!zone.isValid) throw new RangeError(`"${zoneName}" is not an IANA zone`);
  const lines = ["BEGIN:VTIMEZONE", `TZID:${zoneName}`];
  const observance = (t: Transition, rrule?: string) => {
    const kind = isDaylight(zone, t.at, t.to) ? "DAYLIGHT" : "STANDARD";
    lines.push(
      `BEGIN:${kind}`,
      `DTSTART:${wall(t.at + t.from * MINUTE)}`,
      `TZOFFSETFROM:${utcOffset(t.from)}`,
      `TZOFFSETTO:${utcOffset(t.to)}`,
    );
    if (rrule) lines.push(`RRULE:${rrule}`);
    lines.push(`END:${kind}`);
  };
  const begin = yearStart(fromYear);
  const offset = zone.offset(begin);
  observance({ at: begin, from: offset, to: offset });
  transitions(zone, begin, yearStart(fromYear + 2)).forEach((t) => observance(t));
  const tailStart = fromYear + 2;
  const years = Array.from({ length: CYCLE_YEARS }, (_, i) =>
    transitions(zone, yearStart(tailStart + i), yearStart(tailStart + i + 1)),
  );
  const count = years[0]!.length;
  const rules = years.every((year) => year.length === count)
    ? years[0]!.map((_, i) => yearlyRule(years, i))
    : [null];
  if (rules.every((rule) => rule !== null)) years[0]!.forEach((t, i) => observance(t, rules[i]!));
  else
    transitions(zone, yearStart(tailStart), yearStart(tailStart + EXPLICIT_YEARS)).forEach((t) =>
      observance(t),
    );
  lines.push("END:VTIMEZONE");
  if (zoneCache.size > 1000) zoneCache.clear();
  zoneCache.set(key, lines);
  return lines;
}

// ───── The calendar ─────

function alarmLines(task: CalendarTask, flavour: CalendarFlavour, relativeOnly: boolean): string[] {
  if (task.status !== "pending") return [];
  const lines: string[] = [];
  for (const reminder of task.reminders) {
    let trigger: string;
    if (reminder.offsetMinutes !== null) {
      const related = flavour === "todos" ? ";RELATED=END" : "";
      trigger = `TRIGGER${related}:${duration(-reminder.offsetMinutes * 60)}`;
    } else if (reminder.remindAt !== null) {
      if (relativeOnly) {
        const seconds = Math.round((reminder.remindAt.getTime() - task.dueAt.getTime()) / 1000);
        trigger = `TRIGGER:${duration(seconds)}`;
      } else trigger = `TRIGGER;VALUE=DATE-TIME:${utcDateTime(reminder.remindAt)}`;
    } else continue;
    lines.push(
      "BEGIN:VALARM",
      "ACTION:DISPLAY",
      `DESCRIPTION:${escapeText(task.title)}`,
      trigger,
      "END:VALARM",
    );
  }
  return lines;
}

function repeatsNote(series: CalendarSeries): string {
  if (!series.active) return "";
  const rule = series.rule;
  const what = describeRecurrence(rule);
  return rule.anchor === "completion"
    ? `Repeats: ${what}, from completion: the next date is set when this one is done.`
    : `Repeats: ${what}.`;
}

function commonLines(task: CalendarTask, summary: string, note: string): string[] {
  const lines: string[] = [`SUMMARY:${escapeText(summary)}`];
  const description = [task.description.trim(), note].filter(Boolean).join("\n\n");
  if (description) lines.push(`DESCRIPTION:${escapeText(description)}`);
  if (task.url) lines.push(`URL:${task.url}`);
  const categories = [...(task.list ? [task.list] : []), ...task.tags];
  if (categories.length) lines.push(`CATEGORIES:${categories.map(escapeText).join(",")}`);
  const priority = PRIORITY[task.priority];
  if (priority !== null) lines.push(`PRIORITY:${priority}`);
  return lines;
}

/** A task's own item: a VEVENT or a VTODO. */
function taskLines(task: CalendarTask, flavour: CalendarFlavour): string[] {
  const note = task.series ? repeatsNote(task.series) : "";
  const done = task.status === "completed";
  const head = [
    `UID:${task.id}@orbit`,
    `DTSTAMP:${utcDateTime(task.updatedAt)}`,
    `CREATED:${utcDateTime(task.createdAt)}`,
    `LAST-MODIFIED:${utcDateTime(task.updatedAt)}`,
    `SEQUENCE:${Math.max(0, task.version - 1)}`,
  ];
  if (flavour === "events") {
    return [
      "BEGIN:VEVENT",
      ...head,
      ...commonLines(task, done ? DONE_MARK + task.title : task.title, note),
      `DTSTART:${utcDateTime(task.dueAt)}`,
      "TRANSP:TRANSPARENT",
      "STATUS:CONFIRMED",
      ...alarmLines(task, flavour, false),
      "END:VEVENT",
    ];
  }
  return [
    "BEGIN:VTODO",
    ...head,
    ...commonLines(task, task.title, note),
    `DUE:${utcDateTime(task.dueAt)}`,
    ...(done
      ? [
          "STATUS:COMPLETED",
          `COMPLETED:${utcDateTime(task.completedAt ?? task.updatedAt)}`,
          "PERCENT-COMPLETE:100",
        ]
      : ["STATUS:NEEDS-ACTION"]),
    ...alarmLines(task, flavour, false),
    "END:VTODO",
  ];
}

/** The recurring VEVENT of a series' dates still to come. */
function seriesLines(task: CalendarTask, next: Upcoming): string[] {
  const series = task.series!;
  const stamp = new Date(Math.max(task.updatedAt.getTime(), series.updatedAt.getTime()));
  const start = next.dtstart.tzid ? `DTSTART;TZID=${next.dtstart.tzid}:` : "DTSTART:";
  return [
    "BEGIN:VEVENT",
    `UID:series-${series.id}@orbit`,
    `DTSTAMP:${utcDateTime(stamp)}`,
    `LAST-MODIFIED:${utcDateTime(stamp)}`,
    // Grows when an occurrence is created (DTSTART moves on) and when the rule is changed.
    `SEQUENCE:${series.occurrencesCreated - 1 + series.version - 1}`,
    ...commonLines(task, task.title, repeatsNote(series)),
    start + next.dtstart.value,
    `RRULE:${next.rrule}`,
    "TRANSP:TRANSPARENT",
    "STATUS:CONFIRMED",
    ...alarmLines(task, "events", true),
    "END:VEVENT",
  ];
}

/** The feed as iCalendar text: CRLF line ends, every line folded to 75 octets. */
export function renderCalendar(feed: CalendarFeed): string {
  const body: string[] = [];
  /** Each zone a recurring item names, with the earliest year it is needed from. */
  const zones = new Map<string, number>();
  for (const task of feed.tasks) {
    body.push(...taskLines(task, feed.flavour));
    if (feed.flavour !== "events") continue;
    const next = upcoming(task, feed.now);
    if (!next) continue;
    body.push(...seriesLines(task, next));
    if (next.dtstart.tzid) {
      const year = Number(next.dtstart.value.slice(0, 4));
      zones.set(next.dtstart.tzid, Math.min(zones.get(next.dtstart.tzid) ?? year, year));
    }
  }
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    `PRODID:${PRODID}`,
    "CALSCALE:GREGORIAN",
    `NAME:${escapeText(feed.name)}`,
    `X-WR-CALNAME:${escapeText(feed.name)}`,
    `REFRESH-INTERVAL;VALUE=DURATION:${REFRESH_INTERVAL}`,
    `X-PUBLISHED-TTL:${REFRESH_INTERVAL}`,
    ...[...zones].sort(([a], [b]) => a.localeCompare(b)).flatMap(([zone, year]) => vtimezone(zone, year)),
    ...body,
    "END:VCALENDAR",
  ];
  return lines.map(foldLine).join("\r\n") + "\r\n";
}
