// The list's date filters: a range of calendar days in the user's zone (both ends included), and how
// it meets a preset.
import { describe, expect, it } from "vitest";
import { dueWindow } from "./list-filters.ts";

const ZONE = "Europe/Berlin";
const NOW = new Date("2026-12-05T10:00:00Z");
const window = (preset: string, from: string, to: string) => dueWindow({ preset, from, to }, ZONE, NOW);

describe("a due date range", () => {
  it("given from and to, runs from the start of from's day to the end of to's, in the user's zone", () => {
    expect(window("", "2026-12-01", "2026-12-10")).toEqual({
      ok: true,
      params: { due_from: "2026-11-30T23:00:00.000Z", due_to: "2026-12-10T23:00:00.000Z" },
    });
  });

  it("given only from, or only to, leaves the other end open", () => {
    expect(window("", "2026-12-01", "")).toEqual({
      ok: true,
      params: { due_from: "2026-11-30T23:00:00.000Z" },
    });
    expect(window("", "", "2026-12-01")).toEqual({
      ok: true,
      params: { due_to: "2026-12-01T23:00:00.000Z" },
    });
  });

  it("given one day as both ends, covers that whole day, a 23-hour DST day included", () => {
    expect(window("", "2027-03-28", "2027-03-28")).toEqual({
      ok: true,
      params: { due_from: "2027-03-27T23:00:00.000Z", due_to: "2027-03-28T22:00:00.000Z" },
    });
  });

  it("given a preset too, keeps the days both allow, and says so when there are none", () => {
    // "week" is today (Dec 5) through Dec 11.
    expect(window("week", "2026-12-08", "")).toEqual({
      ok: true,
      params: { due_from: "2026-12-07T23:00:00.000Z", due_to: "2026-12-11T23:00:00.000Z" },
    });
    expect(window("today", "2026-12-08", "")).toEqual({
      ok: false,
      errors: ["No day is both in the date range and in the Due choice."],
    });
    expect(window("overdue", "2026-12-01", "")).toEqual({
      ok: true,
      params: { overdue: "true", due_from: "2026-11-30T23:00:00.000Z" },
    });
  });

  it("refuses a range that ends before it starts, or a value that is not a date, naming the field", () => {
    expect(window("", "2026-12-10", "2026-12-01")).toEqual({
      ok: false,
      errors: ["to must be on or after from"],
    });
    expect(window("", "12/01/2026", "")).toEqual({ ok: false, errors: ["from must be a date (YYYY-MM-DD)"] });
    expect(window("", "", "2026-02-30")).toEqual({ ok: false, errors: ["to must be a date (YYYY-MM-DD)"] });
  });

  it("given no filter, adds nothing", () => {
    expect(window("", "", "")).toEqual({ ok: true, params: {} });
  });
});
