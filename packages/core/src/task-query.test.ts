import fc from "fast-check";
import { expect, test } from "vitest";
import {
  decodeCursor,
  encodeCursor,
  ORDERS,
  savedViewSchema,
  fuzzySearchText,
  searchParts,
  SORTS,
  taskListQuerySchema,
  compareTasks,
  SORT_TIE_BREAKERS,
  type CursorKey,
  type Sort,
  type SortableTask,
  type Order,
} from "./task-query.ts";
import { PRIORITIES } from "./tasks.ts";

const ID = "0b5a2d39-6c1e-4f3a-9d7e-2a8c4b6f1e90";
const CREATED = "2026-11-01T08:00:00.000Z";

test("defaults: due ascending without search, relevance with it, 50 per page, everything else off", () => {
  expect(taskListQuerySchema.parse({})).toEqual({
    q: null,
    status: "all",
    priorities: null,
    tags: null,
    tagMode: "any",
    dueFrom: null,
    dueTo: null,
    overdue: null,
    noDue: null,
    listId: null,
    listName: null,
    parentId: null,
    topLevel: false,
    sort: "due",
    order: "asc",
    limit: 50,
    after: null,
  });
  expect(taskListQuerySchema.parse({ q: " groceries " })).toMatchObject({
    q: "groceries",
    sort: "relevance",
    order: "desc",
  });
  expect(taskListQuerySchema.parse({ q: "  " })).toMatchObject({ q: null, sort: "due" });
});

test("list:Name in q is a list filter, not words to search; list_id, parent_id and top_level are parameters", () => {
  expect(taskListQuerySchema.parse({ q: 'list:"Side project" draft' })).toMatchObject({
    q: "draft",
    listName: "Side project",
    sort: "relevance",
  });
  // Only a list: is no search: the default sort is due.
  expect(taskListQuerySchema.parse({ q: "list:Work" })).toMatchObject({
    q: null,
    listName: "Work",
    sort: "due",
  });
  const id = "0b7f3c2e-5d4a-4f7e-9a51-3c2d1e0f9a8b";
  expect(taskListQuerySchema.parse({ list_id: id, parent_id: id, top_level: "true" })).toMatchObject({
    listId: id,
    parentId: id,
    topLevel: true,
  });
  const issues = taskListQuerySchema.safeParse({ list_id: "work" }).error?.issues;
  expect(issues?.map((i) => [i.path.join("."), i.message])).toEqual([
    ["list_id", "must be a list id (UUID)"],
  ]);
});

test("each sort has its own default order", () => {
  const orderOf = (sort: string) => taskListQuerySchema.parse({ sort, q: "x" }).order;
  expect(["due", "priority", "created", "title", "relevance"].map(orderOf)).toEqual([
    "asc",
    "desc",
    "desc",
    "asc",
    "desc",
  ]);
});

test("lists are split on commas, trimmed and de-duplicated; tags compare lowercased", () => {
  const query = taskListQuerySchema.parse({
    priority: "high, low,high",
    tags: "Home,home ,Work",
    tag_mode: "all",
  });
  expect(query.priorities).toEqual(["high", "low"]);
  expect(query.tags).toEqual(["home", "work"]);
  expect(query.tagMode).toBe("all");
});

test("dates need an offset; a '+' decoded to a space is restored", () => {
  const query = taskListQuerySchema.parse({
    due_from: "2026-12-01T10:00:00 01:00",
    due_to: "2026-12-02T00:00:00Z",
  });
  expect(query.dueFrom?.toISOString()).toBe("2026-12-01T09:00:00.000Z");
  expect(query.dueTo?.toISOString()).toBe("2026-12-02T00:00:00.000Z");
  expect(taskListQuerySchema.safeParse({ due_from: "2026-12-01T10:00:00" }).success).toBe(false);
  expect(taskListQuerySchema.safeParse({ due_from: "2026-12-01 10:00" }).success).toBe(false);
});

test("errors carry the parameter's name as their path", () => {
  const paths = (params: Record<string, unknown>) =>
    taskListQuerySchema.safeParse(params).error?.issues.map((issue) => issue.path.join(".") || issue.code);
  expect(paths({ limit: "0" })).toEqual(["limit"]);
  expect(paths({ limit: "500" })).toEqual(["limit"]);
  expect(paths({ priority: "high,urgent" })).toEqual(["priority"]);
  expect(paths({ tags: ["a", "b"] })).toEqual(["tags"]);
  expect(paths({ sort: "relevance" })).toEqual(["sort"]);
  expect(paths({ page: "2" })).toEqual(["unrecognized_keys"]);
  expect(taskListQuerySchema.safeParse({ priority: "high,urgent" }).error?.issues[0]?.message).toContain(
    '"urgent"',
  );
});

