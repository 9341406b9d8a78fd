// The state API (https://docs.dapr.io/reference/api/state_api/) for every state.* component,
// kept in dapr_local.state whatever the component's own connection settings say: locally the
// sidecar's database is the store. Semantics follow state.postgresql v2: random-UUID ETags, a
// mismatch is 409 (500 inside a transaction), an ETag that is not a UUID is 400, first-write
// without an ETag means "only if absent", keys are `<appId>||<key>` unless `keyPrefix` says otherwise.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { ApiError } from "./http-util.ts";
import type { ComponentResource } from "./resources.ts";

type Obj = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

class EtagMismatch extends Error {}

export interface StateItem {
  key: string;
  value: unknown;
  etag?: string;
  metadata: Record<string, string>;
  concurrency: "first-write" | "last-write";
}

export class StateStores {
  constructor(
    private readonly pool: pg.Pool,
    private readonly appId: string,
    private readonly stores: Map<string, ComponentResource>,
  ) {}

  private store(name: string): ComponentResource {
    if (this.stores.size === 0) {
      throw new ApiError(500, "ERR_STATE_STORE_NOT_CONFIGURED", "state store is not configured");
    }
    const store = this.stores.get(name);
    if (!store) throw new ApiError(400, "ERR_STATE_STORE_NOT_FOUND", `state store ${name} is not found`);
    return store;
  }

