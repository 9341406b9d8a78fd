import { afterAll, beforeAll, expect, test } from "vitest";
import type { CreateTaskInput, TaskDto } from "#core/tasks.ts";
import type { Db } from "#db/client.ts";
import { completeTask, createTask, type CommandContext } from "#tasks/commands.ts";
import {
  api,
  createTestUser,
  startFunction,
  type StartedFunction,
  type TestUser,
} from "#testing/fixtures.ts";
import { workerDb } from "#testing/worker-db.ts";
import { routes } from "./handler.ts";

let fn: StartedFunction<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let alice: TestUser;
let bob: TestUser;
/** Alice's tasks by title, as the create path returned them (completed ones updated). */
const tasks = new Map<string, TaskDto>();

const T0 = Date.parse("2026-11-01T08:00:00Z");

type Seed = Partial<CreateTaskInput> & { title: string; done?: boolean; createdAt?: number };

// Due dates sit far from today (2020 = overdue, 2096+ = not yet): the function reads the real clock.
const SEEDS: Seed[] = [
  {
    title: "Buy groceries",
    description: "milk, eggs and bread",
    priority: "high",
    tags: ["Home", "errands"],
    due_at: new Date("2096-12-01T09:00:00Z"),
  },
  {
    title: "Weekly shopping list",
    description: "remember the groceries for the party",
    priority: "medium",
    tags: ["home"],
    due_at: new Date("2096-12-01T09:00:00Z"),
  },
  {
    title: "Grocery budget review",
    priority: "low",
    tags: ["finance"],
    due_at: new Date("2096-12-05T00:00:00Z"),
  },
  {
    title: "Pay electricity bill",
    priority: "high",
    tags: ["finance", "Bills"],
    due_at: new Date("2020-01-10T12:00:00Z"),
  },
  {
    title: "Renew passport",
    description: "check the form",
    priority: "medium",
    tags: ["errands"],
    due_at: new Date("2020-02-01T12:00:00Z"),
  },
  {
    title: "File taxes",
    priority: "high",
    tags: ["finance"],
    due_at: new Date("2020-03-01T12:00:00Z"),
    done: true,
  },
  { title: "Call mom", createdAt: T0 + 60_000 },
  { title: "call MOM", createdAt: T0 + 60_000 },
  {
    title: "Write quarterly report",
    priority: "high",
    tags: ["work"],
    due_at: new Date("2097-01-15T10:00:00Z"),
  },
  { title: "Book dentist appointment", priority: "low", tags: ["health"] },
  { title: "Water the plants", tags: ["home"], due_at: new Date("2096-12-03T18:00:00Z") },
  {
    title: "Prepare presentation slides",
    priority: "medium",
    tags: ["work", "Urgent"],
    due_at: new Date("2096-12-10T09:00:00Z"),
  },
  { title: "Clean the garage", priority: "low", tags: ["HOME", "weekend"] },
  { title: "Plan weekend trip", tags: ["weekend"], due_at: new Date("2097-02-01T09:00:00Z") },
  { title: "Fix the bike", done: true },
];

function commandCtx(db: Db, user: TestUser, now: Date): CommandContext {
  return {
    db,
    pubsub: "pubsub",
    actor: { type: "user", id: user.id },
    userId: user.id,
    userTimeZone: "UTC",
    defaultReminderMinutes: [],
    now,
  };
}

beforeAll(async () => {
  const db = await workerDb();
  fn = await startFunction({ name: "query-tasks", routes });
  alice = await createTestUser(db);
  bob = await createTestUser(db);
  for (const [index, seed] of SEEDS.entries()) {
    const { done, createdAt, ...input } = seed;
    const ctx = commandCtx(db, alice, new Date(createdAt ?? T0 + index * 3_600_000));
    const { task } = await createTask(ctx, {
      description: "",
      priority: "none",
      due_at: null,
      tags: [],
      recurrence: null,
      ...input,
    });
    tasks.set(task.title, done ? (await completeTask(ctx, task.id)).task : task);
  }
  // Bob has a grocery task of his own: it must never show up for Alice, nor hers for him.
  await createTask(commandCtx(db, bob, new Date(T0)), {
    title: "Bob buys groceries",
    description: "",
    priority: "high",
    due_at: null,
    tags: ["home"],
    recurrence: null,
  });
});
afterAll(async () => {
  await fn.close();
});