test("q, tags and instants PostgreSQL cannot take are refused, naming the parameter", () => {
  const issues = (params: Record<string, unknown>) =>
    taskListQuerySchema
      .safeParse(params)
      .error?.issues.map((issue) => ({ field: issue.path.join("."), message: issue.message }));
  expect(issues({ q: "milk\u0000" })).toEqual([
    { field: "q", message: "must not contain a NUL character (U+0000)" },
  ]);
  for (const lone of ["\ud800", "\udc00", "a\udbffb"])
    expect(issues({ q: lone })).toEqual([
      { field: "q", message: "must be well-formed Unicode (it has an unpaired surrogate)" },
    ]);
  expect(issues({ tags: "home,wo\u0000rk" })?.map((i) => i.field)).toEqual(["tags"]);
  for (const instant of ["0000-01-01T00:00:00Z", "1969-12-31T00:00:00Z", "9999-12-31T23:00:00-05:00"]) {
    expect(
      issues({ due_from: instant })?.map((i) => i.field),
      instant,
    ).toEqual(["due_from"]);
    expect(
      issues({ due_to: instant })?.map((i) => i.field),
      instant,
    ).toEqual(["due_to"]);
  }
  expect(issues({ due_from: "+275760-09-13T00:00:00Z" })?.map((i) => i.field)).toEqual(["due_from"]);
  expect(issues({ due_from: "-000001-01-01T00:00:00Z" })?.map((i) => i.field)).toEqual(["due_from"]);
  // Well-formed text outside the BMP is a search like any other.
  expect(taskListQuerySchema.parse({ q: "🎂 party" }).q).toBe("🎂 party");
});

test("a forged cursor whose key PostgreSQL cannot take is refused as a cursor", () => {
  const forge = (payload: unknown) => btoa(JSON.stringify(payload)).replace(/=+$/, "");
  const cases = [
    [{ v: 2, s: "title", o: "asc", k: "a\u0000", d: "infinity", c: CREATED, i: ID }, "title"],
    [{ v: 2, s: "title", o: "asc", k: "\ud800", d: "infinity", c: CREATED, i: ID }, "title"],
    [{ v: 2, s: "due", o: "asc", k: "0000-01-01T00:00:00Z", p: "high", c: CREATED, i: ID }, "due"],
    [{ v: 2, s: "due", o: "asc", k: "infinity", p: "high", c: "0000-01-01T00:00:00Z", i: ID }, "due"],
    [
      { v: 2, s: "priority", o: "asc", k: "high", d: "9999-12-31T23:00:00-05:00", c: CREATED, i: ID },
      "priority",
    ],
    [{ v: 2, s: "created", o: "desc", k: "0000-01-01T00:00:00Z", i: ID }, "created"],
    [{ v: 2, s: "created", o: "desc", k: "9999-12-31T23:00:00-05:00", i: ID }, "created"],
  ] as const;
  for (const [payload, sort] of cases) {
    const cursor = forge(payload);
    expect(decodeCursor(cursor, { sort, order: payload.o, q: null }), JSON.stringify(payload)).toEqual({
      ok: false,
      reason: "is not a cursor this API issued; start again without one",
    });
    expect(
      taskListQuerySchema.safeParse({ sort, order: payload.o, cursor }).error?.issues.map((i) => i.path),
    ).toEqual([["cursor"]]);
  }
});

test("a cursor round-trips and only fits its own sort, order and search", () => {
  const key: CursorKey = { sort: "title", key: "buy groceries", due: "infinity", created: CREATED, id: ID };
  const cursor = encodeCursor(key, "asc", null);
  expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(decodeCursor(cursor, { sort: "title", order: "asc", q: null })).toEqual({ ok: true, key });
  expect(decodeCursor(cursor, { sort: "title", order: "desc", q: null })).toMatchObject({ ok: false });
  expect(decodeCursor(cursor, { sort: "due", order: "asc", q: null })).toMatchObject({ ok: false });

  const rankedKey = {
    sort: "relevance",
    key: 0.4,
    priority: "low",
    due: "2026-12-01T09:00:00.000Z",
    created: CREATED,
    id: ID,
  } as const;
  const ranked = encodeCursor(rankedKey, "desc", "groceries");
  expect(decodeCursor(ranked, { sort: "relevance", order: "desc", q: "groceries" })).toMatchObject({
    ok: true,
  });
  expect(decodeCursor(ranked, { sort: "relevance", order: "desc", q: "bills" })).toEqual({
    ok: false,
    reason: expect.stringContaining("different search"),
  });
  expect(taskListQuerySchema.parse({ q: "groceries", cursor: ranked }).after).toEqual(rankedKey);
});

