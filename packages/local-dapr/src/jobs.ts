// The Jobs API (`/v1.0/jobs/{name}`, and the deprecated `/v1.0-alpha1/jobs/{name}`) and its
// scheduler, with the contract of daprd 1.18 (the version production pins): `overwrite` (409 when
// the name exists), `failurePolicy` (default constant 1 s × 3), sub-second precision, GET with
// `data` as a protojson Any. Jobs are namespaced by the app-id that scheduled them and fire
// only to that app-id, one instance (claimed with FOR UPDATE SKIP LOCKED), never before their due
// instant. A trigger that came due while the app was down fires when it is back (as Dapr ≥ 1.15
// stages undeliverable triggers). Next triggers are computed from the previous scheduled instant,
// so missed ticks are caught up (diagridio/go-etcd-cron internal/scheduler/repeats.go).
import type pg from "pg";
import type { Logger } from "#platform/logger.ts";
import { AppCallError, type AppChannel } from "./app-channel.ts";
import { parsePointInTime } from "./durations.ts";
import { ApiError, parseJsonBody, readBody, sendEmpty, sendJson, type Router } from "./http-util.ts";
import { parseSchedule } from "./schedule.ts";

export const JOBS_CHANNEL = "dapr_local_jobs";

/** Most due triggers claimed by one query. */
const CLAIM_BATCH = 256;

/** Errors that mean the app is not there (rather than that it failed the trigger). */
const APP_UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ECONNABORTED", "EPIPE"]);

export type FailurePolicy = { constant: { intervalMs: number; maxRetries: number | null } } | { drop: true };

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { constant: { intervalMs: 1_000, maxRetries: 3 } };

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The Scheduler refused the job (go-etcd-cron's validator or schedule builder): daprd passes the
 * gRPC error on as 500 DAPR_SCHEDULER_SCHEDULE_JOB (pkg/api/universal/jobs.go scheduleJob →
 * apierrors.SchedulerScheduleJob), not as a 400.
 */
function refused(desc: string): ApiError {
  return new ApiError(
    500,
    "DAPR_SCHEDULER_SCHEDULE_JOB",
    `failed to schedule job due to: rpc error: code = Unknown desc = ${desc}`,
    true,
  );
}

/** A field the Scheduler's builder rejects (go-etcd-cron internal/scheduler/builder.go Parse). */
function invalid(message: string): ApiError {
  return refused(`job failed validation: ${message}`);
}

/** The body does not decode as the JobHTTPRequest proto: daprd's protojson decoder answers 400. */
function malformed(message: string): ApiError {
  return new ApiError(400, "ERR_MALFORMED_REQUEST", `failed deserializing HTTP body: proto: ${message}`);
}

/** Go's %q of a string, as the Scheduler quotes a job name in its errors. */
function goQuote(text: string): string {
  return JSON.stringify(text);
}

/**
 * Job-name rules of the Scheduler daprd 1.18.2 runs (go-etcd-cron v0.12.6
 * internal/api/validator): the stored name `app||<namespace>||<app-id>||<name>` is at most 512
 * characters, without `/ \ # ?` or control characters. Anything else (dots, Unicode, spaces) is
 * accepted. Returns the Scheduler's message, or null.
 */
export function validateJobName(appId: string, name: string): string | null {
  const stored = `app||default||${appId}||${name}`;
  if (stored.length > 512) return `job name is invalid ${goQuote(stored)}: must be at most 512 characters`;
  if (/[#?/\\]/.test(stored))
    return `job name is invalid ${goQuote(stored)}: must not contain '/', '\\', '#' or '?'`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(stored))
    return `job name is invalid ${goQuote(stored)}: must not contain control characters`;
  return null;
}

/** protojson's google.protobuf.Duration ("10s", "1.5s"), which `interval` is decoded as. */
function protoDurationMs(value: unknown): number {
  const match = typeof value === "string" ? /^(\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!match) throw malformed(`invalid google.protobuf.Duration value ${JSON.stringify(value)}`);
  return Number(match[1]) * 1000 + Number(`0.${match[2] ?? "0"}`) * 1000;
}

/** A protojson uint32: a number or a numeric string, whole, 0 to 2^32 − 1. */
function uint(value: unknown, field: string): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 4_294_967_295) {
    throw malformed(`invalid value for uint32 field ${field}: ${JSON.stringify(value)}`);
  }
  return n;
}

