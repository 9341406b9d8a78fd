// Poisoned values: well-typed input PostgreSQL cannot take, which once reached it as a 500 (issue 12,
// finding 7): text with a NUL or an unpaired UTF-16 surrogate, and instants RFC 3339 can write but
// outside what Orbit stores (year 0, before 1970, after 9999) or beyond it (expanded years). And the
// requests of every command and query route, each with a valid body, query or tool call that the
// poison replaces one string of, so each value meets each field the way a real client sends it.
import fc from "fast-check";

/** Text PostgreSQL refuses: NUL in `text` (22021) and `jsonb` (22P05), lone surrogates in `jsonb`. */
export const POISONED_TEXT = [
  "\u0000",
  "milk\u0000eggs",
  "\uD800",
  "\uDC00",
  "a\uDBFFb",
  "\uDFFF😀",
] as const;

/** Instants outside 1970-01-01..9999-12-31 (each RFC 3339 but the last two, JavaScript's own forms). */
export const POISONED_INSTANTS = [
  "0000-01-01T00:00:00Z",
  "0000-12-31T23:59:59.999+00:00",
  "1969-12-31T23:59:59Z",
  "9999-12-31T23:00:00-05:00",
  "+275760-09-13T00:00:00.000Z",
  "-000001-01-01T00:00:00.000Z",
] as const;

export const POISON = [...POISONED_TEXT, ...POISONED_INSTANTS];

const INSTANT_LIKE = /^\d{4}-\d{2}-\d{2}T/;

export type JsonPath = (string | number)[];

/** Every string leaf of `value` with its path (object keys and array indexes). */
function stringLeaves(value: unknown, path: JsonPath = []): JsonPath[] {
  if (typeof value === "string") return [path];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringLeaves(item, [...path, index]));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([key, item]) => stringLeaves(item, [...path, key]));
  return [];
}

function replaced(value: unknown, path: JsonPath, leaf: string): unknown {
  if (path.length === 0) return leaf;
  const [head, ...rest] = path;
  if (Array.isArray(value))
    return value.map((item, index) => (index === head ? replaced(item, rest, leaf) : item));
  const record = value as Record<string, unknown>;
  return { ...record, [head!]: replaced(record[head!], rest, leaf) };
}

export interface Poisoned<T> {
  /** Where the poison is, in the request's own terms (a body member, a query parameter). */
  path: JsonPath;
  value: string;
  request: T;
}

/** Characters that poison any text they are in: set inside a valid value, they pass its other rules. */
const EMBEDDED = ["\u0000", "\uD800", "\uDC00"] as const;

/**
 * `base` with one string leaf poisoned: replaced by each text poison, and its valid value with a
 * NUL or a lone surrogate inside (so length and format rules pass and only the poison is wrong);
 * at the leaves that hold an instant, also replaced by each instant poison.
 */
export function poisonedVariants(base: unknown): Poisoned<unknown>[] {
  return stringLeaves(base).flatMap((path) => {
    const original = path.reduce<unknown>(
      (node, key) => (node as Record<string, unknown>)[key],
      base,
    ) as string;
    const middle = Math.ceil(original.length / 2);
    const values = [
      ...(INSTANT_LIKE.test(original) ? POISON : POISONED_TEXT),
      ...EMBEDDED.map((poison) => `${original.slice(0, middle)}${poison}${original.slice(middle)}`),
    ];
    return values.map((value) => ({ path, value, request: replaced(base, path, value) }));
  });
}

/** A valid request of a route, as a client sends it. */
export interface RouteRequest {
  /** The function (functions/<name>) that serves it. */
  fn: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The route's path, e.g. "/v1/tasks/:id". */
  path: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

export interface PoisonedRequest extends RouteRequest {
  /** Where the poison is: ["body", …], ["query", name] or ["params", name]. */
  at: JsonPath;
  value: string;
}

/** Every poisoned variant of each request: its body's strings, its query and path parameters. */
export function poisonedRequests(requests: RouteRequest[]): PoisonedRequest[] {
  return requests.flatMap((request) =>
    (["body", "query", "params"] as const).flatMap((part) =>
      request[part] === undefined
        ? []
        : poisonedVariants(request[part]).map((variant) => ({
            ...request,
            [part]: variant.request,
            at: [part, ...variant.path],
            value: variant.value,
          })),
    ),
  );
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A URL carries only well-formed text: percent-encoding a lone surrogate is an error, so it goes as
 * U+FFFD (as a browser's URLSearchParams sends it). A body carries any poison intact.
 */
export const arrivesIntact = (request: PoisonedRequest): boolean =>
  request.at[0] === "body" || !new RegExp(LONE_SURROGATE.source).test(request.value);

/** The request's URL path and query string. */
export function requestUrl(request: RouteRequest): string {
  const path = request.path.replace(/:([A-Za-z_]+)/g, (_whole, name: string) =>
    encodeURIComponent(request.params![name]!.replace(LONE_SURROGATE, "\uFFFD")),
  );
  const query = new URLSearchParams(
    Object.entries(request.query ?? {}).map(([k, v]) => [k, v.replace(LONE_SURROGATE, "\uFFFD")]),
  ).toString();
  return query ? `${path}?${query}` : path;
}

/** One of `requests` poisoned, chosen by fast-check (run each at least once with `examples`). */
export function poisonedRequestArb(requests: PoisonedRequest[]): fc.Arbitrary<PoisonedRequest> {
  return fc.constantFrom(...requests);
}
