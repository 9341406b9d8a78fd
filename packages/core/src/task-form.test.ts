// The web edit form's pure field readers (task-form.ts).
import { expect, test } from "vitest";
import { recurrenceInputSchema, reminderListSchema } from "./tasks.ts";
import {
  customOffset,
  endOfLocalDay,
  localInstant,
  localParts,
  recurrenceFromFields,
  reminderKey,
  remindersFromFields,
} from "./task-form.ts";

const fields = {
  pattern: "monthly",
  interval: "1",
  weekdays: [],
  monthMode: "",
  monthDay: "",
  monthWeek: "",
  monthWeekday: "",
  ends: "never",
  endsOn: "",
  maxCount: "",
  anchor: "schedule" as const,
};
const reminderFields = {
  presets: [],
  kept: [],
  remove: null,
  customAmount: "",
  customUnit: "minutes",
  atDate: "",
  atTime: "",
};

test("a local date and time become the instant in that zone, across DST and gaps", () => {
  expect(localInstant("2031-01-31", "09:00", "Europe/Berlin")?.toISOString()).toBe(
    "2031-01-31T08:00:00.000Z",
  );
  expect(localInstant("2031-07-01", "09:00", "Europe/Berlin")?.toISOString()).toBe(
    "2031-07-01T07:00:00.000Z",
  );
  // 02:30 does not exist on 2027-03-14 in New York: it moves forward by the gap, to 03:30 EDT.
  expect(localInstant("2027-03-14", "02:30", "America/New_York")?.toISOString()).toBe(
    "2027-03-14T07:30:00.000Z",
  );
  expect(localInstant("2031-02-30", "09:00", "Europe/Berlin")).toBeNull();
  expect(localInstant("2031-01-31", "", "Europe/Berlin")).toBeNull();
  expect(localParts("2031-01-31T08:00:00.000Z", "Europe/Berlin")).toEqual({
    date: "2031-01-31",
    time: "09:00",
  });
});

test("ends on a date means the end of that day in the user's zone", () => {
  expect(endOfLocalDay("2031-03-31", "Europe/Berlin")?.toISOString()).toBe("2031-03-31T21:59:59.999Z");
  expect(endOfLocalDay("2031-03-31", "America/New_York")?.toISOString()).toBe("2031-04-01T03:59:59.999Z");
  expect(endOfLocalDay("soon", "Europe/Berlin")).toBeNull();
});

test("monthly on day 31, ending on a date, reads as the API's month_day and ends_at", () => {
  const read = recurrenceFromFields(
    { ...fields, monthMode: "day", monthDay: "31", ends: "on", endsOn: "2031-06-30" },
    "Europe/Berlin",
  );
  expect(read).toEqual({
    ok: true,
    recurrence: {
      pattern: "monthly",
      interval: 1,
      weekdays: [],
      month_day: 31,
      month_week: null,
      last_day_of_month: false,
      anchor: "schedule",
      ends_at: "2031-06-30T23:59:59.999+02:00",
      max_count: null,
    },
  });
  // What the form sends is what the API accepts.
  expect(read.ok && recurrenceInputSchema.safeParse(read.recurrence).success).toBe(true);
});

test("last day of the month and an end after N occurrences; fields the pattern does not use are ignored", () => {
  const last = recurrenceFromFields(
    {
      ...fields,
      monthMode: "last",
      monthDay: "12",
      weekdays: ["2"],
      ends: "after",
      maxCount: "4",
      endsOn: "2031-01-01",
    },
    "Europe/Berlin",
  );
  expect(last).toMatchObject({
    ok: true,
    recurrence: { month_day: null, last_day_of_month: true, weekdays: [], ends_at: null, max_count: 4 },
  });
  const weekly = recurrenceFromFields(
    { ...fields, pattern: "weekly", weekdays: ["5", "1", "5"], monthMode: "day", monthDay: "31" },
    "Europe/Berlin",
  );
  expect(weekly).toMatchObject({ ok: true, recurrence: { weekdays: [1, 5], month_day: null } });
  expect(recurrenceFromFields({ ...fields, pattern: "" }, "Europe/Berlin")).toEqual({
    ok: true,
    recurrence: null,
  });
});

