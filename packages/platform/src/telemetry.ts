// Tracing (OpenTelemetry). One trace spans create → outbox → publish → consumer: the host starts
// a server span per request and per delivery from the incoming W3C `traceparent` header (Dapr's
// delivery span), the relay continues the trace stored with each outbox row, and outgoing fetch
// (the Dapr sidecar, webhooks) and Prisma queries get child spans.
//
// Why the host makes its own server spans: functions ship as ESM bundles, where the
// module-patching instrumentations (http, express) cannot hook anything. Undici's instrumentation
// listens on Node's diagnostics channels and Prisma's on a global hook, so both work bundled.
//
// Why the SDK starts after `listen`: requiring @opentelemetry/sdk-node costs ~1 s here, against a
// 400 ms cold-start budget. Spans started before it is up are no-ops, so a cold start loses at
// most its first second of traces. Nothing loads unless OTEL_EXPORTER_OTLP_ENDPOINT is set: the
// import()s below are chunks of their own in a bundle (scripts/build.ts splits them off), so a
// function without an exporter never reads or parses the SDK (~3 MiB minified).
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context as OtelContext,
  type Span,
} from "@opentelemetry/api";
import type { Logger } from "./logger.ts";

const tracer = () => trace.getTracer("orbit");

let sdk: { shutdown(): Promise<void> } | null = null;

/**
 * A module's named exports as import() gives them. Node gives a CommonJS module's (these SDK
 * packages are CommonJS) as named exports; a bundle's chunk of one exports only `default`
 * (module.exports), so its names are read from there.
 */
function namedExports<M extends object>(namespace: M): M {
  const keys = Object.keys(namespace);
  return keys.length === 1 && keys[0] === "default"
    ? ((namespace as { default: M }).default ?? namespace)
    : namespace;
}

/** Starts exporting traces when OTEL_EXPORTER_OTLP_ENDPOINT is set; resolves once started. */
export async function startTelemetry(serviceName: string, log: Logger): Promise<void> {
  if (sdk || !process.env.OTEL_EXPORTER_OTLP_ENDPOINT) return;
  // Traces only: metrics are Prometheus (metrics.ts) and logs are JSON on stdout. NodeSDK would
  // otherwise also start OTLP metric and log exporters from the same endpoint.
  process.env.OTEL_METRICS_EXPORTER ??= "none";
  process.env.OTEL_LOGS_EXPORTER ??= "none";
  try {
    const [
      { NodeSDK },
      { OTLPTraceExporter },
      { UndiciInstrumentation },
      { PrismaInstrumentation },
      { resourceFromAttributes },
    ] = await Promise.all([
      import("@opentelemetry/sdk-node").then(namedExports),
      import("@opentelemetry/exporter-trace-otlp-http").then(namedExports),
      import("@opentelemetry/instrumentation-undici").then(namedExports),
      import("@prisma/instrumentation").then(namedExports),
      import("@opentelemetry/resources").then(namedExports),
    ]);
    const started = new NodeSDK({
      resource: resourceFromAttributes({ "service.name": serviceName, "service.namespace": "orbit" }),
      traceExporter: new OTLPTraceExporter(),
      instrumentations: [new UndiciInstrumentation(), new PrismaInstrumentation()],
    });
    started.start();
    sdk = started;
    log.info("tracing enabled", { endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT });
  } catch (error) {
    log.error("tracing could not start; continuing without it", { err: error });
  }
}

/** True once the SDK runs: outgoing fetch then carries the active span's traceparent by itself. */
export function tracingEnabled(): boolean {
  return sdk !== null;
}

export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => {});
  sdk = null;
}

/** The context carried by a `traceparent` (and `tracestate`) header value. */
export function contextFrom(traceparent: string | undefined, tracestate?: string): OtelContext {
  if (!traceparent) return context.active();
  return propagation.extract(context.active(), { traceparent, ...(tracestate ? { tracestate } : {}) });
}

/** The `traceparent` of the active span (to store with an outbox row or send onward). */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** Runs `fn` in a new span, child of `parent`; records errors; ends the span when done. */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; parent?: OtelContext; attributes?: Record<string, string | number | boolean> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    options.parent ?? context.active(),
  );
  return context.with(trace.setSpan(options.parent ?? context.active(), span), async () => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };
