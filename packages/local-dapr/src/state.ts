// The state API (https://docs.dapr.io/reference/api/state_api/) for every state.* component,
// kept in dapr_local.state whatever the component's own connection settings say: locally the
// sidecar's database is the store. Semantics follow daprd 1.18.2 over state.postgresql v2
// (components-contrib state/postgresql/v2 doSet/doDelete, dapr pkg/api/http onPostState,
// pkg/components/state/bulk.go): random-UUID ETags; an ETag that is not a UUID is an ETag mismatch
// (409); first-write without an ETag only inserts ("no item was updated", 500); a save of several
// items is not atomic (each item is written on its own, the failures are joined); inside a
// transaction every failure is 500. Values are stored as daprd re-encodes them (Go's
// json.Marshal: sorted keys, HTML-safe strings). Keys are `<appId>||<key>` unless `keyPrefix`
// says otherwise.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { goJsonMarshal, goQuote } from "./go-format.ts";
import { ApiError, parseJsonBody, readBody, sendEmpty, sendJson, type Router } from "./http-util.ts";
import type { ComponentResource } from "./resources.ts";

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A state store's answer to one operation, as components-contrib words it. */
class StoreError extends Error {
  constructor(
    message: string,
    /** A state.ETagError (always of kind "mismatch" in state.postgresql v2). */
    readonly etag = false,
  ) {
    super(message);
  }
}

const ETAG_MISMATCH = "possible etag mismatch. error from state store";

function etagMismatch(cause?: string): StoreError {
  return new StoreError(cause ? `${ETAG_MISMATCH}: ${cause}` : ETAG_MISMATCH, true);
}

const HEX = /^[0-9a-fA-F]{2}$/;

/**
 * github.com/google/uuid Parse (v1.6.0), which state.postgresql v2 applies to every ETag: the
 * canonical form, `urn:uuid:…`, `{…}` (any two characters around it, unchecked) and 32 hex
 * digits; the canonical lower-case text, or the error it gives.
 */
export function parseUuid(text: string): { uuid: string } | { error: string } {
  const bytes = Buffer.from(text, "utf8");
  let s = bytes;
  switch (bytes.length) {
    case 36:
      break;
    case 36 + 9: {
      const prefix = bytes.subarray(0, 9).toString("latin1");
      if (prefix.toLowerCase() !== "urn:uuid:") {
        return { error: `invalid urn prefix: ${goQuote(bytes.subarray(0, 9).toString("utf8"))}` };
      }
      s = bytes.subarray(9);
      break;
    }
    case 36 + 2:
      s = bytes.subarray(1);
      break;
    case 32: {
      const hex = bytes.toString("latin1");
      for (let i = 0; i < 32; i += 2)
        if (!HEX.test(hex.slice(i, i + 2))) return { error: "invalid UUID format" };
      const h = hex.toLowerCase();
      return {
        uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
      };
    }
    default:
      return { error: `invalid UUID length: ${bytes.length}` };
  }
  const dash = 0x2d;
  if (s[8] !== dash || s[13] !== dash || s[18] !== dash || s[23] !== dash)
    return { error: "invalid UUID format" };
  const canonical = s.subarray(0, 36).toString("latin1");
  for (const x of [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]) {
    if (!HEX.test(canonical.slice(x, x + 2))) return { error: "invalid UUID format" };
  }
  return { uuid: canonical.toLowerCase() };
}

export interface StateItem {
  key: string;
  value: unknown;
  etag?: string;
  metadata: Record<string, string>;
  concurrency: string;
  consistency: string;
}

/** The JSON type name encoding/json puts in an UnmarshalTypeError. */
function jsonType(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (typeof value === "boolean") return "bool";
  return typeof value === "object" ? "object" : typeof value;
}

/** json.Decode's "cannot unmarshal" error, as daprd answers it (400 ERR_MALFORMED_REQUEST). */
function typeError(value: unknown, field: string | null, goType: string): ApiError {
  const into = field === null ? "Go value" : `Go struct field ${field}`;
  return new ApiError(
    400,
    "ERR_MALFORMED_REQUEST",
    `json: cannot unmarshal ${jsonType(value)} into ${into} of type ${goType}`,
  );
}

/** A string field of a state.SetRequest: absent and null are "", anything but a string is a type error. */
function stringField(value: unknown, field: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw typeError(value, field, "string");
  return value;
}

export class StateStores {
  constructor(
    private readonly pool: pg.Pool,
    private readonly appId: string,
    private readonly stores: Map<string, ComponentResource>,
  ) {}

