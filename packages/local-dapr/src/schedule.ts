// Job schedules as Dapr's Scheduler reads them (dapr/proto runtime/v1 `Job.schedule`, dapr/kit
// cron): a 6-field cron with seconds, `@every <go duration>`, the `@yearly…@hourly` descriptors,
// and an optional `CRON_TZ=<zone> ` (or `TZ=`) prefix. Dapr 1.18.3 rejects a zone with `@every`.
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

/** Parses a schedule; returns a message naming the problem when it is not one Dapr accepts. */
export function parseSchedule(text: string): Schedule | { error: string } {
  let spec = text.trim();
  let zone: string | undefined;
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(spec);
  if (tz) {
    zone = tz[1]!;
    spec = tz[2]!.trim();
    if (!isTimeZone(zone)) return { error: `unknown time zone "${zone}"` };
  }
  if (spec.startsWith("@every")) {
    if (zone) return { error: "CRON_TZ cannot be combined with @every (rejected since Dapr 1.18.3)" };
    const ms = parseGoDuration(spec.slice("@every".length).trim());
    if (ms === null || ms <= 0) return { error: `"${spec}" needs a positive Go duration, e.g. "@every 30s"` };
    return { next: (after) => new Date(after.getTime() + ms) };
  }
  const expression = DESCRIPTORS[spec] ?? spec;
  if (expression.startsWith("@")) return { error: `unknown descriptor "${spec}"` };
  const fields = expression.split(/\s+/).length;
  if (fields !== 6) {
    return { error: `"${spec}" has ${fields} fields; Dapr jobs use 6 (seconds minutes hours dom month dow)` };
  }
  try {
    CronExpressionParser.parse(expression, { tz: zone });
  } catch (error) {
    return { error: `"${spec}" is not a valid cron expression: ${(error as Error).message}` };
  }
  return {
    next: (after) => CronExpressionParser.parse(expression, { currentDate: after, tz: zone }).next().toDate(),
  };
}
