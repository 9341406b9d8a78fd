// docs/events.md, the zod contracts and the functions' real subscriptions must agree.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { EVENT_CATALOG, NON_FUNCTION_APPS } from "#core/event-catalog.ts";
import { REPO_ROOT } from "#db/migrate.ts";
import { loadFunctionApis } from "../../scripts/api-functions.ts";
import { EVENTS_DOC, renderEventsDoc } from "../../scripts/docs-events.ts";

test("every example in the catalog is valid against its topic's schema", () => {
  for (const entry of EVENT_CATALOG) {
    for (const example of [entry.example, ...(entry.moreExamples ?? [])]) {
      const result = entry.schema.safeParse(example);
      expect(result.success, `${entry.topic}: ${result.error?.message}`).toBe(true);
    }
  }
});

test("docs/events.md is what the catalog generates (run `npx tsx scripts/docs-events.ts` after changing events)", () => {
  expect(readFileSync(EVENTS_DOC, "utf8")).toBe(renderEventsDoc());
});

test("the catalog's consumers are exactly the functions that subscribe to each topic", async () => {
  const subscribed = new Map<string, Set<string>>();
  for (const fn of await loadFunctionApis()) {
    for (const s of fn.subscriptions) {
      if (!subscribed.has(s.topic)) subscribed.set(s.topic, new Set());
      subscribed.get(s.topic)!.add(fn.name);
    }
  }
  for (const entry of EVENT_CATALOG) {
    const declared = entry.consumers.filter((c) => !NON_FUNCTION_APPS.includes(c)).sort();
    expect([...(subscribed.get(entry.topic) ?? [])].sort(), entry.topic).toEqual(declared);
  }
  const catalogued = new Set(EVENT_CATALOG.map((e) => e.topic as string));
  for (const topic of subscribed.keys()) {
    // Dead-letter topics are consumed by the dead-letter store, not catalogued as events of their own.
    if (!topic.endsWith("-dlq"))
      expect(catalogued.has(topic), `${topic} is subscribed but not in the catalog`).toBe(true);
  }
});

test("every declared producer is a function of this repository", () => {
  const functions = new Set(readdirSync(path.join(REPO_ROOT, "functions")));
  for (const entry of EVENT_CATALOG) for (const p of entry.producers) expect(functions.has(p), p).toBe(true);
});
