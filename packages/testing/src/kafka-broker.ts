// A real Apache Kafka broker (tools/kafka/pom.xml, resolved from Maven Central by `make kafka`) on
// loopback for the real-runtime tier: one KRaft node that is controller and broker at once, its
// own data folder, the production topics (knative/base/kafka-topics.yaml) with replication 1.
// Inspection goes through tools/kafka/KafkaTool.java, our own Admin/Consumer client (compiled by
// `make kafka`).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "#db/migrate.ts";
import { BOOT_TIMEOUT_MS, LoggedProcess } from "./daprd.ts";
import { freePort } from "./ports.ts";

const run = promisify(execFile);
const CLASSPATH_FILE = path.join(REPO_ROOT, "tools/kafka/target/classpath.txt");
const TOOL_CLASSES = path.join(REPO_ROOT, "tools/kafka/target/classes");

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  config: Record<string, string>;
}

export interface KafkaRecord {
  partition: number;
  offset: number;
  /** Producer time (ms since the epoch). */
  timestamp: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

export interface GroupTopic {
  committed: number;
  end: number;
  lag: number;
}

export interface KafkaBroker {
  /** host:port for clients (daprd's `brokers`). */
  bootstrap: string;
  process: LoggedProcess;
  createTopics(topics: TopicSpec[]): Promise<Record<string, { partitions: number; "retention.ms": string }>>;
  /** Records per topic (end offsets summed over partitions), for topics matching `pattern`. */
  endOffsets(pattern?: RegExp): Promise<Record<string, number>>;
  /** Per consumer group (an app-id under Dapr) and topic: committed, end and lag. */
  groups(): Promise<Record<string, Record<string, GroupTopic>>>;
  /** Every record of `topic` now on the broker, by partition then offset. */
  read(topic: string): Promise<KafkaRecord[]>;
  stop(): Promise<void>;
}

function classpath(): string {
  if (!existsSync(CLASSPATH_FILE) || !existsSync(path.join(TOOL_CLASSES, "KafkaTool.class"))) {
    throw new Error(
      "tools/kafka/target is not built: run `make kafka` (needs a Java 17+ JDK and Maven) first",
    );
  }
  return readFileSync(CLASSPATH_FILE, "utf8").trim();
}

/** The production topics, for one broker: replication 1 and one in-sync replica. */
export function productionTopics(): TopicSpec[] {
  const text = readFileSync(path.join(REPO_ROOT, "knative/base/kafka-topics.yaml"), "utf8");
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as { kind: string; metadata: { name: string }; spec: KafkaTopicSpec })
    .filter((resource) => resource.kind === "KafkaTopic")
    .map(({ metadata, spec }) => ({
      name: metadata.name,
      partitions: spec.partitions,
      replicationFactor: 1,
      config: Object.fromEntries(
        Object.entries({ ...spec.config, "min.insync.replicas": 1 }).map(([k, v]) => [k, String(v)]),
      ),
    }));
}

interface KafkaTopicSpec {
  partitions: number;
  config: Record<string, string | number>;
}

/**
 * A 16-byte random cluster id, base64url without padding, as `kafka-storage random-uuid` prints;
 * never one starting with "-" (StorageTool would read it as an option; Kafka's Uuid avoids it too).
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

export async function startKafka(options: { topics?: TopicSpec[] } = {}): Promise<KafkaBroker> {
  const cp = classpath();
  const dir = await mkdtemp(path.join(tmpdir(), "orbit-kafka-"));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const bootstrap = `127.0.0.1:${port}`;
  const properties = path.join(dir, "server.properties");
  await writeFile(
    properties,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      `log.dirs=${path.join(dir, "data")}`,
      // One broker: every internal topic with one replica, and a few partitions for a fast start.
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=6",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "default.replication.factor=1",
      "min.insync.replicas=1",
      // A joining consumer is assigned at once, not after the 3 s production default.
      "group.initial.rebalance.delay.ms=0",
      // Topics the tests do not declare (uid topics of the conformance suite) appear on first use,
      // with production's partition count and retention.
      "auto.create.topics.enable=true",
      "num.partitions=6",
      "log.retention.hours=168",
    ].join("\n") + "\n",
  );
  const java = ["java", "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-cp", cp];
  // The broker logs INFO to its stdout (kept for failure messages); the tool logs warnings to
  // stderr only, so its stdout is the JSON answer alone.
  const log4j = async (name: string, level: string, target: string) => {
    const file = path.join(dir, `${name}.log4j2.properties`);
    await writeFile(
      file,
      [
        "status = warn",
        "appender.out.type = Console",
        "appender.out.name = out",
        `appender.out.target = ${target}`,
        "appender.out.layout.type = PatternLayout",
        "appender.out.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1} %m%n",
        `rootLogger.level = ${level}`,
        "rootLogger.appenderRef.out.ref = out",
      ].join("\n") + "\n",
    );
    return `-Dlog4j2.configurationFile=${file}`;
  };
  const logging = await log4j("broker", "info", "SYSTEM_OUT");
  const toolLogging = await log4j("tool", "warn", "SYSTEM_ERR");
  await run(
    java[0]!,
    [...java.slice(1), logging, "kafka.tools.StorageTool", "format", "-t", clusterId(), "-c", properties],
    {
      timeout: BOOT_TIMEOUT_MS,
    },
  ).catch((error: { stderr?: string; stdout?: string; message: string }) => {
    throw new Error(
      `kafka storage format failed: ${error.message}\n${error.stdout ?? ""}\n${error.stderr ?? ""}`,
    );
  });
  const broker = new LoggedProcess("kafka", [...java, logging, "kafka.Kafka", properties]).start();

  const tool = async (...args: string[]): Promise<unknown> => {
    try {
      const { stdout } = await run(
        "java",
        ["-cp", `${TOOL_CLASSES}:${cp}`, toolLogging, "KafkaTool", ...args],
        {
          timeout: 120_000,
          maxBuffer: 256 * 1024 * 1024,
        },
      );
      return JSON.parse(stdout);
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`KafkaTool ${args[0]} failed: ${e.message}\n${e.stderr ?? ""}`);
    }
  };
  const started: KafkaBroker = {
    bootstrap,
    process: broker,
    createTopics: async (topics) =>
      (await tool(
        "create",
        bootstrap,
        topics
          .map((t) =>
            [
              t.name,
              t.partitions,
              t.replicationFactor,
              Object.entries(t.config)
                .map(([k, v]) => `${k}=${v}`)
                .join(","),
            ].join(":"),
          )
          .join(";"),
      )) as Record<string, { partitions: number; "retention.ms": string }>,
    endOffsets: async (pattern = /./) =>
      (await tool("offsets", bootstrap, pattern.source)) as Record<string, number>,
    groups: async () => (await tool("groups", bootstrap)) as Record<string, Record<string, GroupTopic>>,
    read: async (topic) => (await tool("read", bootstrap, topic)) as KafkaRecord[],
    stop: async () => {
      await broker.stop("SIGTERM", 30_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    // Ready: the broker logs that it started, then answers an admin request (the topics' creation).
    await broker.waitUntil("Kafka started", async () =>
      broker.output.some((line) =>
        /\[KafkaRaftServer nodeId=1\] Kafka Server started|Kafka Server started/.test(line),
      ),
    );
    if (options.topics?.length) await started.createTopics(options.topics);
  } catch (error) {
    await started.stop();
    throw new Error(`${(error as Error).message}\n${broker.logs()}`);
  }
  return started;
}