test("garbage, truncated and forged cursors are refused", () => {
  const expected = { sort: "due", order: "asc", q: null } as const;
  const good = encodeCursor(
    { sort: "due", key: "infinity", priority: "none", created: CREATED, id: ID },
    "asc",
    null,
  );
  const forge = (payload: unknown) => btoa(JSON.stringify(payload)).replace(/=+$/, "");
  for (const bad of [
    "",
    "%%%",
    good.slice(0, -2),
    good.slice(1),
    forge({ v: 2, s: "due", o: "asc", k: "tomorrow", p: "none", c: CREATED, i: ID }),
    forge({ v: 2, s: "due", o: "asc", k: "infinity", p: "none", c: CREATED, i: "not-a-uuid" }),
    forge({ v: 2, s: "due", o: "asc", k: "infinity", p: "none", c: CREATED, i: ID, extra: true }),
    forge({ v: 2, s: "due", o: "asc", k: "infinity", p: "urgent", c: CREATED, i: ID }),
    forge({ v: 2, s: "due", o: "asc", k: "infinity", c: CREATED, i: ID }),
    // A version 1 cursor (no tie-breakers) cannot say where a tie ended: start again.
    forge({ v: 1, s: "due", o: "asc", k: "infinity", i: ID }),
    forge(null),
  ]) {
    expect(decodeCursor(bad, expected), bad).toMatchObject({ ok: false });
  }
  expect(decodeCursor(good, expected)).toMatchObject({ ok: true });
});

const instantArb = fc
  .date({ min: new Date("1970-01-01"), max: new Date("9999-12-31"), noInvalidDate: true })
  .map((d) => d.toISOString());
const dueArb = fc.oneof(fc.constant("infinity"), instantArb);
const priorityArb = fc.constantFrom(...PRIORITIES);

const cursorKeyArb: fc.Arbitrary<CursorKey> = fc.oneof(
  fc.record({
    sort: fc.constant("due" as const),
    key: dueArb,
    priority: priorityArb,
    created: instantArb,
    id: fc.uuid(),
  }),
  fc.record({ sort: fc.constant("created" as const), key: instantArb, id: fc.uuid() }),
  fc.record({
    sort: fc.constant("title" as const),
    key: fc.string({ unit: "grapheme", maxLength: 500 }),
    due: dueArb,
    created: instantArb,
    id: fc.uuid(),
  }),
  fc.record({
    sort: fc.constant("priority" as const),
    key: priorityArb,
    due: dueArb,
    created: instantArb,
    id: fc.uuid(),
  }),
  fc.record({
    sort: fc.constant("relevance" as const),
    key: fc.float({ min: 0, max: 1e6, noNaN: true }).map(Math.abs),
    priority: priorityArb,
    due: dueArb,
    created: instantArb,
    id: fc.uuid(),
  }),
);

test("property: every cursor key survives encode → decode exactly (any Unicode title, any rank)", () => {
  fc.assert(
    fc.property(cursorKeyArb, fc.constantFrom<Order>(...ORDERS), fc.string(), (key, order, q) => {
      const decoded = decodeCursor(encodeCursor(key, order, q), { sort: key.sort, order, q });
      expect(decoded).toEqual({ ok: true, key });
    }),
  );
});

test("a saved view's name and query with a NUL are refused, naming the field; long ones are cut at a code point", () => {
  const issues = (input: unknown) =>
    savedViewSchema.safeParse(input).error?.issues.map((issue) => [issue.path.join("."), issue.message]);
  expect(issues({ name: "Mine\u0000", query: "status=pending" })).toEqual([
    ["name", "must not contain a NUL character (U+0000)"],
  ]);
  expect(issues({ name: "Mine", query: "q=a%00\u0000" })).toEqual([
    ["query", "must not contain a NUL character (U+0000)"],
  ]);
  expect(issues({ name: "   ", query: "" })).toEqual([["name", "Name the view."]]);
  // 59 letters and an emoji: cutting at 60 code units would leave half of the emoji.
  const view = savedViewSchema.parse({ name: `${"a".repeat(59)}😀 more`, query: "status=all" });
  expect(view.name).toBe("a".repeat(59));
  expect(view.query).toBe("status=all");
});

