// Delivers an app's pub/sub messages to it, as daprd's subscription + HTTP postman do
// (dapr pkg/runtime/subscription/subscription.go and postman/http/http.go): CloudEvent parsing,
// expiry, routing rules, the app's answer (SUCCESS / RETRY / DROP, 404, other statuses), the
// resiliency timeout, circuit breaker and retry policy, the dead-letter topic, and otherwise
// redelivery by the "component".
//
// Deliveries are claimed from PostgreSQL in batches (broker.ts); up to `maxConcurrency` run at
// once, but a partition key's next message is only claimable once the previous one is done.
import type pg from "pg";
import type { Logger } from "#platform/logger.ts";
import { AppCallError, type AppChannel, type AppResponse } from "./app-channel.ts";
import {
  ackAndClaim,
  ackDeliveries,
  deadLetterDelivery,
  nextRetryAt,
  releaseClaims,
  rescheduleDelivery,
  type ClaimedDelivery,
} from "./broker.ts";
import { childSpan, fromRawPayload, hasExpired } from "./cloudevents.ts";
import { parseGoDuration } from "./durations.ts";
import { backoffMs, type Resiliency } from "./resiliency.ts";
import type { ComponentResource, SubscriptionResource } from "./resources.ts";

/** What became of one delivery attempt. */
export type Outcome =
  | { kind: "success" }
  | { kind: "drop"; reason: string }
  /** A retriable failure: goes through the resiliency retry policy. */
  | { kind: "retry"; reason: string; status?: number }
  /** A failure outside the policy (bad envelope, routing error): dead letter or redelivery. */
  | { kind: "fail"; reason: string }
  /**
   * The inbound circuit breaker refused the call (open, or half-open and full): the app was not
   * called. daprd makes this a permanent error (pkg/resiliency/breaker IsErrorPermanent), so the
   * retry policy stops and the message goes to the dead-letter topic, or back to the component.
   */
  | { kind: "refused"; reason: string }
  /** The app did not accept the connection: it is down, not failing. See Consumer.pauseUntilHealthy. */
  | { kind: "unreachable"; reason: string };

/** Connection-level errors that mean "nothing listens on the app port", not "the app failed". */
const APP_DOWN_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "EHOSTUNREACH", "ECONNECTION"]);

/** The app's answer to a delivery, exactly as daprd's HTTP postman reads it. */
export function classifyResponse(response: AppResponse): Outcome {
  const { status } = response;
  if (status >= 200 && status <= 299) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body.toString("utf8"));
    } catch {
      return { kind: "success" }; // empty or non-JSON body
    }
    const appStatus =
      parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
        ? (parsed as { status?: unknown }).status
        : undefined;
    if (appStatus !== undefined && typeof appStatus !== "string") return { kind: "success" };
    if (appStatus === undefined || appStatus === "" || appStatus === "SUCCESS") return { kind: "success" };
    if (appStatus === "RETRY") return { kind: "retry", reason: "RETRY status returned from app" };
    if (appStatus === "DROP") return { kind: "drop", reason: "DROP status returned from app" };
    return { kind: "retry", reason: `unknown status returned from app: ${appStatus}` };
  }
  if (status === 404) {
    // Dapr ≥ 1.17 (#9401): a 404 is handled like DROP, so it goes to the dead-letter topic if set.
    return { kind: "drop", reason: "non-retriable error returned from app: 404" };
  }
  const body = response.body.toString("utf8").slice(0, 300);
  return { kind: "retry", status, reason: `retriable error returned from app: HTTP ${status} ${body}` };
}

export interface ConsumerOptions {
  pool: pg.Pool;
  appId: string;
  instanceId: number;
  channel: AppChannel;
  log: Logger;
  resiliency: Resiliency;
  /** The loaded pubsub.* components by name. */
  pubsubs: Map<string, ComponentResource>;
  maxConcurrency: number;
  batchSize: number;
  /**
   * daprd's --enable-app-health-check: nothing is delivered until the app health probe reports the
   * app healthy (setAppHealthy), and an unreachable app pauses deliveries (pauseUntilHealthy).
   */
  appHealthCheck?: boolean;
}

