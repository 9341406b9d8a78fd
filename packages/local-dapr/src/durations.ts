// Time formats Dapr accepts: Go durations ("1h2m", "300ms"), ISO 8601 durations ("PT10S",
// "R5/PT1M"), and RFC 3339 instants. The job API takes any of them for `dueTime` and `ttl`, the
// resiliency spec takes Go durations.

const GO_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds of a Go duration (`time.ParseDuration`), or null if `text` is not one. */
export function parseGoDuration(text: string): number | null {
  const match = /^([-+]?)(.*)$/.exec(text.trim());
  if (!match) return null;
  const [, sign, rest] = match;
  if (rest === "0") return 0;
  if (!rest) return null;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < rest.length) {
    part.lastIndex = index;
    const unit = part.exec(rest);
    if (!unit) return null;
    total += Number(unit[1]) * GO_UNITS[unit[2]!]!;
    index = part.lastIndex;
  }
  return sign === "-" ? -total : total;
}

export interface IsoDuration {
  years: number;
  months: number;
  days: number;
  /** The time part (hours, minutes, seconds) plus weeks, in milliseconds. */
  ms: number;
  /** `R<n>/` prefix; 0 when absent. */
  repeats: number;
}

/** Parses `P1Y2M3W4DT5H6M7.5S`, optionally with a `R<n>/` repeat prefix (dapr/kit ParseISO8601Duration). */
export function parseIsoDuration(text: string): IsoDuration | null {
  const match =
    /^(?:R(\d+)\/)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      text.trim(),
    );
  if (!match || text.trim() === "P" || /T$/.test(text.trim())) return null;
  const n = (i: number) => Number(match[i] ?? 0);
  return {
    repeats: n(1),
    years: n(2),
    months: n(3),
    days: n(5),
    ms: n(4) * 7 * 86_400_000 + n(6) * 3_600_000 + n(7) * 60_000 + n(8) * 1_000,
  };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 instant (Go's `time.RFC3339` layout, fractional seconds allowed), or null. */
export function parseRfc3339(text: string): Date | null {
  if (!RFC3339.test(text.trim())) return null;
  const date = new Date(text.trim());
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Adds an ISO duration to `from` the way Go's `AddDate(y, m, d).Add(d)` does (calendar in UTC). */
export function addIsoDuration(from: Date, duration: IsoDuration): Date {
  const date = new Date(from.getTime());
  date.setUTCFullYear(
    date.getUTCFullYear() + duration.years,
    date.getUTCMonth() + duration.months,
    date.getUTCDate() + duration.days,
  );
  return new Date(date.getTime() + duration.ms);
}

/**
 * A point in time given as an RFC 3339 instant, a Go duration or a non-repeating ISO 8601
 * duration from `now`, as the Scheduler reads `dueTime` and `ttl`
 * (diagridio/go-etcd-cron internal/scheduler/builder.go `parsePointInTime`).
 */
export function parsePointInTime(text: string, now: Date): Date | { error: string } {
  const instant = parseRfc3339(text);
  if (instant) return instant;
  const goMs = parseGoDuration(text);
  if (goMs !== null) return new Date(now.getTime() + goMs);
  const iso = parseIsoDuration(text);
  if (!iso) return { error: "format not recognized (RFC 3339, Go duration or ISO 8601 duration)" };
  if (iso.repeats > 0) return { error: "repeats not supported for a point in time" };
  return addIsoDuration(now, iso);
}

/** RFC 3339 with second precision in UTC, as Go's `time.Format(time.RFC3339)` writes it. */
export function formatRfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Whole milliseconds as Go's `time.Duration.String()` writes them: "500ms", "5s", "2.5s",
 * "1m30s", "1h0m0s", "0s" (daprd's metadata reports the app health probe settings this way).
 */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1_000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1_000;
  const secondsText = `${Number(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${secondsText}`;
  if (minutes > 0) return `${minutes}m${secondsText}`;
  return secondsText;
}
