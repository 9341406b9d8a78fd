// Unit: Go durations, ISO 8601 durations and points in time as Dapr parses them.
import { expect, test } from "vitest";
import { formatRfc3339Seconds, parseGoDuration, parseIsoDuration, parsePointInTime } from "./durations.ts";

test("Go durations: units, fractions, sequences and zero", () => {
  expect(parseGoDuration("300ms")).toBe(300);
  expect(parseGoDuration("1h2m3.5s")).toBe(3_723_500);
  expect(parseGoDuration("1.5h")).toBe(5_400_000);
  expect(parseGoDuration("250us")).toBe(0.25);
  expect(parseGoDuration("0")).toBe(0);
  expect(parseGoDuration("-2s")).toBe(-2_000);
  for (const bad of ["", "5", "1d", "s", "1h 2m", "soon"]) expect(parseGoDuration(bad), bad).toBeNull();
});

test("ISO 8601 durations, with the R<n>/ repeat prefix", () => {
  expect(parseIsoDuration("PT10S")).toEqual({ repeats: 0, years: 0, months: 0, days: 0, ms: 10_000 });
  expect(parseIsoDuration("P1Y2M3DT4H5M6.5S")).toEqual({
    repeats: 0,
    years: 1,
    months: 2,
    days: 3,
    ms: 4 * 3_600_000 + 5 * 60_000 + 6_500,
  });
  expect(parseIsoDuration("P2W")?.ms).toBe(14 * 86_400_000);
  expect(parseIsoDuration("R5/PT1M")?.repeats).toBe(5);
  for (const bad of ["P", "PT", "10S", "P1H"]) expect(parseIsoDuration(bad), bad).toBeNull();
});

test("a point in time is an RFC 3339 instant, a Go duration from now, or a non-repeating ISO duration", () => {
  const now = new Date("2025-01-31T10:00:00.000Z");
  expect(parsePointInTime("2025-02-01T00:00:00+01:00", now)).toEqual(new Date("2025-01-31T23:00:00Z"));
  expect(parsePointInTime("90s", now)).toEqual(new Date("2025-01-31T10:01:30Z"));
  expect(parsePointInTime("P1DT1H", now)).toEqual(new Date("2025-02-01T11:00:00Z"));
  expect(parsePointInTime("R2/PT1S", now)).toEqual({ error: "repeats not supported for a point in time" });
  expect(parsePointInTime("tomorrow", now)).toHaveProperty("error");
});

test("RFC 3339 output has second precision, like Go's time.RFC3339", () => {
  expect(formatRfc3339Seconds(new Date("2025-01-01T10:02:00.987Z"))).toBe("2025-01-01T10:02:00Z");
});