/** A protojson string field. */
function text(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string")
    throw malformed(`invalid value for string field ${field}: ${JSON.stringify(value)}`);
  return value;
}

/**
 * `failurePolicy` as the Scheduler applies it: absent → the default (constant 1 s × 3); `drop`;
 * `constant` (no maxRetries: retry for ever); an object naming neither is the default too.
 */
function parseFailurePolicy(value: unknown): FailurePolicy {
  if (value === undefined || value === null) return DEFAULT_FAILURE_POLICY;
  if (!isObject(value))
    throw malformed(`invalid value for message field failurePolicy: ${JSON.stringify(value)}`);
  if (value.drop !== undefined && value.constant !== undefined)
    throw malformed(
      "failurePolicy: error parsing policy, oneof dapr.proto.common.v1.JobFailurePolicy.policy is already set",
    );
  for (const kind of ["drop", "constant"] as const)
    if (value[kind] !== undefined && !isObject(value[kind]))
      throw malformed(`invalid value for message field ${kind}: ${JSON.stringify(value[kind])}`);
  if (value.drop !== undefined) return { drop: true };
  if (isObject(value.constant)) {
    const c = value.constant;
    const retries = c.maxRetries ?? c.max_retries;
    return {
      constant: {
        intervalMs: c.interval === undefined ? 0 : protoDurationMs(c.interval),
        maxRetries: retries === undefined || retries === null ? null : uint(retries, "maxRetries"),
      },
    };
  }
  // A policy naming no kind (protojson drops unknown fields): the Scheduler applies the default.
  return DEFAULT_FAILURE_POLICY;
}

export interface JobDefinition {
  name: string;
  /** What GET answers (camelCase, as given). */
  spec: Obj;
  data: unknown;
  /** `data` was given (JSON null included). daprd 1.18.2 cannot deliver a job without it. */
  hasData: boolean;
  schedule: string | null;
  beginAt: Date;
  dueAt: Date | null;
  expiresAt: Date | null;
  repeats: number | null;
  failurePolicy: FailurePolicy;
  overwrite: boolean;
  /** The first trigger, or null when the job can never fire (its ttl ends first). */
  firstAt: Date | null;
}

/**
 * Validates a POST body into a job, in daprd 1.18.2's order and with its answers: the protojson
 * decode of the body (400 ERR_MALFORMED_REQUEST), the HTTP handler and universal API (400: name in
 * the body, empty name, neither schedule nor dueTime), then the Scheduler (500
 * DAPR_SCHEDULER_SCHEDULE_JOB: job name, then go-etcd-cron's builder: repeats, ttl, schedule,
 * dueTime, ttl format, ttl before dueTime).
 */
