// The one switch between the two Dapr runtimes the process-level tests run on:
// - `local` (default; `make test`): each app beside packages/local-dapr, our Dapr-compatible
//   sidecar, with PostgreSQL as its broker and scheduler store. Needs only Node and npm.
// - `daprd` (`make test-dapr`, ORBIT_DAPR_RUNTIME=daprd): each app beside real daprd 1.18 with the
//   real Dapr Scheduler and a real Apache Kafka broker (tools/dapr-runtime, tools/kafka).
// The apps and the YAML they are given are the same; only what the local sidecar serves from its
// own store (the broker, mail) is swapped for the real thing, by daprdResources() below.
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { startScheduler, type Scheduler } from "./daprd.ts";
import { productionTopics, startKafka, type KafkaBroker } from "./kafka-broker.ts";
import { startSmtpSink, type SmtpSink } from "./smtp-sink.ts";

export type RuntimeKind = "local" | "daprd";

function runtimeFromEnv(): RuntimeKind {
  const value = process.env.ORBIT_DAPR_RUNTIME ?? "local";
  if (value !== "local" && value !== "daprd") {
    throw new Error(`ORBIT_DAPR_RUNTIME must be "local" or "daprd", not ${JSON.stringify(value)}`);
  }
  return value;
}

export const RUNTIME: RuntimeKind = runtimeFromEnv();

/** What real daprd needs beside it: one Kafka broker, one Scheduler, a mail relay, a Configuration. */
export interface DaprBacking {
  kafka: KafkaBroker;
  scheduler: Scheduler;
  smtp: SmtpSink;
  /** The Configuration every daprd of this process runs with (--config). */
  configPath: string;
  stop(): Promise<void>;
}

let backing: Promise<DaprBacking> | null = null;
let users = 0;

/**
 * Kafka (with production's topics), the Scheduler and the mail relay, started once per test
 * process (each vitest test file runs in its own), so consumer groups, topics and jobs of one
 * file never reach another's apps. Each caller releases it with releaseDaprBacking(); the last
 * release stops it (and process exit kills whatever is left).
 */
export function daprBacking(): Promise<DaprBacking> {
  users += 1;
  backing ??= startBacking().catch((error: unknown) => {
    backing = null;
    users = 0;
    throw error;
  });
  return backing;
}

export async function releaseDaprBacking(): Promise<void> {
  if (!backing || --users > 0) return;
  const started = backing;
  backing = null;
  await (await started).stop();
}

async function startBacking(): Promise<DaprBacking> {
  const dir = await mkdtemp(path.join(tmpdir(), "orbit-daprd-"));
  const [kafka, scheduler, smtp] = await Promise.all([
    startKafka({ topics: productionTopics() }),
    startScheduler(),
    startSmtpSink(),
  ]);
  const configPath = path.join(dir, "config.yaml");
  await writeFile(configPath, daprdConfiguration(path.join(dir, "name-resolution.db")));
  return {
    kafka,
    scheduler,
    smtp,
    configPath,
    stop: async () => {
      await Promise.all([kafka.stop(), scheduler.stop(), smtp.close()]);
    },
  };
}

/**
 * Self-hosted daprd finds other app-ids for service invocation through a name resolver; mDNS (its
 * default) needs multicast, which a sandbox may not route, so the sidecars share a SQLite
 * registry on loopback (components-contrib nameresolution/sqlite). Tracing: every span sampled.
 */
function daprdConfiguration(nameResolutionDb: string): string {
  return stringify({
    apiVersion: "dapr.io/v1alpha1",
    kind: "Configuration",
    metadata: { name: "orbit-test" },
    spec: {
      nameResolution: { component: "sqlite", configuration: { connectionString: nameResolutionDb } },
      tracing: { samplingRate: "1" },
    },
  });
}

/**
 * A copy of the resources folder `source` (Components, Subscriptions, Resiliency, as given to the
 * local sidecar) for real daprd: every pub/sub component becomes pubsub.kafka on this process's
 * broker, under the same name; every bindings.smtp sends to the mail relay. Nothing else changes.
 */
export async function daprdResources(
  source: string,
  backing: DaprBacking,
  options: { stateConnectionString?: string } = {},
): Promise<string> {
  const target = await mkdtemp(path.join(tmpdir(), "orbit-daprd-resources-"));
  for (const file of (await readdir(source)).filter((f) => /\.ya?ml$/.test(f))) {
    const docs = parseAllDocuments(await readFile(path.join(source, file), "utf8")).map((doc) => {
      const resource = doc.toJS() as Resource | null;
      return resource ? forDaprd(resource, backing, options) : resource;
    });
    await writeFile(
      path.join(target, file),
      docs
        .filter(Boolean)
        .map((d) => stringify(d))
        .join("---\n"),
    );
  }
  return target;
}

interface Resource {
  kind?: string;
  spec?: { type?: string; version?: string; metadata?: { name: string; value?: unknown }[] };
  [key: string]: unknown;
}

/** Component metadata the local sidecar reads for its own stand-ins; daprd has no use for it. */
const LOCAL_ONLY = new Set(["redisHost", "redeliverInterval", "processingTimeout", "localOutboxDir"]);

function forDaprd(
  resource: Resource,
  backing: DaprBacking,
  options: { stateConnectionString?: string },
): Resource {
  const type = resource.spec?.type ?? "";
  if (resource.kind !== "Component" || !resource.spec) return resource;
  const kept = (resource.spec.metadata ?? []).filter((m) => !LOCAL_ONLY.has(m.name));
  const set = (entries: Record<string, string>) => [
    ...kept.filter((m) => !(m.name in entries)),
    ...Object.entries(entries).map(([name, value]) => ({ name, value })),
  ];
  if (type.startsWith("pubsub.")) {
    return {
      ...resource,
      spec: {
        ...resource.spec,
        type: "pubsub.kafka",
        version: "v1",
        metadata: set({
          brokers: backing.kafka.bootstrap,
          authType: "none",
          // As production (dapr-components/pubsub.yaml): a new consumer group starts at the oldest
          // retained event, and a consumer-group session that ended (a rebalance) is re-joined
          // after 200 ms (components-contrib common/component/kafka/subscriber.go). That is not
          // the retry of a failed message: `backOff*` sets that one (constant 5 s by default).
          initialOffset: "oldest",
          consumeRetryInterval: "200ms",
        }),
      },
    };
  }
  if (type === "state.postgresql" && options.stateConnectionString) {
    // The local sidecar keeps state in its own store and never opens the component's database;
    // daprd does, so a test's placeholder connection string becomes a real one.
    return {
      ...resource,
      spec: { ...resource.spec, metadata: set({ connectionString: options.stateConnectionString }) },
    };
  }
  if (type === "bindings.smtp") {
    return {
      ...resource,
      spec: {
        ...resource.spec,
        metadata: set({ host: backing.smtp.host, port: String(backing.smtp.port), skipTLSVerify: "true" }),
      },
    };
  }
  return resource;
}
