// The task list query (`GET /v1/tasks?…`): its parameters, their defaults, and the opaque keyset
// cursor. Pure: zod only. The SQL that runs it lives in packages/tasks/src/queries.ts.
import { z } from "zod";
import { instantSchema, instantStringSchema, LIMITS, PRIORITIES, tagSchema, type Priority } from "./tasks.ts";
import { takeListToken } from "./lists.ts";
import { storableString } from "./text.ts";

export const SORTS = ["due", "priority", "created", "title", "relevance"] as const;
export const ORDERS = ["asc", "desc"] as const;
export const STATUS_FILTERS = ["pending", "completed", "all"] as const;
export const TAG_MODES = ["any", "all"] as const;
export type Sort = (typeof SORTS)[number];
export type Order = (typeof ORDERS)[number];

/** The order each sort has when `order` is not given. */
export const DEFAULT_ORDER: Record<Sort, Order> = {
  due: "asc",
  priority: "desc",
  created: "desc",
  title: "asc",
  relevance: "desc",
};

export const LIST_LIMITS = { defaultLimit: 50, maxLimit: 200, qMax: 500, titleKeyMax: 4 * LIMITS.titleMax };

/**
 * Every sort's full order: its key, then tie-breakers that always run the same way, whichever
 * direction the key runs, so equal keys never come back in an arbitrary order and a page boundary
 * inside a tie is exact. The same in the API, the web and MCP (they all read GET /v1/tasks).
 *
 * - due: due date (undated tasks last, in both directions) → priority, high first → created, oldest
 *   first → id
 * - priority: priority → due date, earliest first, undated last → created → id
 * - title: title, case-insensitive → due date → created → id
 * - created: created → id (both run with the order)
 * - relevance: search rank → priority → due date → created → id
 */
export const SORT_TIE_BREAKERS: Record<Sort, readonly string[]> = {
  due: ["priority", "created", "id"],
  priority: ["due", "created", "id"],
  title: ["due", "created", "id"],
  created: ["id"],
  relevance: ["priority", "due", "created", "id"],
};

/** The `sort` parameter's documentation (OpenAPI, MCP): each sort's key and tie-breakers. */
export const SORT_DESCRIPTION =
  "Default: relevance with q, else due. Each sort breaks ties the same way in both directions: " +
  SORTS.map((sort) => `${sort} → ${SORT_TIE_BREAKERS[sort].join(" → ")}`).join("; ") +
  ". Priority ties rank high first, due-date ties earliest first; tasks without a due date sort last in both directions.";

/** Priority as a tie-breaker ranks high first: 0 high … 3 none (the SQL's `priority_rank`). */
export const PRIORITY_RANK: Record<Priority, number> = { high: 0, medium: 1, low: 2, none: 3 };

/** A task as far as ordering goes. `title_key` is the case-folded title the database compares. */
export interface SortableTask {
  id: string;
  title_key: string;
  priority: Priority;
  due_at: string | null;
  created_at: string;
}

/**
 * The list's order as a comparator: what the SQL of packages/tasks/src/queries.ts does, written
 * once more as the specification its tests check it against (relevance is left to the database:
 * its rank is PostgreSQL's). Ids compare as the database compares uuids (their hex text).
 */
export function compareTasks(
  sort: Exclude<Sort, "relevance">,
  order: Order,
): (a: SortableTask, b: SortableTask) => number {
  const sign = order === "asc" ? 1 : -1;
  const cmp = (x: string | number, y: string | number) => (x < y ? -1 : x > y ? 1 : 0);
  const due = (t: SortableTask) => (t.due_at === null ? Infinity : Date.parse(t.due_at));
  const created = (t: SortableTask) => Date.parse(t.created_at);
  const rank = (t: SortableTask) => PRIORITY_RANK[t.priority];
  const dueTie = (a: SortableTask, b: SortableTask) => cmp(due(a), due(b));
  const chain = (a: SortableTask, b: SortableTask, ...steps: number[]) =>
    steps.find((step) => step !== 0) ?? cmp(a.id, b.id);
  switch (sort) {
    case "due":
      return (a, b) => {
        // Undated last whatever the order.
        if ((a.due_at === null) !== (b.due_at === null)) return a.due_at === null ? 1 : -1;
        return chain(a, b, sign * dueTie(a, b), cmp(rank(a), rank(b)), cmp(created(a), created(b)));
      };
    case "priority":
      // "desc" (the default) is high first, i.e. rank ascending.
      return (a, b) => chain(a, b, -sign * cmp(rank(a), rank(b)), dueTie(a, b), cmp(created(a), created(b)));
    case "title":
      return (a, b) =>
        chain(a, b, sign * cmp(a.title_key, b.title_key), dueTie(a, b), cmp(created(a), created(b)));
    case "created":
      return (a, b) => sign * (cmp(created(a), created(b)) || cmp(a.id, b.id));
  }
}