export function parseJobRequest(appId: string, name: string, body: unknown, now: Date): JobDefinition {
  if (!isObject(body)) throw malformed(`unexpected token ${JSON.stringify(body)}`);
  const field = (camel: string, snake: string) => (body[camel] !== undefined ? body[camel] : body[snake]);
  const scheduleText = text(body.schedule, "schedule");
  const dueText = text(field("dueTime", "due_time"), "dueTime");
  const ttlText = text(body.ttl, "ttl");
  const repeats = body.repeats === undefined || body.repeats === null ? null : uint(body.repeats, "repeats");
  if (body.overwrite !== undefined && body.overwrite !== null && typeof body.overwrite !== "boolean")
    throw malformed(`invalid value for bool field overwrite: ${JSON.stringify(body.overwrite)}`);
  const policy = field("failurePolicy", "failure_policy");
  const failurePolicy = parseFailurePolicy(policy);
  const bodyName = text(body.name, "name");

  if (bodyName) throw new ApiError(400, "DAPR_SCHEDULER_JOB_NAME", "Set the job name in the url only", true);
  if (!name) throw new ApiError(400, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty", true);
  if (scheduleText === null && dueText === null)
    throw new ApiError(400, "DAPR_SCHEDULER_SCHEDULE_EMPTY", "Schedule is empty", true);

  const nameError = validateJobName(appId, name);
  if (nameError) throw refused(nameError);
  if (scheduleText === null && repeats !== null && repeats > 1)
    throw invalid("job must have a schedule to repeat");
  if (repeats !== null && repeats < 1) throw invalid("defined repeats must be greater than 0");
  if (scheduleText === null && ttlText !== null) throw invalid("job must have a schedule to have a ttl");
  const schedule = scheduleText === null ? null : parseSchedule(scheduleText);
  if (schedule && "error" in schedule) throw invalid(schedule.error);

  let dueAt: Date | null = null;
  if (dueText !== null) {
    const parsed = parsePointInTime(dueText, now);
    if ("error" in parsed)
      throw invalid(
        parsed.error.startsWith("repeats")
          ? "repeats not supported for due time"
          : "due time format not recognized",
      );
    dueAt = parsed;
  }
  let expiresAt: Date | null = null;
  if (ttlText !== null) {
    const parsed = parsePointInTime(ttlText, dueAt ?? now);
    if ("error" in parsed) throw invalid("ttl format not recognized");
    if (dueAt && dueAt > parsed) throw invalid("ttl must be greater than due time");
    expiresAt = parsed;
  }

  let firstAt: Date | null = dueAt ?? (schedule && !("error" in schedule) ? schedule.next(now) : null);
  if (firstAt && expiresAt && firstAt > expiresAt) firstAt = null;

  const spec: Obj = { name };
  if (scheduleText !== null) spec.schedule = scheduleText;
  if (repeats !== null) spec.repeats = repeats;
  if (dueText !== null) spec.dueTime = dueText;
  if (ttlText !== null) spec.ttl = ttlText;
  if (body.data !== undefined) spec.data = body.data;
  if (isObject(policy) && (policy.drop !== undefined || policy.constant !== undefined)) {
    spec.failurePolicy =
      "drop" in failurePolicy
        ? { drop: {} }
        : {
            constant: {
              ...(isObject(policy.constant) && policy.constant.interval !== undefined
                ? { interval: policy.constant.interval }
                : {}),
              ...(failurePolicy.constant.maxRetries !== null
                ? { maxRetries: failurePolicy.constant.maxRetries }
                : {}),
            },
          };
  }

  return {
    name,
    spec,
    data: body.data,
    hasData: body.data !== undefined,
    schedule: scheduleText,
    beginAt: dueAt ?? now,
    dueAt,
    expiresAt,
    repeats,
    failurePolicy,
    overwrite: body.overwrite === true,
    firstAt,
  };
}

function storedPolicy(policy: FailurePolicy): Obj {
  return "drop" in policy ? { drop: true } : { constant: policy.constant };
}

/** Stores a job; returns false when it exists and `overwrite` is not set (→ 409). */
export async function saveJob(pool: pg.Pool, appId: string, job: JobDefinition): Promise<boolean> {
  const values = [
    appId,
    job.name,
    JSON.stringify(job.spec),
    job.hasData ? JSON.stringify(job.data) : null,
    job.schedule,
    job.beginAt,
    job.dueAt,
    job.expiresAt,
    job.repeats,
    JSON.stringify(storedPolicy(job.failurePolicy)),
    job.firstAt,
  ];
  const insert = `
    INSERT INTO dapr_local.jobs (app_id, name, spec, data, schedule, begin_at, due_at, expires_at, repeats,
                                 failure_policy, next_at, run_at)
    VALUES ($1, $2, $3, $4::json, $5, $6, $7, $8, $9, $10, $11, $11)`;
  const conflict = job.overwrite
    ? `ON CONFLICT (app_id, name) DO UPDATE SET
         generation = dapr_local.jobs.generation + 1, spec = EXCLUDED.spec, data = EXCLUDED.data,
         schedule = EXCLUDED.schedule, begin_at = EXCLUDED.begin_at, due_at = EXCLUDED.due_at,
         expires_at = EXCLUDED.expires_at, repeats = EXCLUDED.repeats,
         failure_policy = EXCLUDED.failure_policy, trigger_count = 0, last_trigger_at = NULL,
         next_at = EXCLUDED.next_at, attempt = 0, run_at = EXCLUDED.run_at, locked_by = NULL,
         created_at = now()`
    : "ON CONFLICT (app_id, name) DO NOTHING";
  if (!job.firstAt) {
    // The ttl ends before the first trigger: the Scheduler would drop it at once.
    if (job.overwrite) await deleteJob(pool, appId, job.name);
    else {
      const { rowCount } = await pool.query("SELECT 1 FROM dapr_local.jobs WHERE app_id = $1 AND name = $2", [
        appId,
        job.name,
      ]);
      return rowCount === 0;
    }
    return true;
  }
  const { rows } = await pool.query(
    `WITH saved AS (${insert} ${conflict} RETURNING app_id)
     SELECT pg_notify('${JOBS_CHANNEL}', app_id) FROM saved`,
    values,
  );
  return rows.length > 0;
}

export async function getJob(pool: pg.Pool, appId: string, name: string): Promise<Obj | null> {
  const { rows } = await pool.query<{ spec: Obj }>(
    "SELECT spec FROM dapr_local.jobs WHERE app_id = $1 AND name = $2",
    [appId, name],
  );
  return rows[0]?.spec ?? null;
}

/** protojson's type URL for the `google.protobuf.Value` daprd stores a job's HTTP `data` as. */
export const JOB_DATA_TYPE_URL = "type.googleapis.com/google.protobuf.Value";

/**
 * A stored job as `GET /v1.0/jobs/{name}` answers it, checked against daprd 1.18.2 with the
 * Scheduler. daprd keeps HTTP `data` as an `Any` holding a `google.protobuf.Value`
 * (pkg/api/universal/jobs.go ScheduleJobAlpha1HTTP: anypb.New) and writes the job with protojson
 * (pkg/api/http/universal.go respondWithProto), which renders a well-known type inside an Any as
 * `{"@type": <url>, "value": <its JSON>}` (google.golang.org/protobuf encoding/protojson
 * marshalAny). The Scheduler stores the default failure policy when none was given, so GET shows
 * it. (A job without data cannot be shown: the GET route answers 500 ERR_INTERNAL as 1.18.2 does.)
 */
export function jobJson(spec: Obj): Obj {
  const json: Obj = { ...spec };
  json.failurePolicy ??= { constant: { interval: "1s", maxRetries: 3 } };
  if (spec.data !== undefined) json.data = { "@type": JOB_DATA_TYPE_URL, value: spec.data };
  return json;
}

export async function deleteJob(pool: pg.Pool, appId: string, name: string): Promise<void> {
  await pool.query(
    `WITH gone AS (DELETE FROM dapr_local.jobs WHERE app_id = $1 AND name = $2 RETURNING app_id)
     SELECT pg_notify('${JOBS_CHANNEL}', app_id) FROM gone`,
    [appId, name],
  );
}

interface ClaimedJob {
  app_id: string;
  name: string;
  generation: string;
  data: unknown;
  has_data: boolean;
  schedule: string | null;
  expires_at: Date | null;
  repeats: number | null;
  failure_policy: { drop?: true; constant?: { intervalMs: number; maxRetries: number | null } };
  trigger_count: number;
  next_at: Date;
  attempt: number;
}

export interface JobRunnerOptions {
  pool: pg.Pool;
  appId: string;
  instanceId: number;
  channel: AppChannel;
  log: Logger;
  maxConcurrency: number;
  /** daprd's --enable-app-health-check: no triggers until the app health probe reports healthy. */
  appHealthCheck?: boolean;
}

/** Fires this app-id's due jobs at its app: a timer armed for the earliest one, re-armed on NOTIFY. */
export class JobRunner {
  private inflight = new Set<Promise<void>>();
  private running = false;
  private dirty = false;
  private started = false;
  private stopped = false;
  /** The app stopped answering: triggers wait (staged, as Dapr ≥ 1.15 does) until it is back. */
  private appDown = false;
  /** What the app health probe last reported; with health checks on, unhealthy until the first probe. */
  private unhealthy: boolean;
  private timer: { at: number; handle: NodeJS.Timeout } | null = null;
  /** Finished one-shot jobs waiting to be deleted, by one statement for all of them. */
  private finished: { name: string; generation: string; resolve(): void; reject(error: unknown): void }[] =
    [];
  private deleting = false;

  constructor(private readonly options: JobRunnerOptions) {
    this.unhealthy = options.appHealthCheck === true;
  }

  /**
   * The app health probe's verdict: daprd disconnects the app's job stream while it is unhealthy
   * (jobsManager.StopApp in pkg/runtime/runtime.go appHealthChanged), so due triggers wait, with no
   * failure-policy attempt spent, and fire once it is healthy again.
   */
  setAppHealthy(healthy: boolean): void {
    if (this.unhealthy === !healthy) return;
    this.unhealthy = !healthy;
    if (healthy) this.kick();
  }

  start(): void {
    this.started = true;
    this.kick();
  }

  /** Job rows of this app-id changed, or a timer fired: claim what is due and re-arm. */
  kick(): void {
    if (!this.started || this.stopped || this.appDown || this.unhealthy) return;
    this.dirty = true;
    if (!this.running) void this.run();
  }

  private armTimer(at: number): void {
    if (this.stopped) return;
    if (this.timer && this.timer.at === at) return;
    if (this.timer) clearTimeout(this.timer.handle);
    // A timer may fire a hair early; claims compare with the database clock, so that costs one
    // empty claim at most, never an early trigger.
    const handle = setTimeout(
      () => {
        this.timer = null;
        this.kick();
      },
      Math.max(0, at - Date.now()) + 1,
    );
    handle.unref();
    this.timer = { at, handle };
  }

  /**
   * Claims due triggers in batches and fires them concurrently, up to `maxConcurrency` at a time. A
   * claim is made only while at most half of that is in flight, so a burst of due jobs costs one
   * claim per batch rather than one per trigger as each one finishes; the next timer is looked up
   * only once nothing more is due now (while triggers are in flight, each one's end wakes the loop).
   */
  private async run(): Promise<void> {
    this.running = true;
    const { pool, appId, instanceId, maxConcurrency } = this.options;
    try {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        let drained = false;
        while (!this.stopped && !this.unhealthy && this.inflight.size <= maxConcurrency / 2) {
          const limit = Math.min(CLAIM_BATCH, maxConcurrency - this.inflight.size);
          const { rows } = await pool.query<ClaimedJob>(
            `UPDATE dapr_local.jobs j SET locked_by = $2
             FROM (SELECT app_id, name FROM dapr_local.jobs
                   WHERE app_id = $1 AND locked_by IS NULL AND run_at <= clock_timestamp()
                   ORDER BY run_at LIMIT $3 FOR UPDATE SKIP LOCKED) c
             WHERE j.app_id = c.app_id AND j.name = c.name
             RETURNING j.app_id, j.name, j.generation, j.data, j.data IS NOT NULL AS has_data, j.schedule, j.expires_at, j.repeats,
                       j.failure_policy, j.trigger_count, j.next_at, j.attempt`,
            [appId, instanceId, limit],
          );
          for (const job of rows) {
            const promise = this.trigger(job);
            this.inflight.add(promise);
            void promise.finally(() => {
              this.inflight.delete(promise);
              this.kick();
            });
          }
          if (rows.length < limit) {
            drained = true;
            break;
          }
        }
        if (drained && !this.stopped) {
          const { rows } = await pool.query<{ at: Date | null }>(
            "SELECT min(run_at) AS at FROM dapr_local.jobs WHERE app_id = $1 AND locked_by IS NULL",
            [appId],
          );
          const at = rows[0]?.at;
          if (at) this.armTimer(at.getTime());
          else if (this.timer) {
            clearTimeout(this.timer.handle);
            this.timer = null;
          }
        }
      }
    } catch (error) {
      if (!this.stopped) {
        this.options.log.error("job loop failed; retrying in 1 s", { err: error });
        this.armTimer(Date.now() + 1_000);
      }
    } finally {
      this.running = false;
    }
    if (this.dirty) this.kick();
  }

  private async trigger(job: ClaimedJob): Promise<void> {
    const { channel, log } = this.options;
    const jobLog = log.child({ job: job.name });
    let succeeded: boolean;
    let reason = "";
    try {
      if (!job.has_data) {
        // daprd 1.18.2 stores a job given without data as an empty google.protobuf.Value, which it
        // cannot turn into JSON when the job fires (pkg/channel/http/http_channel.go
        // constructJobRequest): every attempt fails before the app is called, the failure policy
        // retries it, and the app never sees the trigger.
        throw new Error("proto: google.protobuf.Value: none of the oneof fields is set");
      }
      const response = await channel.call({
        method: "POST",
        path: `/job/${encodeURIComponent(job.name)}`,
        // No traceparent: daprd sets one only from a span, and a Scheduler trigger carries none.
        headers: { "content-type": "application/json" },
        body: Buffer.from(JSON.stringify(job.data)),
      });
      // 2xx is success; 404 counts as success too (Dapr ≥ 1.15: no retry).
      succeeded = (response.status >= 200 && response.status <= 299) || response.status === 404;
      reason = `HTTP ${response.status}`;
    } catch (error) {
      if (error instanceof AppCallError && APP_UNREACHABLE.has(error.code)) {
        await this.stage(job, error, jobLog);
        return;
      }
      succeeded = false;
      reason = (error as Error).message;
    }
    try {
      if (succeeded) await this.advance(job);
      else await this.failed(job, reason, jobLog);
    } catch (error) {
      if (!this.stopped) jobLog.error("could not record the job trigger; it will fire again", { err: error });
    }
  }

  /**
   * The app is not reachable: the trigger is put back untouched (no failure-policy attempt used)
   * and nothing fires until the app port answers again.
   */
  private async stage(job: ClaimedJob, error: AppCallError, log: Logger): Promise<void> {
    await this.options.pool
      .query(
        "UPDATE dapr_local.jobs SET locked_by = NULL WHERE app_id = $1 AND name = $2 AND generation = $3 AND locked_by = $4",
        [this.options.appId, job.name, job.generation, this.options.instanceId],
      )
      .catch((releaseError) => log.warn("could not release a staged trigger", { err: releaseError }));
    if (this.appDown) return;
    this.appDown = true;
    log.warn("the app does not answer; job triggers wait until it is back", { code: error.code });
    void (async () => {
      while (!this.stopped && !(await this.options.channel.probe())) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      this.appDown = false;
      this.kick();
    })();
  }

  /** The trigger is done: count it and schedule the next one, or remove the finished job. */
  private async advance(job: ClaimedJob): Promise<void> {
    const { pool, appId, instanceId } = this.options;
    const count = job.trigger_count + 1;
    let next: Date | null = null;
    if (job.schedule && (job.repeats === null || count < job.repeats)) {
      const schedule = parseSchedule(job.schedule);
      next = "error" in schedule ? null : schedule.next(job.next_at);
      if (next && job.expires_at && next > job.expires_at) next = null;
    }
    if (!next) {
      await new Promise<void>((resolve, reject) => {
        this.finished.push({ name: job.name, generation: job.generation, resolve, reject });
        if (!this.deleting) void this.deleteFinished();
      });
      return;
    }
    await pool.query(
      `UPDATE dapr_local.jobs SET trigger_count = $5, last_trigger_at = next_at, next_at = $6, run_at = $6,
              attempt = 0, locked_by = NULL
       WHERE app_id = $1 AND name = $2 AND generation = $3 AND locked_by = $4`,
      [appId, job.name, job.generation, instanceId, count, next],
    );
  }

  /**
   * Deletes the finished jobs, as many per statement as finished while the previous one ran (a burst
   * of one-shot jobs would otherwise cost a round trip each). Each trigger's own promise settles
   * with the statement that deleted its row.
   */
  private async deleteFinished(): Promise<void> {
    const { pool, appId, instanceId } = this.options;
    this.deleting = true;
    try {
      while (this.finished.length > 0) {
        const batch = this.finished.splice(0, 1_000);
        try {
          await pool.query(
            `DELETE FROM dapr_local.jobs j USING unnest($2::text[], $3::bigint[]) AS d(name, generation)
             WHERE j.app_id = $1 AND j.name = d.name AND j.generation = d.generation AND j.locked_by = $4`,
            [appId, batch.map((d) => d.name), batch.map((d) => d.generation), instanceId],
          );
          for (const d of batch) d.resolve();
        } catch (error) {
          for (const d of batch) d.reject(error);
        }
      }
    } finally {
      this.deleting = false;
    }
  }

  /** The app failed the trigger: retry per the failure policy, else count it as done. */
  private async failed(job: ClaimedJob, reason: string, log: Logger): Promise<void> {
    const constant = job.failure_policy.constant;
    if (constant && (constant.maxRetries === null || job.attempt < constant.maxRetries)) {
      log.warn("job trigger failed; retrying per failure policy", { reason, attempt: job.attempt + 1 });
      await this.options.pool.query(
        `UPDATE dapr_local.jobs SET attempt = attempt + 1,
                run_at = clock_timestamp() + $5 * interval '1 millisecond', locked_by = NULL
         WHERE app_id = $1 AND name = $2 AND generation = $3 AND locked_by = $4`,
        [this.options.appId, job.name, job.generation, this.options.instanceId, constant.intervalMs],
      );
      return;
    }
    log.warn("job trigger failed; giving up on this trigger", { reason });
    await this.advance(job);
  }

  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer.handle);
    this.timer = null;
    if (this.inflight.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    await this.options.pool
      .query("UPDATE dapr_local.jobs SET locked_by = NULL WHERE locked_by = $1", [this.options.instanceId])
      .catch(() => {});
  }
}

