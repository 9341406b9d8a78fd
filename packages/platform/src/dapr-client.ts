// The one Dapr client: a small fetch client of the sidecar's HTTP API (docs/decisions/005).
// @dapr/dapr is not used: it has no Jobs API, its publish/save return errors instead of throwing,
// and requiring it costs ~0.5 s of cold start with gRPC we never use.
export class SidecarUnavailableError extends Error {
  constructor(detail: string) {
    super(`The Dapr sidecar is not reachable: ${detail}`);
    this.name = "SidecarUnavailableError";
  }
}

export class DaprError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    operation: string,
  ) {
    super(`Dapr ${operation} failed with HTTP ${status}: ${body.slice(0, 300)}`);
    this.name = "DaprError";
  }
}

/** A state write or delete refused because the item's ETag no longer matches (Dapr answers 409). */
export class StateConflictError extends Error {
  constructor(readonly key: string) {
    super(`The state item ${key} changed since it was read (ETag mismatch).`);
    this.name = "StateConflictError";
  }
}

/** One item of a state save (https://docs.dapr.io/reference/api/state_api/#save-state). */
export interface StateSaveItem {
  key: string;
  value: unknown;
  /** Present: the write succeeds only while the stored item still has this ETag (first-write). */
  etag?: string;
  /** E.g. `{ ttlInSeconds: "2592000" }`. */
  metadata?: Record<string, string>;
  /** first-write without an ETag: the item must not exist yet (state.postgresql v2: insert only). */
  concurrency?: "first-write" | "last-write";
}

export interface CloudEventOut {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype: "application/json";
  data: unknown;
}

export interface JobSpec {
  schedule?: string;
  dueTime?: string;
  repeats?: number;
  ttl?: string;
  data?: unknown;
  overwrite?: boolean;
  failurePolicy?: { constant?: { interval?: string; maxRetries?: number }; drop?: Record<string, never> };
}

const JOB_DATA_TYPE_URL = "type.googleapis.com/google.protobuf.Value";

/**
 * A job's `data` as GET /v1.0/jobs/{name} returns it, back to the JSON value it was scheduled with.
 * daprd stores HTTP job data as a protobuf `Any` holding a `google.protobuf.Value` and answers with
 * protojson, i.e. `{"@type": "type.googleapis.com/google.protobuf.Value", "value": <the value>}`
 * (dapr pkg/api/universal/jobs.go ScheduleJobAlpha1HTTP, pkg/api/http/jobs.go onGetJobHandler).
 * A bare value (the docs' example, older stand-ins) is returned as it is, and so is an `Any` of
 * another type, which only a gRPC client can have scheduled.
 */
export function jobDataValue(data: unknown): unknown {
  if (data !== null && typeof data === "object" && !Array.isArray(data)) {
    const any = data as Record<string, unknown>;
    if (any["@type"] === JOB_DATA_TYPE_URL && Object.keys(any).length === 2 && "value" in any)
      return any.value;
  }
  return data;
}

export interface DaprClientOptions {
  host?: string;
  port: number;
  apiToken?: string;
  /** Per-call timeout; a hung sidecar must never hang a request. */
  timeoutMs?: number;
}