test("search as people type: given a bare last word of three letters or more, it becomes the prefix and the rest stays as typed", () => {
  expect(searchParts("groc")).toEqual({ words: "", prefix: "groc", or: false });
  expect(searchParts("buy Groc ")).toEqual({ words: "buy", prefix: "groc", or: false });
  expect(searchParts('"weekly shop" lis')).toEqual({ words: '"weekly shop"', prefix: "lis", or: false });
  expect(searchParts("café crè")).toEqual({ words: "café", prefix: "crè", or: false });
  expect(searchParts("passport OR dent")).toEqual({ words: "passport", prefix: "dent", or: true });
});

test("search as people type: given a last word that is short, negated, quoted, OR or not a word, nothing is a prefix", () => {
  for (const q of ["gr", "groceries -budg", '"buy groc', '"buy groc"', "passport or", "a:*", "groc!", ""])
    expect(searchParts(q), q).toEqual({ words: q, prefix: null, or: false });
});

test("a typo-tolerant search compares the words typed, without syntax or negated words, from four letters", () => {
  expect(fuzzySearchText("grocreies")).toBe("grocreies");
  expect(fuzzySearchText('"weekly shpo" list')).toBe("weekly shpo list");
  expect(fuzzySearchText("pasport -expired OR dentst")).toBe("pasport dentst");
  expect(fuzzySearchText("café, crème!")).toBe("café crème");
  for (const q of ["", "gro", "a b c", "-groceries", "OR", "!!!", "a:*"])
    expect(fuzzySearchText(q), q).toBeNull();
});

// ───── the order of a list ─────

const task = (id: string, fields: Partial<SortableTask>): SortableTask => ({
  id: `00000000-0000-4000-8000-00000000000${id}`,
  title_key: "same",
  priority: "none",
  due_at: null,
  created_at: CREATED,
  ...fields,
});
const orderOf = (sort: Exclude<Sort, "relevance">, order: Order, tasks: SortableTask[]) =>
  [...tasks].sort(compareTasks(sort, order)).map((t) => t.id.at(-1));

test("given ties on the due date, when sorted by due either way, then high priority, then oldest, then id come first", () => {
  const at9 = "2026-12-04T09:00:00.000Z";
  const tasks = [
    task("1", { due_at: at9, priority: "low" }),
    task("2", { due_at: at9, priority: "high", created_at: "2026-11-02T00:00:00.000Z" }),
    task("3", { due_at: at9, priority: "high" }),
    task("4", { due_at: "2026-12-07T00:00:00.000Z" }),
    task("5", { due_at: "2026-12-04T17:00:00.000Z" }),
  ];
  expect(orderOf("due", "asc", tasks)).toEqual(["3", "2", "1", "5", "4"]);
  // The key flips; its ties keep their order.
  expect(orderOf("due", "desc", tasks)).toEqual(["4", "5", "3", "2", "1"]);
});

test("given undated tasks, when sorted by due in either direction, then they stay last, ordered by priority", () => {
  const tasks = [
    task("1", { priority: "low" }),
    task("2", { due_at: "2026-12-04T09:00:00.000Z" }),
    task("3", { priority: "high" }),
    task("4", { due_at: "2026-12-05T09:00:00.000Z" }),
  ];
  expect(orderOf("due", "asc", tasks)).toEqual(["2", "4", "3", "1"]);
  expect(orderOf("due", "desc", tasks)).toEqual(["4", "2", "3", "1"]);
});

test("given one priority, when sorted by priority either way, then the earliest due date comes first and undated last", () => {
  const tasks = [
    task("1", { priority: "high" }),
    task("2", { priority: "high", due_at: "2026-12-07T00:00:00.000Z" }),
    task("3", { priority: "high", due_at: "2026-12-04T00:00:00.000Z" }),
    task("4", { priority: "none", due_at: "2026-12-01T00:00:00.000Z" }),
  ];
  expect(orderOf("priority", "desc", tasks)).toEqual(["3", "2", "1", "4"]);
  expect(orderOf("priority", "asc", tasks)).toEqual(["4", "3", "2", "1"]);
});

test("given equal titles, when sorted by title either way, then by due date, creation and id", () => {
  const tasks = [
    task("1", { title_key: "water plants", due_at: "2026-12-08T00:00:00.000Z" }),
    task("2", { title_key: "water plants", due_at: "2026-12-01T00:00:00.000Z" }),
    task("3", { title_key: "buy milk" }),
    task("4", { title_key: "water plants" }),
  ];
  expect(orderOf("title", "asc", tasks)).toEqual(["3", "2", "1", "4"]);
  expect(orderOf("title", "desc", tasks)).toEqual(["2", "1", "4", "3"]);
});

test("every sort documents its tie-breakers, ending with the id", () => {
  for (const sort of SORTS) expect(SORT_TIE_BREAKERS[sort].at(-1), sort).toBe("id");
});