const topicKey = (pubsub: string, topic: string) => `${pubsub}\u0000${topic}`;

export class Consumer {
  private subscriptions = new Map<string, SubscriptionResource>();
  private topics: { pubsub: string; topic: string }[] = [];
  private inflight = new Set<Promise<void>>();
  private pendingAcks: string[] = [];
  private running = false;
  private dirty = false;
  private stopped = false;
  private timer: { at: number; handle: NodeJS.Timeout } | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  /** Set while the app is unreachable: nothing is claimed until it answers again. */
  private paused: Promise<void> | null = null;
  /** What the app health probe last reported; with health checks on, unhealthy until the first probe. */
  private unhealthy: boolean;

  constructor(private readonly options: ConsumerOptions) {
    this.unhealthy = options.appHealthCheck === true;
  }

  /** Nothing is claimed while the app is unreachable or reported unhealthy. */
  private get halted(): boolean {
    return this.paused !== null || this.unhealthy;
  }

  /**
   * The app health probe's verdict. daprd stops the app's subscriptions while it is unhealthy and
   * starts them again on the first healthy probe (pkg/runtime/runtime.go appHealthChanged).
   */
  setAppHealthy(healthy: boolean): void {
    if (this.unhealthy === !healthy) return;
    this.unhealthy = !healthy;
    if (healthy) {
      this.kick();
      void this.refreshRetryTimer();
    }
  }

  /** Begins consuming these subscriptions (called once the app channel is ready). */
  start(subscriptions: SubscriptionResource[]): void {
    for (const s of subscriptions) this.subscriptions.set(topicKey(s.pubsubname, s.topic), s);
    this.topics = subscriptions.map((s) => ({ pubsub: s.pubsubname, topic: s.topic }));
    this.kick();
    void this.refreshRetryTimer();
  }

  /** Something may be claimable (a NOTIFY, a timer, a finished delivery). */
  kick(): void {
    if (this.stopped || this.topics.length === 0 || this.halted) return;
    this.dirty = true;
    if (!this.running) void this.run();
  }

  /** Re-arms the retry timer from the database (start-up and the periodic sweep). */
  async refreshRetryTimer(): Promise<void> {
    if (this.stopped || this.topics.length === 0) return;
    try {
      const at = await nextRetryAt(this.options.pool, this.options.appId, this.topics);
      if (at) this.armTimer(at.getTime());
    } catch (error) {
      this.options.log.warn("could not read the next retry time", { err: error });
    }
  }

  private armTimer(at: number): void {
    if (this.stopped || (this.timer && this.timer.at <= at)) return;
    if (this.timer) clearTimeout(this.timer.handle);
    const handle = setTimeout(
      () => {
        this.timer = null;
        this.kick();
      },
      Math.max(0, at - Date.now()) + 2,
    );
    handle.unref();
    this.timer = { at, handle };
  }

  /**
   * Claims only when at most half of `maxConcurrency` is in flight, so claims come in batches
   * (one statement records what finished and claims what is next) instead of one per message.
   */
  private async run(): Promise<void> {
    this.running = true;
    const { pool, appId, instanceId, maxConcurrency, batchSize } = this.options;
    try {
      while (this.dirty && !this.stopped && !this.halted) {
        this.dirty = false;
        while (!this.stopped && !this.halted) {
          const room = this.inflight.size <= maxConcurrency / 2 ? maxConcurrency - this.inflight.size : 0;
          const limit = Math.min(batchSize, room);
          if (limit === 0) {
            await this.flushAcks();
            break;
          }
          const acked = this.pendingAcks.splice(0);
          let rows: ClaimedDelivery[];
          try {
            rows = await ackAndClaim(pool, appId, instanceId, this.topics, limit, acked);
          } catch (error) {
            this.pendingAcks.unshift(...acked);
            throw error;
          }
          for (const row of rows) this.track(this.deliver(row));
          if (rows.length < limit) break;
        }
      }
    } catch (error) {
      if (!this.stopped) {
        this.options.log.error("delivery loop failed; retrying in 1 s", { err: error });
        this.armTimer(Date.now() + 1_000);
      }
    } finally {
      this.running = false;
    }
    if (this.dirty) this.kick();
  }

