// Job schedules as Dapr's Scheduler reads them (dapr/proto runtime/v1 `Job.schedule`, dapr/kit
// cron): a 6-field cron with seconds, `@every <go duration>`, the `@yearly…@hourly` descriptors,
// and an optional `CRON_TZ=<zone> ` (or `TZ=`) prefix. Errors are the parser's own words
// (dapr/kit v0.18.2 cron/parser.go), which daprd passes on. daprd 1.18.2 (the version we pin)
// accepts a zone before `@every` and ignores it; 1.18.3 refuses that combination.
import { CronExpressionParser } from "cron-parser";
import { parseGoDuration } from "./durations.ts";

export interface Schedule {
  /** The first trigger strictly after `after`. */
  next(after: Date): Date;
}

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Parses a schedule; returns the Scheduler's message when it is not one Dapr accepts. */
export function parseSchedule(text: string): Schedule | { error: string } {
  if (text.length === 0) return { error: "empty spec string" };
  let spec = text;
  let zone: string | undefined;
  if (spec.startsWith("TZ=") || spec.startsWith("CRON_TZ=")) {
    const space = spec.indexOf(" ");
    zone = spec.slice(spec.indexOf("=") + 1, space < 0 ? undefined : space);
    if (!isTimeZone(zone)) return { error: `provided bad location ${zone}: unknown time zone ${zone}` };
    spec = space < 0 ? "" : spec.slice(space).trim();
  }
  if (spec.startsWith("@every ")) {
    const duration = spec.slice("@every ".length);
    const ms = parseGoDuration(duration);
    if (ms === null)
      return {
        error: `failed to parse duration ${spec}: time: invalid duration ${JSON.stringify(duration)}`,
      };
    // A zero or negative interval would fire without end; the Scheduler takes it, we refuse it.
    if (ms <= 0) return { error: `failed to parse duration ${spec}: the interval must be positive` };
    return { next: (after) => new Date(after.getTime() + ms) };
  }
  const expression = DESCRIPTORS[spec] ?? spec;
  if (expression.startsWith("@")) return { error: `unrecognized descriptor: ${spec}` };
  const fields = expression.split(/\s+/).filter(Boolean);
  if (fields.length !== 6) {
    return { error: `expected exactly 6 fields, found ${fields.length}: [${fields.join(" ")}]` };
  }
  try {
    CronExpressionParser.parse(expression, { tz: zone });
  } catch (error) {
    return { error: `${(error as Error).message}: ${spec}` };
  }
  return {
    next: (after) => CronExpressionParser.parse(expression, { currentDate: after, tz: zone }).next().toDate(),
  };
}
