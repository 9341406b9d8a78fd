import { expect, test } from "vitest";
import { DateTime } from "luxon";
import { keepLiteral, parseQuickAdd, readQuickAdd } from "./quick-add.ts";

// Monday 2026-11-23 10:30 in Berlin (09:30 UTC).
const NOW = new Date("2026-11-23T09:30:00Z");
const ZONE = "Europe/Berlin";
const parse = (text: string) => parseQuickAdd(text, ZONE, NOW);

test("plain text is the title with no tags, priority or due date", () => {
  expect(parse("Buy milk")).toEqual({
    title: "Buy milk",
    tags: [],
    priority: "none",
    dueAt: null,
    recurrence: null,
    list: null,
  });
});

test("inline #tags and !priority are taken out of the title", () => {
  expect(parse("Buy milk #home #Errands !high")).toEqual({
    title: "Buy milk",
    tags: ["home", "Errands"],
    priority: "high",
    dueAt: null,
    recurrence: null,
    list: null,
  });
  expect(parse("!low tidy desk").priority).toBe("low");
  expect(parse("report !medium").priority).toBe("medium");
});

test("a repeated tag is kept once, first spelling wins", () => {
  expect(parse("x #Work #work").tags).toEqual(["Work"]);
});

test("tomorrow 3pm is 15:00 tomorrow in the user's zone", () => {
  const draft = parse("Call mum tomorrow 3pm");
  expect(draft.title).toBe("Call mum");
  expect(draft.dueAt?.toISOString()).toBe("2026-11-24T14:00:00.000Z");
});

test("today without a time after 09:00 is due at 23:59 local", () => {
  expect(parse("pay rent today").dueAt?.toISOString()).toBe("2026-11-23T22:59:00.000Z");
});

test("next monday 9am is a week ahead when today is Monday", () => {
  const draft = parse("Standup notes next monday 9am #work");
  expect(draft).toMatchObject({ title: "Standup notes", tags: ["work"] });
  expect(draft.dueAt?.toISOString()).toBe("2026-11-30T08:00:00.000Z");
});

test("a weekday name is the coming one, at 09:00 by default", () => {
  expect(parse("gym friday").dueAt?.toISOString()).toBe("2026-11-27T08:00:00.000Z");
  expect(parse("gym fri 18:30").dueAt?.toISOString()).toBe("2026-11-27T17:30:00.000Z");
});

test("in 2 days and in 3 hours count from now", () => {
  expect(parse("water plants in 2 days").dueAt?.toISOString()).toBe("2026-11-25T09:30:00.000Z");
  expect(parse("check oven in 3 hours").dueAt?.toISOString()).toBe("2026-11-23T12:30:00.000Z");
});

test("a lone 'at 5pm' is today", () => {
  const draft = parse("leave office at 5pm");
  expect(draft.title).toBe("leave office");
  expect(draft.dueAt?.toISOString()).toBe("2026-11-23T16:00:00.000Z");
});

test("an ambiguous bare number is left in the title", () => {
  expect(parse("meet at 5 guys")).toMatchObject({ title: "meet at 5 guys", dueAt: null });
});

test("words that merely contain a day name are not dates", () => {
  expect(parse("Sundays are great")).toMatchObject({ title: "Sundays are great", dueAt: null });
});

test("an out-of-range time leaves no due date", () => {
  expect(parse("x tomorrow 13pm").dueAt).toBeNull();
});

test("text that is only markers keeps the raw input as its title", () => {
  expect(parse("#work").title).toBe("#work");
});

test("daylight saving is respected: tomorrow 9am across the change keeps 09:00 local", () => {
  const beforeDst = new Date("2026-03-28T12:00:00Z");
  expect(parseQuickAdd("x tomorrow 9am", ZONE, beforeDst).dueAt?.toISOString()).toBe(
    "2026-03-29T07:00:00.000Z",
  );
});