  private store(name: string): ComponentResource {
    if (this.stores.size === 0) {
      throw new ApiError(500, "ERR_STATE_STORE_NOT_CONFIGURED", `state store ${name} is not configured`);
    }
    const store = this.stores.get(name);
    if (!store) throw new ApiError(400, "ERR_STATE_STORE_NOT_FOUND", `state store ${name} is not found`);
    return store;
  }

  /**
   * dapr pkg/components/state/state_config.go: the `keyPrefix` metadata (any case; its value
   * lower-cased) is appid (default) | name | namespace | none | <custom>; one given empty is a
   * custom prefix "" (keys `||<key>`).
   */
  private storedKey(store: ComponentResource, key: string): string {
    if (key.includes("||")) {
      throw new ApiError(
        400,
        "ERR_MALFORMED_REQUEST",
        `api error: code = InvalidArgument desc = input key/keyPrefix '${key}' can't contain '||'`,
      );
    }
    const field = Object.keys(store.metadata).find((name) => name.toLowerCase() === "keyprefix");
    const prefix = field === undefined ? "appid" : store.metadata[field]!.toLowerCase();
    switch (prefix) {
      case "none":
        return key;
      case "appid":
      case "namespace":
        return `${this.appId}||${key}`;
      case "name":
        return `${store.name}||${key}`;
      default:
        return `${prefix}||${key}`;
    }
  }

  /** One state.SetRequest of a save (`where`: "SetRequest") or a transaction. */
  parseItem(raw: unknown, where: string): StateItem {
    if (!isObject(raw)) throw typeError(raw, null, "state.SetRequest");
    const key = stringField(raw.key, `${where}.key`);
    const etag = stringField(raw.etag, `${where}.etag`);
    const metadata: Record<string, string> = {};
    if (raw.metadata !== undefined && raw.metadata !== null) {
      if (!isObject(raw.metadata)) throw typeError(raw.metadata, `${where}.metadata`, "map[string]string");
      for (const [name, value] of Object.entries(raw.metadata)) {
        metadata[name] = stringField(value, `${where}.metadata`);
      }
    }
    let options: Obj = {};
    if (raw.options !== undefined && raw.options !== null) {
      if (!isObject(raw.options)) throw typeError(raw.options, `${where}.options`, "state.SetStateOption");
      options = raw.options;
    }
    return {
      key,
      value: raw.value,
      etag: etag || undefined,
      metadata,
      concurrency: stringField(options.concurrency, `${where}.options.concurrency`),
      consistency: stringField(options.consistency, `${where}.options.consistency`),
    };
  }

  /** state.postgresql v2 doSet: the error a store would return, or null. */
  private async set(
    db: pg.Pool | pg.PoolClient,
    store: ComponentResource,
    item: StateItem,
  ): Promise<StoreError | null> {
    // state.CheckRequestOptions
    if (item.consistency && item.consistency !== "strong" && item.consistency !== "eventual") {
      return new StoreError(`unrecognized consistency model '${item.consistency}'`);
    }
    if (item.concurrency && item.concurrency !== "first-write" && item.concurrency !== "last-write") {
      return new StoreError(`unrecognized concurrency model '${item.concurrency}'`);
    }
    const value = Buffer.from(goJsonMarshal(item.value));
    // stateutils.ParseTTL: strconv.ParseInt(v, 10, 0); -1 … MaxInt32; 0 and -1 never expire.
    let ttl = 0;
    const ttlText = item.metadata.ttlInSeconds ?? "";
    if (ttlText !== "") {
      const prefix = "error parsing TTL: incorrect value for metadata 'ttlInSeconds'";
      if (!/^[+-]?\d+$/.test(ttlText)) {
        return new StoreError(`${prefix}: strconv.ParseInt: parsing ${goQuote(ttlText)}: invalid syntax`);
      }
      const parsed = BigInt(ttlText);
      if (parsed > 2n ** 63n - 1n || parsed < -(2n ** 63n)) {
        return new StoreError(`${prefix}: strconv.ParseInt: parsing ${goQuote(ttlText)}: value out of range`);
      }
      if (parsed < -1n || parsed > 2n ** 31n - 1n) return new StoreError(`${prefix}: must be -1 or greater`);
      ttl = Number(parsed);
    }
    const expires = ttl > 0 ? new Date(Date.now() + ttl * 1000) : null;
    let etag: string | undefined;
    if (item.etag) {
      const parsed = parseUuid(item.etag);
      if ("error" in parsed) return etagMismatch(parsed.error);
      etag = parsed.uuid;
    }
    const key = this.storedKey(store, item.key);
    const next = randomUUID();
    let result: pg.QueryResult;
    if (etag) {
      result = await db.query(
        `UPDATE dapr_local.state SET value = $3, etag = $4, expires_at = $5, updated_at = now()
         WHERE store = $1 AND key = $2 AND etag = $6 AND (expires_at IS NULL OR expires_at >= now())`,
        [store.name, key, value, next, expires, etag],
      );
    } else {
      // An upsert either way: with first-write it only replaces a row that has expired.
      const firstWrite = item.concurrency === "first-write";
      result = await db.query(
        `INSERT INTO dapr_local.state (store, key, value, etag, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (store, key) DO UPDATE SET value = $3, etag = $4, expires_at = $5, updated_at = now()
         ${firstWrite ? "WHERE dapr_local.state.expires_at IS NOT NULL AND dapr_local.state.expires_at < now()" : ""}`,
        [store.name, key, value, next, expires],
      );
    }
    if (result.rowCount === 1) return null;
    return etag ? etagMismatch() : new StoreError("no item was updated");
  }