export class DaprClient {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: DaprClientOptions) {
    this.baseUrl = `http://${options.host ?? "127.0.0.1"}:${options.port}`;
    this.headers = options.apiToken ? { "dapr-api-token": options.apiToken } : {};
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  async request(
    method: string,
    path: string,
    init: {
      body?: unknown;
      contentType?: string;
      headers?: Record<string, string>;
      operation?: string;
      /**
       * Replaces the per-call timeout, for a caller that reads a long answer as it streams (the
       * timeout's signal would also cut the body off): it ends the call when it aborts.
       */
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers, ...init.headers };
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
      headers["content-type"] = init.contentType ?? "application/json";
    }
    try {
      return await fetch(this.baseUrl + path, {
        method,
        headers,
        body,
        signal: init.signal ?? AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new SidecarUnavailableError(`${method} ${path}: ${cause}`);
    }
  }

  private async expect(response: Response, ok: number[], operation: string): Promise<Response> {
    if (ok.includes(response.status)) return response;
    throw new DaprError(response.status, await response.text().catch(() => ""), operation);
  }

  /**
   * Publishes one CloudEvent as-is (`application/cloudevents+json`): its id, type and subject are
   * ours, so a redelivered event keeps its id; Dapr adds topic, pubsubname, traceparent and time.
   */
  async publishEvent(
    pubsub: string,
    topic: string,
    event: CloudEventOut,
    options: { partitionKey?: string; traceparent?: string } = {},
  ): Promise<void> {
    // metadata.content-type becomes a Kafka record header (Dapr turns publish metadata into record
    // headers), so Knative's KafkaSource reads the record as the structured CloudEvent itself instead
    // of wrapping it (docs/decisions/006, option b). Dapr subscribers are unaffected.
    const params = new URLSearchParams({ "metadata.content-type": "application/cloudevents+json" });
    if (options.partitionKey) params.set("metadata.partitionKey", options.partitionKey);
    const query = `?${params.toString()}`;
    const response = await this.request(
      "POST",
      `/v1.0/publish/${encodeURIComponent(pubsub)}/${encodeURIComponent(topic)}${query}`,
      {
        body: event,
        contentType: "application/cloudevents+json",
        headers: options.traceparent ? { traceparent: options.traceparent } : {},
      },
    );
    await this.expect(response, [200, 204], `publish to ${pubsub}/${topic}`);
  }

  // The Jobs API's stable path (Dapr 1.18; daprd serves /v1.0-alpha1/jobs with the same handlers,
  // deprecated: dapr pkg/api/http/jobs.go).
  // `data` is required: daprd 1.18.2 accepts a job without it but never delivers its trigger
  // (packages/local-dapr/README.md, "Jobs").
  async scheduleJob(name: string, job: JobSpec & { data: unknown }): Promise<void> {
    const response = await this.request("POST", `/v1.0/jobs/${encodeURIComponent(name)}`, {
      body: job,
    });
    await this.expect(response, [200, 204], `schedule job ${name}`);
  }

  /**
   * Returns null for a job that does not exist (Dapr answers 500 DAPR_SCHEDULER_GET_JOB). `data` is
   * the value as scheduled: see jobDataValue.
   */
  async getJob(name: string): Promise<(JobSpec & { name: string }) | null> {
    const response = await this.request("GET", `/v1.0/jobs/${encodeURIComponent(name)}`);
    if (response.status === 500 || response.status === 404) {
      const text = await response.text();
      if (response.status === 404 || text.includes("DAPR_SCHEDULER_GET_JOB")) return null;
      throw new DaprError(response.status, text, `get job ${name}`);
    }
    await this.expect(response, [200], `get job ${name}`);
    const job = (await response.json()) as JobSpec & { name: string };
    return "data" in job ? { ...job, data: jobDataValue(job.data) } : job;
  }

  /** Deleting a job that does not exist succeeds (204), as on daprd. */
  async deleteJob(name: string): Promise<void> {
    const response = await this.request("DELETE", `/v1.0/jobs/${encodeURIComponent(name)}`);
    await this.expect(response, [200, 204], `delete job ${name}`);
  }

  /** Invokes an output binding, e.g. `bindings.smtp` with operation "create". */
  async invokeBinding(
    name: string,
    operation: string,
    data: unknown,
    metadata: Record<string, string> = {},
  ): Promise<unknown> {
    const response = await this.request("POST", `/v1.0/bindings/${encodeURIComponent(name)}`, {
      body: { operation, data, metadata },
    });
    await this.expect(response, [200, 204], `binding ${name}`);
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  async getSecret(store: string, name: string): Promise<Record<string, string> | null> {
    const response = await this.request(
      "GET",
      `/v1.0/secrets/${encodeURIComponent(store)}/${encodeURIComponent(name)}`,
    );
    if (response.status === 204) return null;
    await this.expect(response, [200], `secret ${store}/${name}`);
    return (await response.json()) as Record<string, string>;
  }

  /** GET /v1.0/state/{store}/{key}: the value and its ETag, or null when there is none (204). */
  async getState<T = unknown>(store: string, key: string): Promise<{ value: T; etag: string } | null> {
    const response = await this.request("GET", this.statePath(store, key));
    if (response.status === 204) return null;
    await this.expect(response, [200], `get state ${store}/${key}`);
    const text = await response.text();
    if (!text) return null;
    return { value: JSON.parse(text) as T, etag: response.headers.get("etag") ?? "" };
  }

  /**
   * POST /v1.0/state/{store} with one item (so an ETag failure is the 409 daprd gives a single
   * item: with several, state.postgresql v2 writes each on its own). Throws StateConflictError on
   * 409; first-write without an ETag on an existing key is daprd's 500 "no item was updated", also
   * a StateConflictError here, as it means the same: someone wrote it first.
   */
  async saveState(store: string, item: StateSaveItem): Promise<void> {
    const { concurrency, ...rest } = item;
    const body = [
      {
        ...rest,
        ...(concurrency || item.etag ? { options: { concurrency: concurrency ?? "first-write" } } : {}),
      },
    ];
    const response = await this.request("POST", `/v1.0/state/${encodeURIComponent(store)}`, { body });
    if (response.status === 409) throw new StateConflictError(item.key);
    if (response.status === 500 && concurrency === "first-write" && !item.etag) {
      const text = await response.text();
      if (text.includes("no item was updated")) throw new StateConflictError(item.key);
      throw new DaprError(500, text, `save state ${store}/${item.key}`);
    }
    await this.expect(response, [200, 204], `save state ${store}/${item.key}`);
  }

  /** DELETE /v1.0/state/{store}/{key} (If-Match: etag when given); StateConflictError on 409. */
  async deleteState(store: string, key: string, etag?: string): Promise<void> {
    const response = await this.request("DELETE", this.statePath(store, key), {
      headers: etag ? { "if-match": etag } : {},
    });
    if (response.status === 409) throw new StateConflictError(key);
    await this.expect(response, [200, 204], `delete state ${store}/${key}`);
  }

  private statePath(store: string, key: string): string {
    return `/v1.0/state/${encodeURIComponent(store)}/${encodeURIComponent(key)}`;
  }

  /**
   * The URL of a method of another app through this sidecar, and the headers the sidecar needs
   * (its API token), for a client that makes its own requests (an MCP client's transport).
   */
  invokeUrl(appId: string, path: string): { url: string; headers: Record<string, string> } {
    return {
      url: `${this.baseUrl}/v1.0/invoke/${encodeURIComponent(appId)}/method/${path.replace(/^\//, "")}`,
      headers: { ...this.headers },
    };
  }

  /** Calls another app through its sidecar (service invocation); the upstream status is passed back. */
  invoke(
    appId: string,
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ) {
    return this.request(
      method,
      `/v1.0/invoke/${encodeURIComponent(appId)}/method/${path.replace(/^\//, "")}`,
      init,
    );
  }

  /** Resolves once the sidecar's components are ready (`/v1.0/healthz/outbound` answers 204). */
  async waitUntilReady(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const response = await this.request("GET", "/v1.0/healthz/outbound");
        if (response.status === 204) return true;
      } catch {
        // not up yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }
}