// A corpus of titles people type, each with the moment it was typed (Europe/Berlin), and what it
// must become. The first rows are what a new user hit (issue 15).
const CORPUS: {
  text: string;
  at: string;
  title: string;
  due: string | null;
  priority?: string;
  tags?: string[];
  /** The repeat rule read: pattern/interval/weekdays/month_week, e.g. "weekly/1/1/-". */
  repeat?: string;
  /** The list named with list: (issue 16, item 3). */
  list?: string;
}[] = [
  // Thursday 3 Dec: "next friday" is next week's (Todoist: Dec 11), "friday" tomorrow.
  { text: "Dentist next friday at 9am", at: "2026-12-03T12:00", title: "Dentist", due: "2026-12-11T09:00" },
  { text: "Dentist friday at 9am", at: "2026-12-03T12:00", title: "Dentist", due: "2026-12-04T09:00" },
  // Sunday: next week's Friday is the coming one.
  { text: "Dentist next friday", at: "2026-12-06T12:00", title: "Dentist", due: "2026-12-11T09:00" },
  // A time without "at" is a time; today while it is ahead.
  {
    text: "Email about #project-x !high 10:30am",
    at: "2026-12-03T08:00",
    title: "Email about",
    due: "2026-12-03T10:30",
    priority: "high",
    tags: ["project-x"],
  },
  { text: "Standup 15:00", at: "2026-12-03T08:00", title: "Standup", due: "2026-12-03T15:00" },
  // A lone time already past is tomorrow's, never overdue the moment it is made.
  {
    text: "Meeting with Sam at 3pm",
    at: "2026-12-03T21:27",
    title: "Meeting with Sam",
    due: "2026-12-04T15:00",
  },
  // Numbers that are not times stay in the title.
  { text: "The 5th Wave", at: "2026-12-03T12:00", title: "The 5th Wave", due: null },
  { text: "Buy 2 apples", at: "2026-12-03T12:00", title: "Buy 2 apples", due: null },
  { text: "Buy 2 apples 5pm", at: "2026-12-03T12:00", title: "Buy 2 apples", due: "2026-12-03T17:00" },
  { text: "Read chapter 12", at: "2026-12-03T12:00", title: "Read chapter 12", due: null },
  {
    text: "Call 911 drill tomorrow",
    at: "2026-12-03T12:00",
    title: "Call 911 drill",
    due: "2026-12-04T09:00",
  },
  // Quotes keep text literal; what is outside them is still read.
  {
    text: '"Meeting at 3pm" prep tomorrow',
    at: "2026-12-03T12:00",
    title: "Meeting at 3pm prep",
    due: "2026-12-04T09:00",
  },
  {
    text: '"Friday I\'m in love" playlist',
    at: "2026-12-03T12:00",
    title: "Friday I'm in love playlist",
    due: null,
  },
  { text: 'Tag "#notatag" kept', at: "2026-12-03T12:00", title: "Tag #notatag kept", due: null },
  // Relative phrases.
  { text: "Pay invoice in 3 days", at: "2026-12-03T12:00", title: "Pay invoice", due: "2026-12-06T12:00" },
  { text: "Stretch tonight", at: "2026-12-03T12:00", title: "Stretch", due: "2026-12-03T20:00" },
  // Repeat phrases (Thursday 3 Dec, 12:00): the rule, and its first slot as the due date.
  {
    text: "Water plants every monday",
    at: "2026-12-03T12:00",
    title: "Water plants",
    due: "2026-12-07T09:00",
    repeat: "weekly/1/1/-",
  },
  {
    text: "Standup every weekday at 9:30am",
    at: "2026-12-03T12:00",
    title: "Standup",
    due: "2026-12-04T09:30",
    repeat: "weekly/1/1,2,3,4,5/-",
  },
  {
    text: "Pay cleaner every 2 weeks",
    at: "2026-12-03T08:00",
    title: "Pay cleaner",
    due: "2026-12-03T09:00",
    repeat: "weekly/2//-",
  },
  {
    text: "Review budget every last friday",
    at: "2026-12-03T12:00",
    title: "Review budget",
    due: "2026-12-25T09:00",
    repeat: "monthly/1/5/-1",
  },
  {
    text: "Book club every 3rd tuesday 7pm",
    at: "2026-12-03T12:00",
    title: "Book club",
    due: "2026-12-15T19:00",
    repeat: "monthly/1/2/3",
  },
  {
    text: "Feed the cat every 8 hours",
    at: "2026-12-03T12:00",
    title: "Feed the cat",
    due: "2026-12-03T20:00",
    repeat: "hourly/8//-",
  },
  {
    text: "Gym every mon, wed and fri at 7am",
    at: "2026-12-03T12:00",
    title: "Gym",
    due: "2026-12-04T07:00",
    repeat: "weekly/1/1,3,5/-",
  },
  {
    text: "Renew insurance every year",
    at: "2026-12-03T12:00",
    title: "Renew insurance",
    due: "2026-12-04T09:00",
    repeat: "yearly/1//-",
  },
  {
    text: "Call mom every other sunday",
    at: "2026-12-03T12:00",
    title: "Call mom",
    due: "2026-12-06T09:00",
    repeat: "weekly/2/7/-",
  },
  // A given day phrase wins over the rule's first slot.
  {
    text: "Rent every month tomorrow",
    at: "2026-12-03T12:00",
    title: "Rent",
    due: "2026-12-04T09:00",
    repeat: "monthly/1//-",
  },
  // Not repeat phrases: an adjective, and "every" without a rule.
  { text: "Weekly report friday", at: "2026-12-03T12:00", title: "Weekly report", due: "2026-12-04T09:00" },
  { text: "Every little thing", at: "2026-12-03T12:00", title: "Every little thing", due: null },
  // list: names a list anywhere in the line; quoted for a name with spaces; never a tag.
  {
    text: "Send invoice list:Work tomorrow",
    at: "2026-12-03T12:00",
    title: "Send invoice",
    due: "2026-12-04T09:00",
    list: "Work",
  },
  {
    text: 'list:"Side project" Draft landing page #web',
    at: "2026-12-03T12:00",
    title: "Draft landing page",
    due: null,
    tags: ["web"],
    list: "Side project",
  },
  {
    text: "Buy paint #red list:Home",
    at: "2026-12-03T12:00",
    title: "Buy paint",
    due: null,
    tags: ["red"],
    list: "Home",
  },
  { text: "Check the list: items", at: "2026-12-03T12:00", title: "Check the list: items", due: null },
  { text: "Wishlist:books", at: "2026-12-03T12:00", title: "Wishlist:books", due: null },
];