  /** state.postgresql v2 doDelete (an ETag'd delete ignores expiry, as there). */
  private async remove(
    db: pg.Pool | pg.PoolClient,
    store: ComponentResource,
    key: string,
    etagText: string | undefined,
  ): Promise<StoreError | null> {
    const stored = this.storedKey(store, key);
    if (!etagText) {
      await db.query("DELETE FROM dapr_local.state WHERE store = $1 AND key = $2", [store.name, stored]);
      return null;
    }
    const parsed = parseUuid(etagText);
    if ("error" in parsed) return etagMismatch(parsed.error);
    const result = await db.query(
      "DELETE FROM dapr_local.state WHERE store = $1 AND key = $2 AND etag = $3",
      [store.name, stored, parsed.uuid],
    );
    return result.rowCount === 1 ? null : etagMismatch();
  }

  /**
   * POST /v1.0/state/{store}. One item is written as it is (an ETag error is 409, any other 500).
   * Several go through the store's BulkSet, which state.postgresql v2 does not have: each item is
   * written on its own (the others are saved whatever happens to one) and the failures are joined
   * (errors.Join, one per line). Any ETag failure among them makes it 409: with ETag failures only,
   * "possible etag mismatch. error from state store: <the joined failures>"; beside other
   * failures, the first ETag failure alone. Without one it is 500 with the joined failures.
   * daprd writes the items in parallel (the joined order is then the order they finished); here
   * they are written in order.
   */
  async save(storeName: string, body: unknown): Promise<void> {
    const store = this.store(storeName);
    if (!Array.isArray(body)) throw typeError(body, null, "[]state.SetRequest");
    const items = body.map((raw) => this.parseItem(raw, "SetRequest"));
    if (items.length === 0) return;
    for (const item of items) {
      if (!item.key) throw new ApiError(400, "ERR_MALFORMED_REQUEST", '"key" is a required field');
      this.storedKey(store, item.key);
    }
    const failures: StoreError[] = [];
    for (const item of items) {
      const failure = await this.set(this.pool, store, item);
      if (failure) failures.push(failure);
    }
    if (failures.length === 0) return;
    let status = 500;
    let message = failures.map((f) => f.message).join("\n");
    const firstEtag = failures.find((f) => f.etag);
    if (items.length === 1) status = failures[0]!.etag ? 409 : 500;
    else if (failures.every((f) => f.etag)) {
      status = 409;
      message = `${ETAG_MISMATCH}: ${message}`;
    } else if (firstEtag) {
      status = 409;
      message = firstEtag.message;
    }
    throw new ApiError(
      status,
      "ERR_STATE_SAVE",
      `failed saving state in state store ${storeName}: ${message}`,
    );
  }

  async get(storeName: string, key: string): Promise<{ value: Buffer; etag: string } | null> {
    const store = this.store(storeName);
    const { rows } = await this.pool.query<{ value: Buffer; etag: string }>(
      "SELECT value, etag FROM dapr_local.state WHERE store = $1 AND key = $2 AND (expires_at IS NULL OR expires_at >= now())",
      [store.name, this.storedKey(store, key)],
    );
    return rows[0] ?? null;
  }