const get = (path: string, auth: string | undefined = alice.auth) => api(fn.url, "GET", path, { auth });

async function list(params: Record<string, string>, auth = alice.auth) {
  const res = await get(`/v1/tasks?${new URLSearchParams(params)}`, auth);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { items: TaskDto[]; next_cursor: string | null; match: "words" | "similar" | null };
}

const titlesOf = (page: { items: TaskDto[] }) => page.items.map((t) => t.title);
const sorted = (titles: string[]) => [...titles].sort();
const all = () => [...tasks.values()];
const titlesWhere = (predicate: (task: TaskDto) => boolean) =>
  sorted(
    all()
      .filter(predicate)
      .map((t) => t.title),
  );

/** Every page of a query, following next_cursor; fails on a loop. */
async function walk(params: Record<string, string>, limit: number) {
  const seen: TaskDto[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages += 1) {
    const page = await list({ ...params, limit: String(limit), ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) return seen;
  }
  throw new Error("pagination did not end");
}

// ───── one task ─────

test("GET /v1/tasks/:id returns the owner's task with its version as ETag", async () => {
  const task = tasks.get("Buy groceries")!;
  const res = await get(`/v1/tasks/${task.id}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("etag")).toBe('"1"');
  expect(res.body).toEqual(task);
  const done = tasks.get("File taxes")!;
  const completed = await get(`/v1/tasks/${done.id}`);
  expect(completed.headers.get("etag")).toBe('"2"');
  expect(completed.body).toMatchObject({ status: "completed", version: 2 });
});

test("another user's task is a 404, as is an unknown id; a malformed id is a 400 naming id", async () => {
  const task = tasks.get("Buy groceries")!;
  const foreign = await get(`/v1/tasks/${task.id}`, bob.auth);
  expect(foreign.status).toBe(404);
  expect(foreign.headers.get("content-type")).toContain("application/problem+json");
  expect((await get("/v1/tasks/00000000-0000-4000-8000-000000000000")).status).toBe(404);
  const malformed = await get("/v1/tasks/not-a-uuid");
  expect(malformed.status).toBe(400);
  expect(malformed.body.errors).toEqual([expect.objectContaining({ field: "id", pointer: "/params/id" })]);
});

test("every route needs a token (401 without), and a read-only token may read", async () => {
  const task = tasks.get("Buy groceries")!;
  for (const path of ["/v1/tasks", `/v1/tasks/${task.id}`, "/v1/tags"]) {
    const res = await api(fn.url, "GET", path);
    expect(res.status, path).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  }
  const reader = await createTestUser(await workerDb(), { scope: "read" });
  expect((await get("/v1/tasks", reader.auth)).status).toBe(200);
});

// ───── search ─────

test("search ranks title matches above description-only matches and leaves unrelated tasks out", async () => {
  const page = await list({ q: "groceries" });
  const titles = titlesOf(page);
  expect(sorted(titles.slice(0, 2))).toEqual(["Buy groceries", "Grocery budget review"]);
  expect(titles[2]).toBe("Weekly shopping list");
  expect(titles).toHaveLength(3);
  expect(page.next_cursor).toBeNull();
});

test("search stems: 'grocery' finds 'groceries' and the reverse", async () => {
  expect(sorted(titlesOf(await list({ q: "grocery" })))).toEqual([
    "Buy groceries",
    "Grocery budget review",
    "Weekly shopping list",
  ]);
  expect(titlesOf(await list({ q: "buying" }))).toEqual(["Buy groceries"]);
});

test("search as people type: the last word matches as a prefix ('groc' → groceries), from three letters", async () => {
  const grocery = ["Buy groceries", "Grocery budget review", "Weekly shopping list"];
  expect(sorted(titlesOf(await list({ q: "groc" })))).toEqual(grocery);
  expect(sorted(titlesOf(await list({ q: "groce" })))).toEqual(grocery);
  // Earlier words are whole words; only the one being typed is a prefix.
  expect(titlesOf(await list({ q: "buy groc" }))).toEqual(["Buy groceries"]);
  expect(titlesOf(await list({ q: "renew pass" }))).toEqual(["Renew passport"]);
  expect(sorted(titlesOf(await list({ q: "passport or dent" })))).toEqual([
    "Book dentist appointment",
    "Renew passport",
  ]);
  // Two letters are too few to mean anything; a negated or quoted word is matched as typed.
  expect((await list({ q: "gr" })).items).toEqual([]);
  expect(sorted(titlesOf(await list({ q: "groceries -budg" })))).toEqual(grocery);
  // A quoted phrase no task holds is no prefix search; the titles close to it are (a typo?).
  const quoted = await list({ q: '"buy groc"' });
  expect([titlesOf(quoted)[0], quoted.match]).toEqual(["Buy groceries", "similar"]);
  // Ranked as before: a title match first.
  expect(sorted(titlesOf(await list({ q: "groc", sort: "relevance" })).slice(0, 2))).toEqual([
    "Buy groceries",
    "Grocery budget review",
  ]);
});

test("search tolerates a typo: when no task holds the words, titles close to them are found, marked similar", async () => {
  const typo = await list({ q: "grocreies" });
  expect(sorted(titlesOf(typo))).toEqual(["Buy groceries", "Grocery budget review"]);
  expect(typo.match).toBe("similar");
  expect(titlesOf(await list({ q: "renew pasport" }))).toEqual(["Renew passport"]);
  expect(titlesOf(await list({ q: "dentsit" }))).toEqual(["Book dentist appointment"]);
  // Closest first when ranked; filters and sorts apply as to any search.
  expect(titlesOf(await list({ q: "buy grocreies" }))[0]).toBe("Buy groceries");
  expect(titlesOf(await list({ q: "grocreies", priority: "low" }))).toEqual(["Grocery budget review"]);
  // Words that some task holds are a full-text search, even when filters leave nothing: no
  // similar titles are mixed in.
  const exact = await list({ q: "groceries" });
  expect(exact.match).toBe("words");
  const filteredOut = await list({ q: "groceries", priority: "none" });
  expect([filteredOut.items, filteredOut.match]).toEqual([[], "words"]);
  // Nothing close: nothing; too short to be a typo: nothing; no search: no match at all.
  expect((await list({ q: "xylophone" })).items).toEqual([]);
  expect((await list({ q: "grc" })).items).toEqual([]);
  expect((await list({})).match).toBeNull();
  // A page of similar titles has a cursor that walks them.
  const first = await list({ q: "grocreies", limit: "1" });
  const second = await list({ q: "grocreies", limit: "1", cursor: first.next_cursor! });
  expect(sorted([...titlesOf(first), ...titlesOf(second)])).toEqual([
    "Buy groceries",
    "Grocery budget review",
  ]);
  expect(second.next_cursor).toBeNull();
});

test("search takes web-search syntax and never fails on odd input", async () => {
  expect(titlesOf(await list({ q: '"buy groceries"' }))).toEqual(["Buy groceries"]);
  expect(sorted(titlesOf(await list({ q: "groceries -budget" })))).toEqual([
    "Buy groceries",
    "Weekly shopping list",
  ]);
  expect(sorted(titlesOf(await list({ q: "passport or dentist" })))).toEqual([
    "Book dentist appointment",
    "Renew passport",
  ]);
  for (const q of [")(&|!:*'", "the", '"', "-", "groceries & | ! <->", "a:*"]) {
    const res = await get(`/v1/tasks?${new URLSearchParams({ q })}`);
    expect(res.status, q).toBe(200);
  }
  expect((await list({ q: "the" })).items).toEqual([]);
});

test("a blank q is no search: the default due-date list", async () => {
  const page = await list({ q: "   " });
  expect(page.items).toHaveLength(tasks.size);
});

// ───── filters, alone and with search ─────

const FILTERS: { name: string; params: Record<string, string>; alone: (t: TaskDto) => boolean }[] = [
  { name: "status=pending", params: { status: "pending" }, alone: (t) => t.status === "pending" },
  { name: "status=completed", params: { status: "completed" }, alone: (t) => t.status === "completed" },
  { name: "status=all", params: { status: "all" }, alone: () => true },
  { name: "priority=high", params: { priority: "high" }, alone: (t) => t.priority === "high" },
  {
    name: "priority=low,none",
    params: { priority: "low,none" },
    alone: (t) => t.priority === "low" || t.priority === "none",
  },
  {
    name: "tags=HOME (case-insensitive)",
    params: { tags: "HOME" },
    alone: (t) => t.tags.some((tag) => tag.toLowerCase() === "home"),
  },
  {
    name: "tags=home,errands any",
    params: { tags: "home,Errands" },
    alone: (t) => t.tags.some((tag) => ["home", "errands"].includes(tag.toLowerCase())),
  },
  {
    name: "tags=home,errands all",
    params: { tags: "home,ERRANDS", tag_mode: "all" },
    alone: (t) => ["home", "errands"].every((wanted) => t.tags.some((tag) => tag.toLowerCase() === wanted)),
  },
  {
    name: "due range (inclusive from, exclusive to)",
    params: { due_from: "2096-12-01T10:00:00+01:00", due_to: "2096-12-05T00:00:00Z" },
    alone: (t) =>
      t.due_at !== null && t.due_at >= "2096-12-01T09:00:00.000Z" && t.due_at < "2096-12-05T00:00:00.000Z",
  },
  {
    name: "overdue=true",
    params: { overdue: "true" },
    alone: (t) => t.status === "pending" && t.due_at !== null && Date.parse(t.due_at) < Date.now(),
  },
  {
    name: "overdue=false",
    params: { overdue: "false" },
    alone: (t) => !(t.status === "pending" && t.due_at !== null && Date.parse(t.due_at) < Date.now()),
  },
  { name: "no_due=true", params: { no_due: "true" }, alone: (t) => t.due_at === null },
  { name: "no_due=false", params: { no_due: "false" }, alone: (t) => t.due_at !== null },
];

const GROCERY_MATCHES = new Set(["Buy groceries", "Grocery budget review", "Weekly shopping list"]);

test.each(FILTERS)("filter $name alone and combined with search", async ({ params, alone }) => {
  const expected = titlesWhere(alone);
  expect(sorted(titlesOf(await list({ ...params, limit: "200" })))).toEqual(expected);
  const withSearch = expected.filter((title) => GROCERY_MATCHES.has(title));
  expect(sorted(titlesOf(await list({ ...params, q: "groceries", limit: "200" })))).toEqual(withSearch);
});

test("the filters the spec singles out return exactly the expected tasks", async () => {
  expect(sorted(titlesOf(await list({ overdue: "true" })))).toEqual([
    "Pay electricity bill",
    "Renew passport",
  ]);
  expect(sorted(titlesOf(await list({ tags: "home,errands", tag_mode: "all" })))).toEqual(["Buy groceries"]);
  expect(
    sorted(titlesOf(await list({ due_from: "2096-12-01T09:00:00Z", due_to: "2096-12-05T00:00:00Z" }))),
  ).toEqual(["Buy groceries", "Water the plants", "Weekly shopping list"]);
  expect(sorted(titlesOf(await list({ no_due: "true", status: "completed" })))).toEqual(["Fix the bike"]);
});

test("search and several filters combine in one request", async () => {
  const page = await list({
    q: "groceries",
    status: "pending",
    priority: "high,medium",
    tags: "home",
    due_from: "2096-11-30T00:00:00Z",
    due_to: "2096-12-02T00:00:00Z",
    no_due: "false",
  });
  expect(titlesOf(page)).toEqual(["Buy groceries", "Weekly shopping list"]);
  expect(titlesOf(await list({ q: "bill", overdue: "true", tags: "bills", priority: "high" }))).toEqual([
    "Pay electricity bill",
  ]);
});

test("an offset's unencoded '+' (decoded as a space) still parses", async () => {
  const res = await get("/v1/tasks?due_from=2096-12-01T10:00:00+01:00&due_to=2096-12-01T10:00:01+01:00");
  expect(res.status).toBe(200);
  expect(sorted(titlesOf(res.body))).toEqual(["Buy groceries", "Weekly shopping list"]);
});

// ───── sorts ─────

const PRIORITY_RANK = { high: 3, medium: 2, low: 1, none: 0 } as const;
const byId = (a: TaskDto, b: TaskDto) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const cmp = <T>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);
const undatedLast = (a: TaskDto, b: TaskDto) => cmp(a.due_at === null, b.due_at === null);
const byDue = (a: TaskDto, b: TaskDto) => undatedLast(a, b) || cmp(a.due_at ?? "", b.due_at ?? "");
const highFirst = (a: TaskDto, b: TaskDto) => PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority];
const oldestFirst = (a: TaskDto, b: TaskDto) => cmp(a.created_at, b.created_at);

/**
 * Expected orders, written independently of the SQL: the key in the asked direction, then the
 * documented tie-breakers, which run the same way in both directions (docs/api: sorting).
 */
const EXPECTED: Record<string, (a: TaskDto, b: TaskDto) => number> = {
  "due asc": (a, b) => byDue(a, b) || highFirst(a, b) || oldestFirst(a, b) || byId(a, b),
  "due desc": (a, b) =>
    undatedLast(a, b) || -byDue(a, b) || highFirst(a, b) || oldestFirst(a, b) || byId(a, b),
  "created asc": (a, b) => oldestFirst(a, b) || byId(a, b),
  "created desc": (a, b) => -oldestFirst(a, b) || byId(b, a),
  "title asc": (a, b) =>
    cmp(a.title.toLowerCase(), b.title.toLowerCase()) || byDue(a, b) || oldestFirst(a, b) || byId(a, b),
  "title desc": (a, b) =>
    cmp(b.title.toLowerCase(), a.title.toLowerCase()) || byDue(a, b) || oldestFirst(a, b) || byId(a, b),
  "priority desc": (a, b) => highFirst(a, b) || byDue(a, b) || oldestFirst(a, b) || byId(a, b),
  "priority asc": (a, b) => -highFirst(a, b) || byDue(a, b) || oldestFirst(a, b) || byId(a, b),
};

test.each(Object.keys(EXPECTED))(
  "sort %s orders every task by its key, then its documented tie-breakers",
  async (name) => {
    const [sort, order] = name.split(" ") as [string, string];
    const expected = all()
      .sort(EXPECTED[name])
      .map((t) => t.id);
    const page = await list({ sort, order, limit: "200" });
    expect(page.items.map((t) => t.id)).toEqual(expected);
  },
);

test("the fixtures hold the ties the sort tests rely on", () => {
  const groceries = tasks.get("Buy groceries")!;
  expect(tasks.get("Weekly shopping list")!.due_at).toBe(groceries.due_at);
  expect(tasks.get("call MOM")!.created_at).toBe(tasks.get("Call mom")!.created_at);
  expect(all().filter((t) => t.due_at === null).length).toBeGreaterThan(1);
});

test("default orders: due asc with undated tasks last, priority high first, newest first, title A-Z", async () => {
  const due = await list({ limit: "200" });
  const dated = all().filter((t) => t.due_at !== null).length;
  expect(due.items.slice(dated).every((t) => t.due_at === null)).toBe(true);
  expect(due.items.slice(0, dated).every((t) => t.due_at !== null)).toBe(true);
  expect(due.items[0]!.title).toBe("Pay electricity bill");
  expect((await list({ sort: "priority" })).items.map((t) => t.id)).toEqual(
    all()
      .sort(EXPECTED["priority desc"])
      .map((t) => t.id),
  );
  expect((await list({ sort: "created" })).items[0]!.title).toBe("Fix the bike");
  expect((await list({ sort: "title" })).items[0]!.title).toBe("Book dentist appointment");
});

test("relevance sorts both ways, and explicit sorts apply to search results", async () => {
  const desc = titlesOf(await list({ q: "groceries" }));
  expect(titlesOf(await list({ q: "groceries", sort: "relevance", order: "asc" }))[0]).toBe(
    "Weekly shopping list",
  );
  expect(titlesOf(await list({ q: "groceries", sort: "relevance", order: "desc" }))).toEqual(desc);
  expect(titlesOf(await list({ q: "groceries", sort: "title" }))).toEqual([
    "Buy groceries",
    "Grocery budget review",
    "Weekly shopping list",
  ]);
});

// ───── pagination ─────

test.each(Object.keys(EXPECTED))("cursor pages of sort %s cover every task once, in order", async (name) => {
  const [sort, order] = name.split(" ") as [string, string];
  const walked = await walk({ sort, order }, 4);
  expect(walked.map((t) => t.id)).toEqual(
    all()
      .sort(EXPECTED[name])
      .map((t) => t.id),
  );
});

test("cursor pages work with search, for relevance and for another sort", async () => {
  const full = (await list({ q: "groceries" })).items.map((t) => t.id);
  expect((await walk({ q: "groceries" }, 1)).map((t) => t.id)).toEqual(full);
  const byTitle = (await list({ q: "grocery", sort: "title", order: "desc" })).items.map((t) => t.id);
  expect((await walk({ q: "grocery", sort: "title", order: "desc" }, 2)).map((t) => t.id)).toEqual(byTitle);
  const filtered = (await list({ tags: "home", sort: "priority", limit: "200" })).items.map((t) => t.id);
  expect((await walk({ tags: "home", sort: "priority" }, 1)).map((t) => t.id)).toEqual(filtered);
});

test("the last page has next_cursor null; an exact-fit page too", async () => {
  const page = await list({ limit: String(tasks.size) });
  expect(page.items).toHaveLength(tasks.size);
  expect(page.next_cursor).toBeNull();
  const short = await list({ limit: String(tasks.size - 1) });
  expect(short.next_cursor).toEqual(expect.any(String));
});

test("a tampered or foreign cursor is a 400 naming cursor", async () => {
  const cursor = (await list({ sort: "due", limit: "2" })).next_cursor!;
  const searchCursor = (await list({ q: "groceries", limit: "1" })).next_cursor!;
  const payload = JSON.parse(Buffer.from(cursor, "base64url").toString());
  const forged = (change: object) =>
    Buffer.from(JSON.stringify({ ...payload, ...change })).toString("base64url");
  const cases: Record<string, string>[] = [
    { cursor: "not a cursor!" },
    { cursor: cursor.slice(0, -3) },
    { cursor: forged({ i: "not-a-uuid" }) },
    { cursor: forged({ k: "yesterday" }) },
    { cursor: forged({ v: 1 }) },
    { cursor: forged({ p: "urgent" }) },
    { cursor: forged({ c: "yesterday" }) },
    { cursor: forged({ p: undefined }) },
    { cursor: Buffer.from("[1,2]").toString("base64url") },
    { cursor, sort: "title" },
    { cursor, order: "desc" },
    { cursor, q: "groceries" },
    { cursor: searchCursor, q: "bill" },
    { cursor: searchCursor },
  ];
  for (const params of cases) {
    const res = await get(`/v1/tasks?${new URLSearchParams(params)}`);
    expect(res.status, JSON.stringify(params)).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain("cursor");
  }
  expect((await get(`/v1/tasks?${new URLSearchParams({ cursor })}`)).status).toBe(200);
});

// ───── bad parameters ─────

test.each([
  ["unknown parameter", "foo=1", "foo"],
  ["misspelt parameter", "sort_by=due", "sort_by"],
  ["bad status", "status=done", "status"],
  ["bad sort", "sort=random", "sort"],
  ["bad order", "order=up", "order"],
  ["bad priority item", "priority=high,urgent", "priority"],
  ["empty priority list", "priority=,", "priority"],
  ["bad tag", "tags=home,%20%24pace", "tags"],
  ["bad tag_mode", "tags=home&tag_mode=some", "tag_mode"],
  ["date without time", "due_from=2096-12-01", "due_from"],
  ["date without offset", "due_to=2096-12-01T10:00:00", "due_to"],
  ["not a date", "due_to=tomorrow", "due_to"],
  ["empty range", "due_from=2096-12-02T00:00:00Z&due_to=2096-12-01T00:00:00Z", "due_to"],
  ["bad boolean", "overdue=yes", "overdue"],
  ["bad boolean", "no_due=1", "no_due"],
  ["limit zero", "limit=0", "limit"],
  ["limit too large", "limit=201", "limit"],
  ["limit not a number", "limit=ten", "limit"],
  ["limit fractional", "limit=2.5", "limit"],
  ["relevance without q", "sort=relevance", "sort"],
  ["repeated parameter", "status=pending&status=completed", "status"],
])("%s (%s) is a 400 naming %s", async (_name, query, field) => {
  const res = await get(`/v1/tasks?${query}`);
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(res.body).toMatchObject({ status: 400, type: expect.stringContaining("validation-error") });
  expect(res.body.errors).toEqual(
    expect.arrayContaining([expect.objectContaining({ field, pointer: `/query/${field}` })]),
  );
});

test("empty parameters, as a form with blank fields sends them, count as absent", async () => {
  const res = await get(
    "/v1/tasks?q=&status=&priority=&tags=&tag_mode=&due_from=&due_to=&sort=&limit=&cursor=",
  );
  expect(res.status).toBe(200);
  expect(res.body.items).toHaveLength(tasks.size);
  expect((await get("/v1/tasks?bogus=")).body.errors).toEqual([expect.objectContaining({ field: "bogus" })]);
});

test("limits at the edges are accepted", async () => {
  expect((await list({ limit: "1" })).items).toHaveLength(1);
  expect((await list({ limit: "200" })).items).toHaveLength(tasks.size);
});

// ───── tags ─────

test("GET /v1/tags lists the user's tags once each, most used first", async () => {
  const res = await get("/v1/tags");
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    items: [
      { tag: "Home", count: 4 },
      { tag: "errands", count: 2 },
      { tag: "finance", count: 3 },
      { tag: "weekend", count: 2 },
      { tag: "work", count: 2 },
      { tag: "Bills", count: 1 },
      { tag: "health", count: 1 },
      { tag: "Urgent", count: 1 },
    ].sort((a, b) => b.count - a.count || cmp(a.tag.toLowerCase(), b.tag.toLowerCase())),
  });
  expect((await get("/v1/tags?x=1")).status).toBe(400);
});

test("GET /v1/tags shows one entry for a tag that tasks carry in two spellings", async () => {
  const db = await workerDb();
  const carol = await createTestUser(db);
  const first = await createTask(commandCtx(db, carol, new Date(T0)), {
    title: "one",
    description: "",
    priority: "none",
    due_at: null,
    tags: ["work"],
    recurrence: null,
  });
  const second = await createTask(commandCtx(db, carol, new Date(T0)), {
    title: "two",
    description: "",
    priority: "none",
    due_at: null,
    tags: [],
    recurrence: null,
  });
  // Commands always reuse the first spelling; a second one can only come from outside them
  // (e.g. two first uses racing), so it is written here directly.
  await db.taskTag.create({ data: { taskId: second.task.id, userId: carol.id, tag: "Work" } });
  expect(first.task.tags).toEqual(["work"]);
  const res = await get("/v1/tags", carol.auth);
  expect(res.body).toEqual({ items: [{ tag: expect.stringMatching(/^(work|Work)$/), count: 2 }] });
  const tagged = await list({ tags: "WORK" }, carol.auth);
  expect(sorted(titlesOf(tagged))).toEqual(["one", "two"]);
});

// ───── isolation ─────

test("a user never sees another user's tasks or tags in lists, search or tags", async () => {
  const bobs = await list({ limit: "200" }, bob.auth);
  expect(titlesOf(bobs)).toEqual(["Bob buys groceries"]);
  expect(titlesOf(await list({ q: "groceries" }, bob.auth))).toEqual(["Bob buys groceries"]);
  expect(titlesOf(await list({ tags: "home" }, bob.auth))).toEqual(["Bob buys groceries"]);
  expect((await get("/v1/tags", bob.auth)).body).toEqual({ items: [{ tag: "home", count: 1 }] });
  expect(titlesOf(await list({ q: "groceries", limit: "200" }))).not.toContain("Bob buys groceries");
  const aliceCursor = (await list({ limit: "1" })).next_cursor!;
  // A cursor only positions within the caller's own list.
  const page = await list({ cursor: aliceCursor, limit: "200" }, bob.auth);
  expect(page.items.every((t) => t.user_id === bob.id)).toBe(true);
});
