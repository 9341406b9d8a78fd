// Recognises "the database is unreachable" among the shapes pg, the pool and Prisma's adapter give
// it, so the host answers 503 (retry later) instead of 500.
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
// Class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too many connections).
const UNAVAILABLE_SQLSTATE = /^(08|57P0[123]|53300)/;
// The driver adapter's own kinds for the same conditions (@prisma/adapter-pg's error mapping).
const UNAVAILABLE_KINDS = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|terminating connection|the database system is (starting up|shutting down)|Can't reach database server|Client has encountered a connection error|Connection ended unexpectedly|Server has closed the connection|not queryable/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  // A raw query's failure (P2010) carries the adapter's error in meta, not in cause.
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const current = pending.pop();
    if (!current || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    const e = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      originalCode?: unknown;
      kind?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (typeof e.kind === "string" && UNAVAILABLE_KINDS.has(e.kind)) return true;
    if (typeof e.code === "string" && (UNAVAILABLE_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code)))
      return true;
    if (typeof e.originalCode === "string" && UNAVAILABLE_SQLSTATE.test(e.originalCode)) return true;
    // P1001 can't reach the server, P1017 connection closed, P2024 pool timeout, P2028 a transaction
    // could not start in time (pool saturated under load: retry later, it is not our bug).
    if (e.code === "P1001" || e.code === "P1017" || e.code === "P2024" || e.code === "P2028") return true;
    if (typeof e.message === "string" && UNAVAILABLE_MESSAGE.test(e.message)) return true;
    pending.push(e.cause, e.meta?.driverAdapterError);
  }
  return false;
}

/** A unique-constraint violation (Prisma P2002 or SQLSTATE 23505), optionally on a given constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; message?: string; meta?: Record<string, unknown>; cause?: unknown };
  const text = `${e?.message ?? ""} ${JSON.stringify(e?.meta ?? {})}`;
  const matches = e?.code === "P2002" || e?.code === "23505" || /unique constraint|duplicate key/i.test(text);
  if (!matches) return e?.cause ? isUniqueViolation(e.cause, constraint) : false;
  return constraint ? text.includes(constraint) : true;
}