  private track(promise: Promise<void>): void {
    this.inflight.add(promise);
    void promise.finally(() => {
      this.inflight.delete(promise);
      if (this.inflight.size <= this.options.maxConcurrency / 2) this.kick();
      else this.armAckTimer();
    });
  }

  /** While claims wait for room, finished deliveries are still recorded within 20 ms. */
  private armAckTimer(): void {
    if (this.ackTimer || this.stopped) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      this.kick();
    }, 20);
    this.ackTimer.unref();
  }

  private async flushAcks(): Promise<void> {
    if (this.pendingAcks.length === 0) return;
    const ids = this.pendingAcks.splice(0);
    try {
      await ackDeliveries(this.options.pool, ids);
    } catch (error) {
      this.pendingAcks.unshift(...ids);
      throw error;
    }
  }

  private async deliver(row: ClaimedDelivery): Promise<void> {
    const log = this.options.log.child({ pubsub: row.pubsub, topic: row.topic, delivery_id: row.id });
    try {
      const outcome = await this.attempt(row, log);
      await this.settle(row, outcome, log);
    } catch (error) {
      if (!this.stopped)
        log.error("delivery bookkeeping failed; the message will be delivered again", { err: error });
    }
  }

  private async attempt(row: ClaimedDelivery, log: Logger): Promise<Outcome> {
    const subscription = this.subscriptions.get(topicKey(row.pubsub, row.topic));
    if (!subscription) return { kind: "fail", reason: "no subscription for this topic" };

    let event: Record<string, unknown>;
    let body: Buffer;
    if (subscription.rawPayload) {
      event = fromRawPayload(row.body, row.topic, row.pubsub);
      body = Buffer.from(JSON.stringify(event));
    } else {
      try {
        const parsed: unknown = JSON.parse(row.body.toString("utf8"));
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
          throw new Error("not an object");
        event = parsed as Record<string, unknown>;
      } catch (error) {
        return { kind: "fail", reason: `error deserializing cloud event: ${(error as Error).message}` };
      }
      body = row.body;
    }

    if (hasExpired(event, new Date())) {
      log.warn("dropping expired pub/sub event", { event_id: event.id, expiration: event.expiration });
      return { kind: "drop", reason: "expired" };
    }

    let path: string | null = null;
    for (const rule of subscription.rules) {
      if (!rule.match) {
        path = rule.path;
        break;
      }
      const result = rule.match.evaluate(event);
      if (typeof result === "object") {
        return {
          kind: "fail",
          reason: `error evaluating routing rule ${rule.match.source}: ${result.error}`,
        };
      }
      if (result) {
        path = rule.path;
        break;
      }
    }
    if (path === null) return { kind: "drop", reason: "no matching route" };

    const headers: Record<string, string> = {
      "content-type": "application/cloudevents+json",
      traceparent: childSpan(event.traceparent ?? event.traceid),
      pubsubname: row.pubsub,
    };
    if (typeof event.tracestate === "string" && event.tracestate) headers.tracestate = event.tracestate;
    // daprd's policy runner: the timeout wraps the call, the breaker wraps the timeout, the retry
    // wraps the breaker (pkg/resiliency/policy.go NewRunnerWithOptions), so a timed-out delivery
    // counts as a breaker failure and a DROP or 404 (returned as nil by the operation) as a success.
    const { timeoutMs, breaker } = this.options.resiliency.pubsubInbound(row.pubsub);
    const permit = breaker?.beforeRequest();
    if (permit && "refused" in permit) {
      log.warn("circuit breaker refused the delivery", { breaker: breaker!.name, reason: permit.refused });
      return { kind: "refused", reason: `${breaker!.name}: ${permit.refused}` };
    }
    let outcome: Outcome;
    try {
      const response = await this.options.channel.call({
        method: "POST",
        path: path.startsWith("/") ? path : `/${path}`,
        headers,
        body,
        timeoutMs,
      });
      outcome = classifyResponse(response);
    } catch (error) {
      const reason =
        error instanceof AppCallError
          ? `error returned from app channel while sending pub/sub event to app: ${error.code} ${error.message}`
          : String(error);
      outcome =
        this.options.appHealthCheck && error instanceof AppCallError && APP_DOWN_CODES.has(error.code)
          ? { kind: "unreachable", reason }
          : { kind: "retry", reason };
    }
    if (permit) breaker!.afterRequest(permit, outcome.kind === "success" || outcome.kind === "drop");
    return outcome;
  }

  /**
   * With app health checks on, an app that does not accept connections (crashed, restarting)
   * pauses this consumer at once instead of spending its messages' retries. daprd counts such a
   * delivery as a failed attempt, but its probes (app-health-threshold × interval) stop the
   * subscription before production's retry budget is spent (dapr-components/resiliency.yaml); the
   * local retry policies are far shorter, so without this shortcut a restart would dead-letter
   * what daprd keeps. Re-checked every 500 ms (a TCP connect), independently of the HTTP probe.
   */
  private pauseUntilHealthy(log: Logger): void {
    if (this.paused || this.stopped) return;
    log.warn("the app is unreachable; pausing deliveries until it answers again");
    this.paused = (async () => {
      while (!this.stopped && !(await this.options.channel.probe())) {
        await new Promise((resolve) => setTimeout(resolve, 500).unref());
      }
      if (!this.stopped) log.info("the app answers again; resuming deliveries");
    })().finally(() => {
      this.paused = null;
      this.kick();
    });
  }

  private async settle(row: ClaimedDelivery, outcome: Outcome, log: Logger): Promise<void> {
    const { pool, instanceId, appId, resiliency } = this.options;
    const subscription = this.subscriptions.get(topicKey(row.pubsub, row.topic));
    const deadLetterTopic = subscription?.deadLetterTopic ?? "";
    // No dead-letter topic, or it could not take the message: the error goes back to the
    // component, which redelivers the message.
    const backToComponent = async (reason: string) => {
      const delay = this.redeliveryDelayMs(row.pubsub, row.redeliveries);
      log.warn("delivery failed; the component will redeliver", { reason, delay_ms: delay });
      await this.reschedule(row, delay, { roundAttempts: 0, redeliveries: row.redeliveries + 1 }, reason);
    };
    const toDeadLetter = async (reason: string) => {
      // daprd publishes the dead letter through the component's outbound policy
      // (subscription.go sendToDeadLetter → publisher.Publish), so through the one breaker the
      // component's inbound and outbound share: while it is open the dead letter fails too and the
      // message goes back to the component instead (dapr-components/resiliency.yaml says why
      // production has no breaker on pub/sub).
      const { breaker } = resiliency.pubsubOutbound(row.pubsub);
      const permit = breaker?.beforeRequest();
      if (permit && "refused" in permit) {
        await backToComponent(
          `failed to publish to dead-letter topic ${deadLetterTopic}: ${breaker!.name}: ${permit.refused} (after: ${reason})`,
        );
        return;
      }
      log.warn("sending message to the dead-letter topic", { dead_letter_topic: deadLetterTopic, reason });
      await deadLetterDelivery(pool, row.id, instanceId, appId, deadLetterTopic, {
        app_id: appId,
        pubsub: row.pubsub,
        topic: row.topic,
        message_id: row.message_id,
        attempts: row.attempts,
        reason,
        dead_lettered_at: new Date().toISOString(),
      });
      if (permit) breaker!.afterRequest(permit, true);
    };

    if (outcome.kind === "success") {
      this.pendingAcks.push(row.id);
      return;
    }
    // Not an attempt: the message goes back with its counters unchanged. Either the app does not
    // accept connections (wait for it), or the probe declared it unhealthy meanwhile: daprd then
    // stops the subscription, which cancels its retries and leaves the message to the broker
    // (pkg/runtime/processor/subscriber StopAppSubscriptions), to be delivered once it is healthy.
    const haltedMeanwhile =
      this.unhealthy &&
      (outcome.kind === "retry" || outcome.kind === "refused" || outcome.kind === "unreachable");
    if (haltedMeanwhile || outcome.kind === "unreachable") {
      await rescheduleDelivery(
        pool,
        row.id,
        instanceId,
        0,
        { roundAttempts: row.round_attempts, redeliveries: row.redeliveries },
        outcome.reason,
      );
      if (!haltedMeanwhile) this.pauseUntilHealthy(log);
      return;
    }
    if (outcome.kind === "drop") {
      if (deadLetterTopic) await toDeadLetter(outcome.reason);
      else {
        log.warn("message dropped", { reason: outcome.reason });
        this.pendingAcks.push(row.id);
      }
      return;
    }

    const roundAttempts = row.round_attempts + 1;
    const retry = outcome.kind === "retry" ? resiliency.pubsubInbound(row.pubsub).retry : null;
    const policyRetries =
      retry !== null &&
      (outcome.kind !== "retry" ||
        outcome.status === undefined ||
        retry.retriesStatus === null ||
        retry.retriesStatus(outcome.status)) &&
      (retry.maxRetries === -1 || roundAttempts <= retry.maxRetries);
    if (policyRetries && retry) {
      const delay = backoffMs(retry, roundAttempts - 1);
      log.warn("retriable error; retrying per resiliency policy", {
        reason: outcome.reason,
        policy: retry.name,
        retry: roundAttempts,
        delay_ms: Math.round(delay),
      });
      await this.reschedule(row, delay, { roundAttempts, redeliveries: row.redeliveries }, outcome.reason);
      return;
    }
    if (deadLetterTopic) {
      await toDeadLetter(outcome.reason);
      return;
    }
    await backToComponent(outcome.reason);
  }

  private async reschedule(
    row: ClaimedDelivery,
    delayMs: number,
    counters: { roundAttempts: number; redeliveries: number },
    reason: string,
  ): Promise<void> {
    await rescheduleDelivery(this.options.pool, row.id, this.options.instanceId, delayMs, counters, reason);
    this.armTimer(Date.now() + delayMs);
  }

  /**
   * The component's own redelivery of a failed message: 1 s doubling, capped at the component's
   * `redeliverInterval` (pubsub.redis: 60 s by default), so a poison message without a dead-letter
   * topic keeps coming back, as it does with Redis Streams or Kafka.
   */
  private redeliveryDelayMs(pubsub: string, redeliveries: number): number {
    const configured = parseGoDuration(this.options.pubsubs.get(pubsub)?.metadata.redeliverInterval ?? "");
    const cap = configured !== null && configured > 0 ? configured : 60_000;
    return Math.min(cap, 1_000 * 2 ** Math.min(redeliveries, 16));
  }

  /** Stops claiming, waits up to `graceMs` for in-flight deliveries, then lets go of the rest. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer.handle);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.timer = null;
    if (this.inflight.size > 0) {
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    await this.flushAcks().catch((error) =>
      this.options.log.warn("could not record finished deliveries; they will be redelivered", { err: error }),
    );
    await releaseClaims(this.options.pool, this.options.instanceId).catch(() => {});
  }
}