/**
 * The Jobs API. daprd 1.18 serves both paths with the same handlers (pkg/api/http/jobs.go
 * constructJobsEndpoints: onCreateScheduleHandler, onGetJobHandler, onDeleteJobHandler for
 * v1.0-alpha1 and v1.0), so the answers are identical; the alpha path is deprecated. `runner` (none
 * without an app port) is woken when a job is saved.
 */
export function registerJobsRoutes(
  router: Router,
  jobs: { pool: pg.Pool; appId: string; log: Logger; runner: JobRunner | null },
): void {
  const { pool, appId, log, runner } = jobs;
  for (const version of ["v1.0-alpha1", "v1.0"]) {
    router.on("POST", `/${version}/jobs/*name`, async ({ req, res, params }) => {
      const job = parseJobRequest(appId, params.name!.trim(), parseJsonBody(await readBody(req)), new Date());
      if (!job.hasData) {
        // As daprd 1.18.2: accepted, but its triggers never reach the app and GET fails (JobRunner, jobJson).
        log.warn("job scheduled without data: daprd 1.18.2 never delivers its trigger", { job: job.name });
      }
      if (!(await saveJob(pool, appId, job))) {
        throw new ApiError(
          409,
          "DAPR_SCHEDULER_SCHEDULE_JOB",
          `failed to schedule job due to: job "${job.name}" already exists`,
          true,
        );
      }
      runner?.kick();
      sendEmpty(res);
    });
    router.on("GET", `/${version}/jobs/*name`, async ({ res, params }) => {
      const spec = await getJob(pool, appId, params.name!);
      if (!spec)
        throw new ApiError(
          500,
          "DAPR_SCHEDULER_GET_JOB",
          `failed to get job due to: rpc error: code = NotFound desc = job not found: ${params.name}`,
          true,
        );
      if (spec.data === undefined) {
        // daprd 1.18.2 cannot render the empty google.protobuf.Value it stored for a job without data.
        throw new ApiError(
          500,
          "ERR_INTERNAL",
          "failed to encode response as JSON: proto: google.protobuf.Value: none of the oneof fields is set",
        );
      }
      sendJson(res, 200, jobJson(spec));
    });
    router.on("DELETE", `/${version}/jobs/*name`, async ({ res, params }) => {
      await deleteJob(pool, appId, params.name!);
      sendEmpty(res);
    });
  }
}
