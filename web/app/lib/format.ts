// Dates as the user reads them, in their own zone (runs on server and client alike).
const dayKey = (date: Date, zone: string) =>
  new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(date);

export function formatDue(iso: string, zone: string, now = new Date()): string {
  const date = new Date(iso);
  const time = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
  }).format(date);
  const day = dayKey(date, zone);
  if (day === dayKey(now, zone)) return `Today ${time}`;
  if (day === dayKey(new Date(now.getTime() + 86_400_000), zone)) return `Tomorrow ${time}`;
  if (day === dayKey(new Date(now.getTime() - 86_400_000), zone)) return `Yesterday ${time}`;
  const sameYear = day.slice(0, 4) === dayKey(now, zone).slice(0, 4);
  const date_ = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    weekday: "short",
    day: "numeric",
    month: "short",
    ...(sameYear ? {} : { year: "numeric" }),
  }).format(date);
  return `${date_} ${time}`;
}

export function formatInstant(iso: string, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }).format(new Date(iso));
}

export function isOverdue(task: { status: string; due_at: string | null }, now = new Date()): boolean {
  return task.status === "pending" && task.due_at !== null && new Date(task.due_at).getTime() < now.getTime();
}

export function offsetLabel(minutes: number): string {
  if (minutes === 0) return "At the due time";
  if (minutes % 1440 === 0) return `${minutes / 1440} day${minutes === 1440 ? "" : "s"} before`;
  if (minutes % 60 === 0) return `${minutes / 60} hour${minutes === 60 ? "" : "s"} before`;
  return `${minutes} min before`;
}