/**
 * Where a page ended: the last row's sort key, its tie-breakers and its id. `due` values are the
 * ISO instant or "infinity" for a task without a due date; `title` is PostgreSQL's `lower(title)`
 * of the row, exactly as the index holds it; `created` the row's creation instant.
 */
export type CursorKey =
  | { sort: "due"; key: string; priority: Priority; created: string; id: string }
  | { sort: "priority"; key: Priority; due: string; created: string; id: string }
  | { sort: "created"; key: string; id: string }
  | { sort: "title"; key: string; due: string; created: string; id: string }
  | { sort: "relevance"; key: number; priority: Priority; due: string; created: string; id: string };

export interface TaskListQuery {
  /** Full-text search (websearch syntax), null for none. */
  q: string | null;
  status: (typeof STATUS_FILTERS)[number];
  priorities: Priority[] | null;
  tags: string[] | null;
  tagMode: (typeof TAG_MODES)[number];
  /** Inclusive lower bound of due_at. */
  dueFrom: Date | null;
  /** Exclusive upper bound of due_at. */
  dueTo: Date | null;
  /** true: only pending tasks due before now; false: none of those; null: no filter. */
  overdue: boolean | null;
  /** true: only tasks without a due date; false: only tasks with one; null: no filter. */
  noDue: boolean | null;
  /**
   * The list (`list_id`), or the lists named so (`list:Name` in q, ignoring case). Without either,
   * tasks of archived lists are left out; naming a list shows its tasks, archived or not.
   */
  listId: string | null;
  listName: string | null;
  /** A parent's subtasks only (`parent_id`). */
  parentId: string | null;
  /** true: only tasks that are no subtask (`top_level`). */
  topLevel: boolean;
  sort: Sort;
  order: Order;
  limit: number;
  after: CursorKey | null;
}

// ───── cursor codec ─────

// A cursor is opaque but comes back from the client: its keys reach the SQL, so they obey the
// same rules as any input (an instant PostgreSQL holds, text it can compare).
const cursorIdSchema = z.uuid();
const isoInstant = instantStringSchema;

const dueKey = z.union([isoInstant, z.literal("infinity")]);
const priorityKey = z.enum(PRIORITIES);

// Version 2: version 1 cursors carried no tie-breakers; they are refused ("start again").
const cursorPayloadSchema = z.discriminatedUnion("s", [
  z.strictObject({
    v: z.literal(2),
    s: z.literal("due"),
    o: z.enum(ORDERS),
    k: dueKey,
    p: priorityKey,
    c: isoInstant,
    i: cursorIdSchema,
  }),
  z.strictObject({
    v: z.literal(2),
    s: z.literal("priority"),
    o: z.enum(ORDERS),
    k: priorityKey,
    d: dueKey,
    c: isoInstant,
    i: cursorIdSchema,
  }),
  z.strictObject({
    v: z.literal(2),
    s: z.literal("created"),
    o: z.enum(ORDERS),
    k: isoInstant,
    i: cursorIdSchema,
  }),
  z.strictObject({
    v: z.literal(2),
    s: z.literal("title"),
    o: z.enum(ORDERS),
    k: storableString().max(LIST_LIMITS.titleKeyMax),
    d: dueKey,
    c: isoInstant,
    i: cursorIdSchema,
  }),
  z.strictObject({
    v: z.literal(2),
    s: z.literal("relevance"),
    o: z.enum(ORDERS),
    k: z.number().nonnegative(),
    p: priorityKey,
    d: dueKey,
    c: isoInstant,
    i: cursorIdSchema,
    /** Fingerprint of the search text: a rank only means something for the query that made it. */
    q: z.string(),
  }),
]);
type CursorPayload = z.infer<typeof cursorPayloadSchema>;

