// Reading our iCalendar output back with ical.js (Mozilla's parser, the one Thunderbird uses), the
// independent oracle of the feed's tests (icalendar.test.ts, tests/web/calendar-feed.*.test.ts).
// Imported by tests only: ical.js is a dev dependency.
import ICAL from "ical.js";

/** The first `count` instants of a (recurring) component, as ical.js expands it, ISO strings. */
export function icalDates(component: ICAL.Component, count: number): string[] {
  const iterator = new ICAL.Event(component).iterator();
  const out: string[] = [];
  for (let next = iterator.next(); next && out.length < count; next = iterator.next())
    out.push(next.toJSDate().toISOString());
  return out;
}

/** A component's alarms as "<RELATED> <seconds>" (a duration) or "at <instant>" (a date-time), sorted. */
export function icalTriggers(component: ICAL.Component): string[] {
  return component
    .getAllSubcomponents("valarm")
    .map((alarm) => {
      const trigger = alarm.getFirstProperty("trigger")!;
      const value = trigger.getFirstValue();
      return value instanceof ICAL.Time
        ? `at ${value.toJSDate().toISOString()}`
        : `${trigger.getParameter("related") ?? "START"} ${(value as ICAL.Duration).toSeconds()}`;
    })
    .sort();
}