  async bulkGet(storeName: string, body: unknown): Promise<Obj[]> {
    const store = this.store(storeName);
    if (!isObject(body) || !Array.isArray(body.keys) || body.keys.some((k) => typeof k !== "string")) {
      throw new ApiError(400, "ERR_MALFORMED_REQUEST", 'the body must be {"keys": ["…"]}');
    }
    const keys = body.keys as string[];
    const stored = keys.map((k) => this.storedKey(store, k));
    const { rows } = await this.pool.query<{
      key: string;
      value: Buffer;
      etag: string;
      expires_at: Date | null;
    }>(
      `SELECT key, value, etag, expires_at FROM dapr_local.state
       WHERE store = $1 AND key = ANY($2::text[]) AND (expires_at IS NULL OR expires_at >= now())`,
      [store.name, stored],
    );
    const found = new Map(rows.map((r) => [r.key, r]));
    return keys.map((key, i) => {
      const row = found.get(stored[i]!);
      if (!row) return { key };
      const item: Obj = { key, data: JSON.parse(row.value.toString("utf8")) as unknown, etag: row.etag };
      // state.GetRespMetaKeyTTLExpireTime, RFC 3339 in UTC (whole seconds).
      if (row.expires_at) {
        item.metadata = { ttlExpireTime: row.expires_at.toISOString().replace(/\.\d+Z$/, "Z") };
      }
      return item;
    });
  }

  /** DELETE /v1.0/state/{store}/{key}: an ETag failure is 409, as a bad ETag is. */
  async delete(storeName: string, key: string, etag: string | undefined): Promise<void> {
    const store = this.store(storeName);
    const failure = await this.remove(this.pool, store, key, etag);
    if (failure) {
      throw new ApiError(
        failure.etag ? 409 : 500,
        "ERR_STATE_DELETE",
        `failed deleting state with key ${key}: ${failure.message}`,
      );
    }
  }

  /** POST /v1.0/state/{store}/transaction: all-or-nothing; any failure (an ETag one too) is 500. */
  async transaction(storeName: string, body: unknown): Promise<void> {
    const store = this.store(storeName);
    if (!isObject(body) || !Array.isArray(body.operations)) {
      throw new ApiError(400, "ERR_MALFORMED_REQUEST", 'the body must be {"operations": [...]}');
    }
    const operations = body.operations.map((raw, i) => {
      if (!isObject(raw))
        throw new ApiError(400, "ERR_MALFORMED_REQUEST", `operations[${i}] must be an object`);
      if (raw.operation !== "upsert" && raw.operation !== "delete") {
        throw new ApiError(
          400,
          "ERR_NOT_SUPPORTED_STATE_OPERATION",
          `operation type ${String(raw.operation)} not supported`,
        );
      }
      const item = this.parseItem(raw.request, "SetRequest");
      if (!item.key)
        throw new ApiError(400, "ERR_MALFORMED_REQUEST", `operations[${i}].request.key is required`);
      this.storedKey(store, item.key);
      return { operation: raw.operation, item };
    });
    if (operations.length === 0) return;
    const client = await this.pool.connect();
    let failure: StoreError | null = null;
    try {
      await client.query("BEGIN");
      for (const { operation, item } of operations) {
        failure =
          operation === "upsert"
            ? await this.set(client, store, item)
            : await this.remove(client, store, item.key, item.etag);
        if (failure) break;
      }
      await client.query(failure ? "ROLLBACK" : "COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    if (failure) {
      throw new ApiError(
        500,
        "ERR_STATE_TRANSACTION",
        `error while executing state transaction: ${failure.message}`,
      );
    }
  }
}

/** The state API: bulk get, transactions, save, get and delete, for every state store. */
export function registerStateRoutes(router: Router, state: StateStores): void {
  router.on(["POST", "PUT"], "/v1.0/state/:store/bulk", async ({ req, res, params }) => {
    sendJson(res, 200, await state.bulkGet(params.store!, parseJsonBody(await readBody(req))));
  });
  router.on(["POST", "PUT"], "/v1.0/state/:store/transaction", async ({ req, res, params }) => {
    await state.transaction(params.store!, parseJsonBody(await readBody(req)));
    sendEmpty(res);
  });
  router.on(["POST", "PUT"], "/v1.0/state/:store", async ({ req, res, params }) => {
    await state.save(params.store!, parseJsonBody(await readBody(req)));
    sendEmpty(res);
  });
  router.on("GET", "/v1.0/state/:store/*key", async ({ res, params }) => {
    const item = await state.get(params.store!, params.key!);
    if (!item) sendEmpty(res);
    else {
      res.writeHead(200, {
        "content-type": "application/json",
        etag: item.etag,
        "content-length": item.value.length,
      });
      res.end(item.value);
    }
  });
  router.on("DELETE", "/v1.0/state/:store/*key", async ({ req, res, params }) => {
    const ifMatch = req.headers["if-match"];
    await state.delete(
      params.store!,
      params.key!,
      typeof ifMatch === "string" && ifMatch ? ifMatch : undefined,
    );
    sendEmpty(res);
  });
}
