// Unit: job schedules (6-field cron with seconds, descriptors, @every, CRON_TZ).
import { expect, test } from "vitest";
import { parseSchedule, type Schedule } from "./schedule.ts";

function next(spec: string, after: string): string {
  const schedule = parseSchedule(spec);
  if ("error" in schedule) throw new Error(schedule.error);
  return (schedule as Schedule).next(new Date(after)).toISOString();
}

test("a 6-field cron has a seconds field, and the next trigger is strictly after the given instant", () => {
  expect(next("*/15 * * * * *", "2025-01-01T10:00:00.000Z")).toBe("2025-01-01T10:00:15.000Z");
  expect(next("0 30 9 * * 1", "2025-01-01T00:00:00Z")).toBe("2025-01-06T09:30:00.000Z");
});

test("descriptors map to their cron equivalents", () => {
  expect(next("@hourly", "2025-01-01T10:20:00Z")).toBe("2025-01-01T11:00:00.000Z");
  expect(next("@daily", "2025-01-01T10:20:00Z")).toBe("2025-01-02T00:00:00.000Z");
  expect(next("@midnight", "2025-01-01T10:20:00Z")).toBe("2025-01-02T00:00:00.000Z");
  expect(next("@weekly", "2025-01-01T10:20:00Z")).toBe("2025-01-05T00:00:00.000Z");
  expect(next("@monthly", "2025-01-15T00:00:00Z")).toBe("2025-02-01T00:00:00.000Z");
  expect(next("@yearly", "2025-06-01T00:00:00Z")).toBe("2026-01-01T00:00:00.000Z");
  expect(next("@annually", "2025-06-01T00:00:00Z")).toBe("2026-01-01T00:00:00.000Z");
});

test("@every adds a Go duration, with sub-second precision", () => {
  expect(next("@every 1m30s", "2025-01-01T10:00:00.250Z")).toBe("2025-01-01T10:01:30.250Z");
  expect(next("@every 250ms", "2025-01-01T10:00:00.000Z")).toBe("2025-01-01T10:00:00.250Z");
});

test("CRON_TZ evaluates the cron in that zone", () => {
  // 09:00 in New York is 14:00 UTC in winter.
  expect(next("CRON_TZ=America/New_York 0 0 9 * * *", "2025-01-10T12:00:00Z")).toBe(
    "2025-01-10T14:00:00.000Z",
  );
  expect(next("TZ=Asia/Tokyo 0 0 9 * * *", "2025-01-10T12:00:00Z")).toBe("2025-01-11T00:00:00.000Z");
});

test("schedules Dapr rejects are errors in the Scheduler's words (dapr/kit cron/parser.go)", () => {
  const error = (spec: string) => (parseSchedule(spec) as { error: string }).error;
  expect(error("0 9 * * *")).toBe("expected exactly 6 fields, found 5: [0 9 * * *]");
  expect(error("CRON_TZ=Nowhere/Land * * * * * *")).toBe(
    "provided bad location Nowhere/Land: unknown time zone Nowhere/Land",
  );
  expect(error("@fortnightly")).toBe("unrecognized descriptor: @fortnightly");
  expect(error("@every soon")).toBe('failed to parse duration @every soon: time: invalid duration "soon"');
  expect(error("")).toBe("empty spec string");
  expect(error("0 0 25 * * *")).toContain("0 0 25 * * *");
  // Refused here although the Scheduler takes it: an interval of zero would fire without end.
  expect(error("@every 0s")).toContain("positive");
});

test("as daprd 1.18.2, a zone before @every is accepted and changes nothing", () => {
  expect(next("CRON_TZ=Europe/Paris @every 90s", "2025-01-10T12:00:00Z")).toBe("2025-01-10T12:01:30.000Z");
});