  /** dapr pkg/components/state/state_config.go: appid (default) | name | namespace | none | <custom>. */
  private storedKey(store: ComponentResource, key: string): string {
    if (!key) throw new ApiError(400, "ERR_MALFORMED_REQUEST", "a state key must not be empty");
    if (key.includes("||")) {
      throw new ApiError(400, "ERR_MALFORMED_REQUEST", `input key/keyPrefix '${key}' can't contain '||'`);
    }
    const prefix = store.metadata.keyPrefix ?? "appid";
    switch (prefix.toLowerCase()) {
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

  private checkEtag(etag: string | undefined, errorCode: string): void {
    if (etag !== undefined && etag !== "" && !UUID.test(etag)) {
      throw new ApiError(400, errorCode, `invalid etag value: ${etag} is not a valid ETag for this store`);
    }
  }

  parseItem(raw: unknown, where: string): StateItem {
    if (!isObject(raw)) throw new ApiError(400, "ERR_MALFORMED_REQUEST", `${where} must be an object`);
    if (typeof raw.key !== "string" || raw.key === "") {
      throw new ApiError(400, "ERR_MALFORMED_REQUEST", `${where}.key is required`);
    }
    const etag = raw.etag === undefined || raw.etag === null ? undefined : String(raw.etag);
    const options = isObject(raw.options) ? raw.options : {};
    const concurrency = options.concurrency ?? "last-write";
    if (concurrency !== "first-write" && concurrency !== "last-write") {
      throw new ApiError(
        400,
        "ERR_MALFORMED_REQUEST",
        `${where}.options.concurrency must be first-write or last-write`,
      );
    }
    const metadata: Record<string, string> = {};
    if (isObject(raw.metadata)) for (const [k, v] of Object.entries(raw.metadata)) metadata[k] = String(v);
    return { key: raw.key, value: raw.value, etag, metadata, concurrency };
  }

  private ttlSeconds(item: StateItem): number | null {
    const raw = item.metadata.ttlInSeconds;
    if (raw === undefined) return null;
    if (!/^-?\d+$/.test(raw)) {
      throw new ApiError(
        400,
        "ERR_MALFORMED_REQUEST",
        `metadata.ttlInSeconds of "${item.key}" must be an integer`,
      );
    }
    return Number(raw) < 0 ? null : Number(raw);
  }

  private async upsert(client: pg.PoolClient, store: ComponentResource, item: StateItem): Promise<void> {
    const key = this.storedKey(store, item.key);
    const value = Buffer.from(JSON.stringify(item.value ?? null));
    const ttl = this.ttlSeconds(item);
    const expires = ttl === null ? null : new Date(Date.now() + ttl * 1000);
    const etag = randomUUID();
    let result: pg.QueryResult;
    if (item.etag) {
      result = await client.query(
        `UPDATE dapr_local.state SET value = $3, etag = $4, expires_at = $5, updated_at = now()
         WHERE store = $1 AND key = $2 AND etag = $6 AND (expires_at IS NULL OR expires_at > now())`,
        [store.name, key, value, etag, expires, item.etag],
      );
    } else if (item.concurrency === "first-write") {
      result = await client.query(
        `INSERT INTO dapr_local.state (store, key, value, etag, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (store, key) DO UPDATE SET value = $3, etag = $4, expires_at = $5, updated_at = now()
         WHERE dapr_local.state.expires_at IS NOT NULL AND dapr_local.state.expires_at <= now()`,
        [store.name, key, value, etag, expires],
      );
    } else {
      result = await client.query(
        `INSERT INTO dapr_local.state (store, key, value, etag, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (store, key) DO UPDATE SET value = $3, etag = $4, expires_at = $5, updated_at = now()`,
        [store.name, key, value, etag, expires],
      );
    }
    if (result.rowCount === 0) throw new EtagMismatch(`possible etag mismatch for key ${item.key}`);
  }

  private async remove(
    client: pg.PoolClient,
    store: ComponentResource,
    key: string,
    etag?: string,
  ): Promise<void> {
    const stored = this.storedKey(store, key);
    if (etag) {
      const result = await client.query(
        "DELETE FROM dapr_local.state WHERE store = $1 AND key = $2 AND etag = $3 AND (expires_at IS NULL OR expires_at > now())",
        [store.name, stored, etag],
      );
      if (result.rowCount === 0) throw new EtagMismatch(`possible etag mismatch for key ${key}`);
    } else {
      await client.query("DELETE FROM dapr_local.state WHERE store = $1 AND key = $2", [store.name, stored]);
    }
  }

  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** POST /v1.0/state/{store}: all items or none (state.postgresql runs BulkSet in a transaction). */
  async save(storeName: string, body: unknown): Promise<void> {
    const store = this.store(storeName);
    if (!Array.isArray(body))
      throw new ApiError(400, "ERR_MALFORMED_REQUEST", "the body must be a JSON array of state items");
    const items = body.map((raw, i) => this.parseItem(raw, `[${i}]`));
    for (const item of items) this.checkEtag(item.etag, "ERR_STATE_SAVE");
    if (items.length === 0) return;
    try {
      await this.inTransaction(async (client) => {
        for (const item of items) await this.upsert(client, store, item);
      });
    } catch (error) {
      if (error instanceof EtagMismatch) {
        throw new ApiError(
          409,
          "ERR_STATE_SAVE",
          `failed saving state in state store ${storeName}: ${error.message}`,
        );
      }
      throw error;
    }
  }

  async get(storeName: string, key: string): Promise<{ value: Buffer; etag: string } | null> {
    const store = this.store(storeName);
    const { rows } = await this.pool.query<{ value: Buffer; etag: string }>(
      "SELECT value, etag FROM dapr_local.state WHERE store = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > now())",
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
    const { rows } = await this.pool.query<{ key: string; value: Buffer; etag: string }>(
      `SELECT key, value, etag FROM dapr_local.state
       WHERE store = $1 AND key = ANY($2::text[]) AND (expires_at IS NULL OR expires_at > now())`,
      [store.name, stored],
    );
    const found = new Map(rows.map((r) => [r.key, r]));
    return keys.map((key, i) => {
      const row = found.get(stored[i]!);
      if (!row) return { key };
      return { key, data: JSON.parse(row.value.toString("utf8")) as unknown, etag: row.etag };
    });
  }

  async delete(storeName: string, key: string, etag: string | undefined): Promise<void> {
    const store = this.store(storeName);
    this.checkEtag(etag, "ERR_STATE_DELETE");
    try {
      await this.inTransaction((client) => this.remove(client, store, key, etag));
    } catch (error) {
      if (error instanceof EtagMismatch) {
        throw new ApiError(
          409,
          "ERR_STATE_DELETE",
          `failed deleting state with key ${key}: ${error.message}`,
        );
      }
      throw error;
    }
  }

  /** POST /v1.0/state/{store}/transaction: all-or-nothing; any failure (an ETag mismatch too) is 500. */
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
      const item = this.parseItem(raw.request, `operations[${i}].request`);
      this.checkEtag(item.etag, "ERR_STATE_TRANSACTION");
      return { operation: raw.operation, item };
    });
    try {
      await this.inTransaction(async (client) => {
        for (const { operation, item } of operations) {
          if (operation === "upsert") await this.upsert(client, store, item);
          else await this.remove(client, store, item.key, item.etag);
        }
      });
    } catch (error) {
      if (error instanceof EtagMismatch) {
        throw new ApiError(
          500,
          "ERR_STATE_TRANSACTION",
          `error while executing state transaction: ${error.message}`,
        );
      }
      throw error;
    }
  }
}