/**
 * 32-bit FNV-1a of a string, as 8 hex digits: binds a relevance cursor to its search text.
 * Not a security measure: a crafted cursor can only move within the caller's own list.
 */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** The opaque `next_cursor` of a page that ended at `last`, for a list sorted by `order`. */
export function encodeCursor(last: CursorKey, order: Order, q: string | null): string {
  const base = { v: 2, s: last.sort, o: order, k: last.key } as const;
  let payload: CursorPayload;
  switch (last.sort) {
    case "due":
      payload = { ...base, s: "due", k: last.key, p: last.priority, c: last.created, i: last.id };
      break;
    case "priority":
      payload = { ...base, s: "priority", k: last.key, d: last.due, c: last.created, i: last.id };
      break;
    case "created":
      payload = { ...base, s: "created", k: last.key, i: last.id };
      break;
    case "title":
      payload = { ...base, s: "title", k: last.key, d: last.due, c: last.created, i: last.id };
      break;
    case "relevance":
      payload = {
        ...base,
        s: "relevance",
        k: last.key,
        p: last.priority,
        d: last.due,
        c: last.created,
        i: last.id,
        q: fingerprint(q ?? ""),
      };
      break;
  }
  return toBase64Url(JSON.stringify(payload));
}

/** The cursor key a decoded payload stands for. */
function keyOfPayload(payload: CursorPayload): CursorKey {
  switch (payload.s) {
    case "due":
      return { sort: "due", key: payload.k, priority: payload.p, created: payload.c, id: payload.i };
    case "priority":
      return { sort: "priority", key: payload.k, due: payload.d, created: payload.c, id: payload.i };
    case "created":
      return { sort: "created", key: payload.k, id: payload.i };
    case "title":
      return { sort: "title", key: payload.k, due: payload.d, created: payload.c, id: payload.i };
    case "relevance":
      return {
        sort: "relevance",
        key: payload.k,
        priority: payload.p,
        due: payload.d,
        created: payload.c,
        id: payload.i,
      };
  }
}