test("out-of-range recurrence fields are refused with a message naming them", () => {
  const error = (over: Partial<typeof fields>) => {
    const read = recurrenceFromFields({ ...fields, ...over }, "Europe/Berlin");
    return read.ok ? null : read.error;
  };
  expect(error({ monthMode: "day", monthDay: "32" })).toBe("The day of the month is 1 to 31.");
  expect(error({ monthMode: "day", monthDay: "" })).toBe("The day of the month is 1 to 31.");
  expect(error({ ends: "after", maxCount: "0" })).toBe("End after 1 to 1000 occurrences.");
  expect(error({ ends: "on", endsOn: "" })).toBe("Pick the date the repeating ends on.");
  expect(error({ interval: "0" })).toBe("Repeat every 1 to 365.");
  expect(error({ pattern: "fortnightly" })).toBe("Pick hourly, daily, weekly, monthly or yearly.");
  expect(error({ monthMode: "nth", monthWeek: "5", monthWeekday: "2" })).toBe(
    "Pick the first, second, third, fourth or last weekday.",
  );
  expect(error({ monthMode: "nth", monthWeek: "3", monthWeekday: "" })).toBe("Pick the weekday.");
});

test("monthly on the last Friday and yearly read as the API's month_week with one weekday, and pattern yearly", () => {
  const nth = recurrenceFromFields(
    { ...fields, monthMode: "nth", monthWeek: "-1", monthWeekday: "5" },
    "UTC",
  );
  expect(nth).toMatchObject({
    ok: true,
    recurrence: { pattern: "monthly", month_week: -1, weekdays: [5], month_day: null },
  });
  const yearly = recurrenceFromFields({ ...fields, pattern: "yearly", interval: "2" }, "UTC");
  expect(yearly).toMatchObject({
    ok: true,
    recurrence: { pattern: "yearly", interval: 2, month_week: null, weekdays: [] },
  });
  const hourly = recurrenceFromFields({ ...fields, pattern: "hourly", interval: "8" }, "UTC");
  expect(hourly).toMatchObject({ ok: true, recurrence: { pattern: "hourly", interval: 8 } });
});

test("custom offsets convert units to minutes, within a year", () => {
  expect(customOffset("3", "hours")).toBe(180);
  expect(customOffset("2", "days")).toBe(2880);
  expect(customOffset("45", "minutes")).toBe(45);
  expect(customOffset("366", "days")).toBe("A reminder can be at most a year before.");
  expect(customOffset("1.5", "hours")).toBe("Enter a whole number of minutes, hours or days.");
  expect(customOffset("-1", "hours")).toBe("Enter a whole number of minutes, hours or days.");
  expect(customOffset("1", "weeks")).toBe("Pick minutes, hours or days.");
});

test("reminders: presets, kept and new ones, without duplicates and without the removed one", () => {
  const at = reminderKey(null, "2031-01-30T17:00:00Z");
  expect(at).toBe("at:2031-01-30T17:00:00.000Z");
  const read = remindersFromFields(
    {
      ...reminderFields,
      presets: ["15", "60"],
      kept: ["offset:180", at, "offset:2"],
      remove: "offset:2",
      customAmount: "1",
      customUnit: "hours",
      atDate: "2031-01-31",
      atTime: "07:30",
    },
    "Europe/Berlin",
  );
  expect(read).toEqual({
    ok: true,
    reminders: [
      { offset_minutes: 15 },
      { offset_minutes: 60 },
      { offset_minutes: 180 },
      { remind_at: "2031-01-30T18:00:00.000+01:00" },
      { remind_at: "2031-01-31T07:30:00.000+01:00" },
    ],
  });
  expect(read.ok && reminderListSchema.safeParse(read.reminders).success).toBe(true);
  expect(remindersFromFields({ ...reminderFields, atDate: "2031-01-31" }, "Europe/Berlin")).toEqual({
    ok: false,
    error: "Pick both a date and a time for the reminder.",
  });
  expect(remindersFromFields({ ...reminderFields, customAmount: "x" }, "Europe/Berlin")).toMatchObject({
    ok: false,
  });
});
