// Prometheus metrics, served by every function at GET /metrics on its one port (Knative allows a
// single container port). With METRICS_TOKEN set, scrapes must send it as a bearer token (the
// PodMonitor does), so the public route does not leak internals.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpDuration = new Histogram({
  name: "http_server_request_duration_seconds",
  help: "HTTP request latency by route, method and status",
  labelNames: ["method", "route", "status_code"] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const eventsConsumed = new Counter({
  name: "orbit_events_consumed_total",
  help: "Pub/sub deliveries handled, by topic and outcome (SUCCESS, RETRY, DROP)",
  labelNames: ["topic", "status"] as const,
  registers: [registry],
});

export const eventHandlerDuration = new Histogram({
  name: "orbit_event_handler_duration_seconds",
  help: "Time to handle one pub/sub delivery",
  labelNames: ["topic"] as const,
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const outboxPublished = new Counter({
  name: "orbit_outbox_published_total",
  help: "Events the outbox relay published",
  labelNames: ["topic"] as const,
  registers: [registry],
});

export const outboxPublishFailures = new Counter({
  name: "orbit_outbox_publish_failures_total",
  help: "Publish attempts that failed (refused by Dapr or sidecar unreachable)",
  labelNames: ["reason"] as const,
  registers: [registry],
});

/** Set on each scrape by the outbox's collector (see host.ts). */
export const outboxPending = new Gauge({
  name: "orbit_outbox_pending",
  help: "Events committed but not yet published",
  registers: [registry],
});

export const outboxLag = new Gauge({
  name: "orbit_outbox_lag_seconds",
  help: "Age of the oldest event not yet published (0 when none)",
  registers: [registry],
});

export const deliveriesRefused = new Counter({
  name: "orbit_deliveries_refused_total",
  help: "Requests to delivery routes (/dapr/*, /events/*, /job/*) refused: no valid app token or OIDC token (unauthenticated), or the OIDC keys unreachable (unavailable)",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export const jobsTriggered = new Counter({
  name: "orbit_jobs_triggered_total",
  help: "Dapr job callbacks handled, by outcome",
  labelNames: ["status"] as const,
  registers: [registry],
});

export const reminderLateness = new Histogram({
  name: "orbit_reminder_lateness_seconds",
  help: "How late a reminder fired relative to its scheduled time",
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  registers: [registry],
});

export const deadLettersOpen = new Gauge({
  name: "orbit_dead_letters_open",
  help: "Dead letters not yet replayed or dismissed",
  labelNames: ["topic"] as const,
  registers: [registry],
});