// base64url (RFC 4648 §5) without Node's Buffer, so this module also runs in a browser.
function toBase64Url(text: string): string {
  const binary = Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join("");
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(encoded: string): string {
  const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

export type CursorDecodeResult = { ok: true; key: CursorKey } | { ok: false; reason: string };

/** Decodes a cursor and checks that it belongs to a list with this sort, order and search. */
export function decodeCursor(
  cursor: string,
  expected: { sort: Sort; order: Order; q: string | null },
): CursorDecodeResult {
  const invalid = { ok: false, reason: "is not a cursor this API issued; start again without one" } as const;
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return invalid;
  let raw: unknown;
  try {
    raw = JSON.parse(fromBase64Url(cursor));
  } catch {
    return invalid;
  }
  const parsed = cursorPayloadSchema.safeParse(raw);
  if (!parsed.success) return invalid;
  const payload = parsed.data;
  if (payload.s !== expected.sort || payload.o !== expected.order) {
    return {
      ok: false,
      reason: `belongs to a list sorted by ${payload.s} ${payload.o}, not ${expected.sort} ${expected.order}; start again without a cursor`,
    };
  }
  if (payload.s === "relevance" && payload.q !== fingerprint(expected.q ?? "")) {
    return { ok: false, reason: "belongs to a different search (q); start again without a cursor" };
  }
  return { ok: true, key: keyOfPayload(payload) };
}

// ───── saved views ─────

/**
 * A saved view of the web's task list: its name and the list URL's query string it restores. Both
 * are stored as they are, so they hold what PostgreSQL stores (a NUL in a form field was a 500).
 * Longer text is cut, as the form's maxlength would: at a code point, never inside a pair.
 */
export const savedViewSchema = z.strictObject({
  name: storableString("Name the view.")
    .trim()
    .transform((name) => cutAtCodePoint(name, 60).trim())
    .pipe(z.string().min(1, "Name the view.")),
  query: storableString("must be a query string").transform((query) => cutAtCodePoint(query, 2000)),
});

/** At most `max` UTF-16 code units of `text`, without splitting a surrogate pair. */
function cutAtCodePoint(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

// ───── query parameters ─────

/**
 * One value per parameter: a repeated parameter arrives as an array and is refused. A value
 * PostgreSQL cannot take (a NUL, an unpaired surrogate) is refused here, naming the parameter.
 */
const single = (message: string) => storableString(`${message} (given once)`);

/** "a,b,c" → ["a","b","c"], each item checked by `item`; errors name the parameter, not an index. */
function commaList<T>(item: z.ZodType<T>, what: string, max: number) {
  return single(`must be a comma-separated list of ${what}`).transform((raw, ctx) => {
    const parts = raw
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part.length > 0);
    if (parts.length === 0) {
      ctx.issues.push({ code: "custom", input: raw, message: `must name at least one of ${what}` });
      return z.NEVER;
    }
    if (parts.length > max) {
      ctx.issues.push({ code: "custom", input: raw, message: `must name at most ${max} ${what}` });
      return z.NEVER;
    }
    const values: T[] = [];
    for (const part of parts) {
      const result = item.safeParse(part);
      if (!result.success) {
        ctx.issues.push({
          code: "custom",
          input: raw,
          message: `"${part}": ${result.error.issues[0]?.message ?? "is not valid"}`,
        });
        return z.NEVER;
      }
      if (!values.includes(result.data)) values.push(result.data);
    }
    return values;
  });
}

const booleanParam = single("must be true or false").pipe(
  z.enum(["true", "false"], { error: "must be true or false" }).transform((value) => value === "true"),
);

/**
 * In a URL query, an unencoded "+" means a space (application/x-www-form-urlencoded), so
 * `due_from=2026-11-24T15:00:00+01:00` arrives as "…15:00:00 01:00". Restore the offset's sign.
 */
const instantParam = single("must be an RFC 3339 date-time with an offset")
  .transform((value) => value.replace(/^(\S+T\S+) (\d{2}:?\d{2})$/, "$1+$2"))
  .pipe(instantSchema);

const limitParam = single("must be a whole number")
  .regex(/^\d{1,6}$/, `must be a whole number from 1 to ${LIST_LIMITS.maxLimit}`)
  .transform(Number)
  .pipe(
    z
      .number()
      .min(1, `must be a whole number from 1 to ${LIST_LIMITS.maxLimit}`)
      .max(LIST_LIMITS.maxLimit, `must be a whole number from 1 to ${LIST_LIMITS.maxLimit}`),
  );

const enumParam = <const T extends readonly [string, ...string[]]>(values: T) =>
  single(`must be one of ${values.join(", ")}`).pipe(
    z.enum(values, { error: `must be one of ${values.join(", ")}` }),
  );

const paramsSchema = z.strictObject({
  q: single("must be a search text")
    .max(LIST_LIMITS.qMax, `must be at most ${LIST_LIMITS.qMax} characters`)
    .transform((value) => value.trim())
    .optional(),
  status: enumParam(STATUS_FILTERS).optional(),
  priority: commaList(
    z.enum(PRIORITIES, { error: `must be one of ${PRIORITIES.join(", ")}` }),
    "priorities",
    PRIORITIES.length,
  ).optional(),
  // Tags match case-insensitively: compare (and de-duplicate) them lowercased.
  tags: commaList(
    tagSchema.transform((tag) => tag.toLowerCase()),
    "tags",
    LIMITS.tagsPerTask,
  ).optional(),
  tag_mode: enumParam(TAG_MODES).optional(),
  due_from: instantParam.optional(),
  due_to: instantParam.optional(),
  overdue: booleanParam.optional(),
  no_due: booleanParam.optional(),
  list_id: single("must be a list id")
    .pipe(z.uuid({ error: "must be a list id (UUID)" }))
    .optional(),
  parent_id: single("must be a task id")
    .pipe(z.uuid({ error: "must be a task id (UUID)" }))
    .optional(),
  top_level: booleanParam.optional(),
  sort: enumParam(SORTS).optional().describe(SORT_DESCRIPTION),
  order: enumParam(ORDERS)
    .optional()
    .describe(
      "Direction of the sort key (default per sort: due asc, priority desc = high first, created desc, title asc, relevance desc). Tie-breakers keep their own direction.",
    ),
  limit: limitParam.optional(),
  cursor: single("must be a cursor from next_cursor").max(4096, "is not a cursor this API issued").optional(),
});

/** The shortest last word matched as a prefix: a shorter one would match most of a list. */
export const SEARCH_PREFIX_MIN = 3;

/**
 * Search as people type: the text's last word, when it is a bare word of at least
 * SEARCH_PREFIX_MIN letters or digits (not quoted, not negated with "-", not OR), also finds the
 * words it begins ("groc" → groceries). Returns the rest, still in web-search syntax as typed, and
 * that word; `prefix` is null when the last word is not one (then `words` is the whole text);
 * `or` says the word follows an OR.
 */
export function searchParts(q: string): { words: string; prefix: string | null; or: boolean } {
  const last = /(^|\s)([\p{L}\p{N}]+)\s*$/u.exec(q);
  if (!last || last[2]!.length < SEARCH_PREFIX_MIN || /^or$/i.test(last[2]!))
    return { words: q, prefix: null, or: false };
  const before = q.slice(0, last.index + last[1]!.length);
  // Inside an open quote the word is part of a phrase, matched as typed.
  if ((before.match(/"/g) ?? []).length % 2 === 1) return { words: q, prefix: null, or: false };
  // "passport or dent": the word being typed is the other side of an OR.
  const orBefore = /(^|\s)or\s*$/i.exec(before);
  const words = (orBefore ? before.slice(0, orBefore.index) : before).trimEnd();
  return { words, prefix: last[2]!.toLowerCase(), or: orBefore !== null };
}

/** The shortest text a typo-tolerant search runs on: in fewer letters a "typo" is another word. */
export const FUZZY_MIN_LETTERS = 4;

/**
 * Tolerance for a typo: when no task matches the words of a search ("grocreies"), tasks whose
 * title holds something close to them are found instead (trigram word similarity in PostgreSQL).
 * This is the text compared: the search's words as typed, without its syntax (quotes, OR, and
 * words negated with "-", which a close match must not bring back). Null when fewer than
 * FUZZY_MIN_LETTERS letters and digits are left: no fallback then.
 */
export function fuzzySearchText(q: string): string | null {
  const words = q
    .replace(/"/g, " ")
    .split(/\s+/)
    .filter((word) => word.length > 0 && !word.startsWith("-") && !/^or$/i.test(word))
    .map((word) => word.replace(/[^\p{L}\p{N}]+/gu, " ").trim())
    .filter((word) => word.length > 0);
  const text = words.join(" ");
  return text.replace(/\s/g, "").length >= FUZZY_MIN_LETTERS ? text : null;
}

/**
 * `GET /v1/tasks` query parameters → a TaskListQuery. Unknown parameters are refused by name. An
 * empty known parameter (`?q=&tags=`, as an HTML form with blank fields sends) counts as absent.
 */
export const taskListQuerySchema = z
  .preprocess(
    (raw) =>
      raw && typeof raw === "object" && !Array.isArray(raw)
        ? Object.fromEntries(
            Object.entries(raw).filter(([key, value]) => !(value === "" && key in paramsSchema.shape)),
          )
        : raw,
    paramsSchema,
  )
  .transform((params, ctx): TaskListQuery => {
    // `list:Work` or `list:"Side project"` in the search is a filter, not words to find.
    const { rest, list } = takeListToken(params.q ?? "");
    const q = rest || null;
    const sort: Sort = params.sort ?? (q ? "relevance" : "due");
    const order: Order = params.order ?? DEFAULT_ORDER[sort];
    if (sort === "relevance" && !q) {
      ctx.issues.push({
        code: "custom",
        path: ["sort"],
        input: params.sort,
        message: "relevance needs a search text (q)",
      });
    }
    if (params.due_from && params.due_to && params.due_from >= params.due_to) {
      ctx.issues.push({
        code: "custom",
        path: ["due_to"],
        input: params.due_to,
        message: "must be after due_from",
      });
    }
    let after: CursorKey | null = null;
    if (params.cursor !== undefined) {
      const decoded = decodeCursor(params.cursor, { sort, order, q });
      if (decoded.ok) after = decoded.key;
      else
        ctx.issues.push({ code: "custom", path: ["cursor"], input: params.cursor, message: decoded.reason });
    }
    return {
      q,
      status: params.status ?? "all",
      priorities: params.priority ?? null,
      tags: params.tags ?? null,
      tagMode: params.tag_mode ?? "any",
      dueFrom: params.due_from ?? null,
      dueTo: params.due_to ?? null,
      overdue: params.overdue ?? null,
      noDue: params.no_due ?? null,
      listId: params.list_id ?? null,
      listName: list,
      parentId: params.parent_id ?? null,
      topLevel: params.top_level ?? false,
      sort,
      order,
      limit: params.limit ?? LIST_LIMITS.defaultLimit,
      after,
    };
  });