test.each(CORPUS)(
  "quick-add corpus: $text (typed $at)",
  ({ text, at, title, due, priority, tags, repeat, list }) => {
    const now = DateTime.fromISO(at, { zone: ZONE }).toJSDate();
    const draft = parseQuickAdd(text, ZONE, now);
    expect(draft.title).toBe(title);
    expect(
      draft.dueAt ? DateTime.fromJSDate(draft.dueAt, { zone: ZONE }).toFormat("yyyy-MM-dd'T'HH:mm") : null,
    ).toBe(due);
    if (priority) expect(draft.priority).toBe(priority);
    if (tags) expect(draft.tags).toEqual(tags);
    const r = draft.recurrence;
    expect(r ? `${r.pattern}/${r.interval}/${r.weekdays.join(",")}/${r.month_week ?? "-"}` : undefined).toBe(
      repeat,
    );
    expect(draft.list).toBe(list ?? null);
  },
);

test("the parts quick add read, in the order typed, each with its text; an unknown !word is one too", () => {
  const now = DateTime.fromISO("2026-12-03T12:00", { zone: ZONE }).toJSDate();
  const { draft, parts } = readQuickAdd("Email Sam #work !urgent !high tomorrow 10:30am", ZONE, now);
  expect(draft).toMatchObject({ title: "Email Sam !urgent", tags: ["work"], priority: "high" });
  expect(parts.map((part) => [part.kind, part.text])).toEqual([
    ["tag", "#work"],
    ["unknown-priority", "!urgent"],
    ["priority", "!high"],
    ["due", "tomorrow 10:30am"],
  ]);
});

test("keeping a part literal quotes it, and quick add then reads it as title", () => {
  const now = DateTime.fromISO("2026-12-03T12:00", { zone: ZONE }).toJSDate();
  const input = "Meeting with Sam at 3pm #work";
  const due = readQuickAdd(input, ZONE, now).parts.find((part) => part.kind === "due")!;
  const kept = keepLiteral(input, due);
  expect(kept).toBe('Meeting with Sam "at 3pm" #work');
  expect(parseQuickAdd(kept, ZONE, now)).toMatchObject({
    title: "Meeting with Sam at 3pm",
    dueAt: null,
    tags: ["work"],
  });
  const tag = readQuickAdd(kept, ZONE, now).parts.find((part) => part.kind === "tag")!;
  expect(parseQuickAdd(keepLiteral(kept, tag), ZONE, now)).toMatchObject({
    title: "Meeting with Sam at 3pm #work",
    tags: [],
  });
});
