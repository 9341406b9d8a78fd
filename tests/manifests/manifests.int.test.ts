// `make manifests` proven both ways: every overlay renders and validates with no problem, and a
// broken manifest of each kind of mistake fails with a message that says what and where. The
// broken manifests are the real rendered staging overlay with one thing changed.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, expect, test } from "vitest";
import type { Manifest, Obj, Problem, RenderContext } from "../../scripts/manifest-checks.ts";
import {
  formatProblem,
  functionNames,
  kustomizeBuild,
  loadSubscriptions,
  parseManifests,
  renderRedisSwap,
  REPO_ROOT,
  SchemaRegistry,
  validateAll,
  validateRender,
} from "../../scripts/manifests.ts";

const registry = new SchemaRegistry();
let staging: Manifest[];
let eventing: Manifest[];
const context = (delivery: RenderContext["delivery"]): RenderContext => ({
  delivery,
  deployable: true,
  functions: functionNames(),
  subscriptions: loadSubscriptions(),
});

beforeAll(async () => {
  const render = async (dir: string) =>
    parseManifests(await kustomizeBuild(dir), path.basename(dir)).manifests;
  [staging, eventing] = await Promise.all([
    render("knative/overlays/staging"),
    render("knative/overlays/eventing"),
  ]);
});

/** A deep copy of the staging render with `change` applied to the object `kind/name`. */
function stagingWith(kind: string, name: string, change: (object: Obj) => void): Manifest[] {
  const copy = structuredClone(staging);
  const target = copy.find((m) => m.object.kind === kind && (m.object.metadata as Obj).name === name);
  if (!target) throw new Error(`no ${kind}/${name} in the staging render`);
  change(target.object);
  return copy;
}

function problemsOf(manifests: Manifest[], delivery: RenderContext["delivery"] = "dapr"): string[] {
  return validateRender(manifests, registry, context(delivery)).map(formatProblem);
}

const template = (ksvc: Obj) => (ksvc.spec as Obj).template as Obj;
const annotationsOf = (ksvc: Obj) => (template(ksvc).metadata as Obj).annotations as Record<string, string>;
const containerOf = (ksvc: Obj) => ((template(ksvc).spec as Obj).containers as Obj[])[0]!;

test("every overlay and every Dapr component file validates with no problem", async () => {
  const { problems, counts } = await validateAll(registry);
  expect(problems.map(formatProblem)).toEqual([]);
  for (const overlay of ["dapr-subscriptions", "eventing", "staging", "production", "staging+redis"])
    expect(counts[overlay], overlay).toBeGreaterThan(20);
  expect(Object.keys(counts)).toEqual(
    expect.arrayContaining(["dapr-components/pubsub.yaml", "dapr-components/redis/pubsub.yaml"]),
  );
});

test("the staging render holds a Knative Service per function and for the web app, the Job, topics and components", () => {
  const names = (kind: string) =>
    staging.filter((m) => m.object.kind === kind).map((m) => (m.object.metadata as Obj).name as string);
  expect(names("Service").sort()).toEqual([...functionNames(), "web"].sort());
  expect(names("Job")).toEqual(["orbit-migrate"]);
  expect(names("KafkaTopic").sort()).toEqual([
    "reminders",
    "reminders-dlq",
    "task-events",
    "task-events-dlq",
    "task-updates",
    "task-updates-dlq",
  ]);
  expect(names("Component").sort()).toEqual([
    "assistant-secrets",
    "email",
    "pubsub",
    "secretstore",
    "statestore",
  ]);
  expect(
    staging.every(
      (m) => (m.object.metadata as Obj).namespace === "orbit-staging" || m.object.kind === "Namespace",
    ),
  ).toBe(true);
});

test("a misspelt field in a Knative Service is rejected, naming the field and where it is", () => {
  const broken = stagingWith("Service", "create-task", (ksvc) => {
    const container = containerOf(ksvc);
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
  });
  const problems = problemsOf(broken);
  expect(problems).toContain(
    'staging: Service/create-task: /spec/template/spec/containers/0: unknown field "readinesProbe"',
  );
  expect(problems).toContain(
    "staging: Service/create-task: /spec/template/spec/containers/0: readinessProbe is not set",
  );
});

test("a wrong type is rejected by the published schema", () => {
  const broken = stagingWith("Service", "query-tasks", (ksvc) => {
    (containerOf(ksvc).ports as Obj[])[0]!.containerPort = "8080";
  });
  expect(problemsOf(broken)).toContain(
    "staging: Service/query-tasks: /spec/template/spec/containers/0/ports/0/containerPort: must be integer",
  );
});

test("a missing required field is rejected, in a published schema and in a zod one", () => {
  const noTopic = stagingWith("KafkaTopic", "task-events", (topic) => {
    delete (topic.metadata as Obj).name;
  });
  expect(problemsOf(noTopic).some((p) => p.includes("/metadata/name") && p.includes("expected string"))).toBe(
    true,
  );
  const noImage = stagingWith("Job", "orbit-migrate", (job) => {
    const pod = ((job.spec as Obj).template as Obj).spec as Obj;
    delete (pod.containers as Obj[])[0]!.image;
  });
  expect(problemsOf(noImage)).toContain(
    "staging: Job/orbit-migrate: /spec/template/spec/containers/0/image: Invalid input: expected string, received undefined",
  );
  const noSpec = stagingWith("Component", "pubsub", (component) => {
    delete (component.spec as Obj).type;
  });
  expect(problemsOf(noSpec)).toContain('staging: Component/pubsub: /spec: missing required field "type"');
});

test("Dapr's metrics port on 9090 (Knative queue-proxy's) is rejected", () => {
  const broken = stagingWith("Service", "audit-log", (ksvc) => {
    annotationsOf(ksvc)["dapr.io/metrics-port"] = "9090";
  });
  expect(problemsOf(broken)).toContain(
    'staging: Service/audit-log: dapr.io/metrics-port is 9090, Knative queue-proxy\'s autoscaling metrics port: move it (e.g. "19090")',
  );
  const unset = stagingWith("Service", "audit-log", (ksvc) => {
    delete annotationsOf(ksvc)["dapr.io/metrics-port"];
  });
  expect(problemsOf(unset).some((p) => p.includes("dapr.io/metrics-port is not set"))).toBe(true);
});

test("a Dapr app-port other than the container port is rejected", () => {
  const broken = stagingWith("Service", "create-task", (ksvc) => {
    annotationsOf(ksvc)["dapr.io/app-port"] = "3000";
  });
  expect(problemsOf(broken)).toContain(
    'staging: Service/create-task: dapr.io/app-port is "3000", but the container port is 8080: Dapr would call the app on a port nothing listens on',
  );
});

test("an app-id other than the Service's name, and a misspelt Dapr annotation, are rejected", () => {
  const broken = stagingWith("Service", "delete-task", (ksvc) => {
    const annotations = annotationsOf(ksvc);
    annotations["dapr.io/app-id"] = "delete";
    annotations["dapr.io/metric-port"] = "19091";
  });
  const problems = problemsOf(broken);
  expect(problems).toContain(
    'staging: Service/delete-task: dapr.io/app-id is "delete", but must equal the Service name "delete-task"',
  );
  expect(problems).toContain(
    'staging: Service/delete-task: annotation "dapr.io/metric-port" is not a Dapr annotation (misspelt?)',
  );
});

test("a Dapr consumer allowed to scale to zero in the default overlay is rejected", () => {
  const broken = stagingWith("Service", "on-task-completed", (ksvc) => {
    annotationsOf(ksvc)["autoscaling.knative.dev/min-scale"] = "0";
  });
  expect(problemsOf(broken)).toContain(
    "staging: Service/on-task-completed: subscribes through Dapr but may scale to zero: nothing wakes it for its events (min-scale must be ≥ 1)",
  );
});

test("the owner of the Dapr Jobs at min-scale 0 is rejected in every overlay", () => {
  const broken = stagingWith("Service", "on-reminder-fired", (ksvc) => {
    annotationsOf(ksvc)["autoscaling.knative.dev/min-scale"] = "0";
  });
  expect(problemsOf(broken)).toContain(
    "staging: Service/on-reminder-fired: owns Dapr Jobs, which fire only into a running sidecar: min-scale must be at least 1",
  );
  // notifications too (its later delivery attempts), even where a KafkaSource delivers its events.
  const atZero = structuredClone(eventing);
  const ksvc = atZero.find(
    (m) => m.object.kind === "Service" && (m.object.metadata as Obj).name === "notifications",
  )!;
  expect(annotationsOf(ksvc.object)["autoscaling.knative.dev/min-scale"]).toBe("1");
  annotationsOf(ksvc.object)["autoscaling.knative.dev/min-scale"] = "0";
  expect(problemsOf(atZero, "eventing")).toContain(
    "eventing: Service/notifications: owns Dapr Jobs, which fire only into a running sidecar: min-scale must be at least 1",
  );
});

test("a literal secret is rejected: an env value, a component value, a Secret object", () => {
  const envValue = stagingWith("Service", "create-task", (ksvc) => {
    containerOf(ksvc).env = [{ name: "DATABASE_URL", value: "postgresql://orbit:hunter2@db:5432/orbit" }];
  });
  const envProblems = problemsOf(envValue);
  expect(envProblems).toContain(
    "staging: Service/create-task: /spec/template/spec/containers/0/env/0/value: a URL with a password in it",
  );
  expect(envProblems).toContain(
    "staging: Service/create-task: /spec/template/spec/containers/0/env/0 (DATABASE_URL): a literal value; take it from a Secret (valueFrom.secretKeyRef)",
  );
  const componentValue = stagingWith("Component", "pubsub", (component) => {
    const metadata = (component.spec as Obj).metadata as Obj[];
    metadata.push({ name: "saslPassword", value: "hunter2" });
  });
  expect(
    problemsOf(componentValue).some((p) =>
      p.endsWith("(saslPassword): a literal value; use secretKeyRef to a Kubernetes secret"),
    ),
  ).toBe(true);
  const secret = [
    ...structuredClone(staging),
    {
      source: "staging",
      object: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "orbit-database" },
        stringData: { url: "x" },
      },
    },
  ];
  expect(problemsOf(secret)).toContain(
    "staging: Secret/orbit-database: a Secret in git: secrets are created in the cluster out of band (docs/deployment.md lists them)",
  );
});

test("a misspelt field in a kind with no published schema (KafkaSource, via zod) is rejected", () => {
  const broken = structuredClone(eventing);
  const source = broken.find((m) => m.object.kind === "KafkaSource")!;
  const spec = source.object.spec as Obj;
  spec.consumergroup = spec.consumerGroup;
  delete spec.consumerGroup;
  const problems = problemsOf(broken, "eventing");
  expect(problems).toContain(
    'eventing: KafkaSource/audit-log-task-events: /spec: unknown field "consumergroup"',
  );
  expect(problems.some((p) => p.includes('consumerGroup must be the app-id "audit-log"'))).toBe(true);
});

test("the eventing overlay: each consumer at zero has a KafkaSource to its own route, dead letters, and no Dapr subscription", () => {
  expect(problemsOf(eventing, "eventing")).toEqual([]);
  const withoutScopes = structuredClone(eventing);
  const pubsub = withoutScopes.find(
    (m) => m.object.kind === "Component" && (m.object.metadata as Obj).name === "pubsub",
  )!;
  const spec = pubsub.object.spec as Obj;
  spec.metadata = (spec.metadata as Obj[]).filter((item) => item.name !== "subscriptionScopes");
  expect(problemsOf(withoutScopes, "eventing")).toContain(
    "eventing: Service/audit-log: its sidecar would also subscribe to task-events: deny it in the pubsub subscriptionScopes",
  );
  const wrongRoute = structuredClone(eventing);
  const source = wrongRoute.find((m) => (m.object.metadata as Obj).name === "notifications-reminders")!;
  ((source.object.spec as Obj).sink as Obj).uri = "/events/reminder";
  expect(problemsOf(wrongRoute, "eventing")).toContain(
    'eventing: Service/notifications: KafkaSource/notifications-reminders delivers to "/events/reminder", not the subscription\'s route /events/reminders',
  );
});

test("every Knative Service gives its sidecar and its app the same app API token, from a Secret", async () => {
  for (const dir of ["dapr-subscriptions", "eventing", "staging", "production"]) {
    const render = parseManifests(await kustomizeBuild(`knative/overlays/${dir}`), dir).manifests;
    const ksvcs = render.filter((m) => m.object.kind === "Service").map((m) => m.object);
    expect(ksvcs.length, dir).toBe(functionNames().length + 1);
    for (const ksvc of ksvcs) {
      const name = `${dir}: ${(ksvc.metadata as Obj).name as string}`;
      expect(annotationsOf(ksvc)["dapr.io/app-token-secret"], name).toBe("orbit-app-token");
      const env = (containerOf(ksvc).env as Obj[]).filter((v) => v.name === "APP_API_TOKEN");
      expect(env, name).toEqual([
        { name: "APP_API_TOKEN", valueFrom: { secretKeyRef: { name: "orbit-app-token", key: "token" } } },
      ]);
    }
  }
});

test("dead-letters, and only dead-letters, reads the operators' token from a Secret in every overlay", async () => {
  for (const dir of ["dapr-subscriptions", "eventing", "staging", "production"]) {
    const render = parseManifests(await kustomizeBuild(`knative/overlays/${dir}`), dir).manifests;
    for (const ksvc of render.filter((m) => m.object.kind === "Service").map((m) => m.object)) {
      const name = (ksvc.metadata as Obj).name as string;
      const admin = ((containerOf(ksvc).env as Obj[] | undefined) ?? []).filter(
        (v) => v.name === "ADMIN_TOKEN",
      );
      expect(admin, `${dir}: ${name}`).toEqual(
        name === "dead-letters"
          ? [{ name: "ADMIN_TOKEN", valueFrom: { secretKeyRef: { name: "orbit-admin", key: "token" } } }]
          : [],
      );
    }
  }
});

test("notifications reads the web app's public URL, for the links in its mails, in every overlay", async () => {
  for (const dir of ["dapr-subscriptions", "eventing", "staging", "production"]) {
    const render = parseManifests(await kustomizeBuild(`knative/overlays/${dir}`), dir).manifests;
    const notifications = render.find(
      (m) => m.object.kind === "Service" && (m.object.metadata as Obj).name === "notifications",
    )!.object;
    expect(
      (containerOf(notifications).env as Obj[]).filter((v) => v.name === "WEB_APP_URL"),
      dir,
    ).toEqual([
      { name: "WEB_APP_URL", valueFrom: { configMapKeyRef: { name: "orbit-public", key: "web-url" } } },
    ]);
  }
});

test("a Service without the app token annotation, or whose app reads another token, is rejected", () => {
  const noAnnotation = stagingWith("Service", "audit-log", (ksvc) => {
    delete annotationsOf(ksvc)["dapr.io/app-token-secret"];
  });
  expect(problemsOf(noAnnotation)).toContain(
    "staging: Service/audit-log: dapr.io/app-token-secret is not set: the sidecar would call the app without the app API token, and anyone could post to its delivery routes",
  );
  const noEnv = stagingWith("Service", "web", (ksvc) => {
    containerOf(ksvc).env = (containerOf(ksvc).env as Obj[]).filter((v) => v.name !== "APP_API_TOKEN");
  });
  expect(problemsOf(noEnv)).toContain(
    'staging: Service/web: /spec/template/spec/containers/0/env: APP_API_TOKEN must be set once, from the Secret "orbit-app-token" (key "token")',
  );
  const otherSecret = stagingWith("Service", "notifications", (ksvc) => {
    const variable = (containerOf(ksvc).env as Obj[]).find((v) => v.name === "APP_API_TOKEN")!;
    variable.valueFrom = { secretKeyRef: { name: "orbit-metrics", key: "token" } };
  });
  expect(problemsOf(otherSecret)).toContain(
    'staging: Service/notifications: /spec/template/spec/containers/0/env APP_API_TOKEN must come from secretKeyRef {name: "orbit-app-token", key: "token"} (not optional), the token its sidecar sends',
  );
});

test("the eventing overlay: each KafkaSource sends an OIDC token its function accepts, from this namespace only", () => {
  const noAudience = structuredClone(eventing);
  const source = noAudience.find((m) => (m.object.metadata as Obj).name === "audit-log-task-events")!;
  delete ((source.object.spec as Obj).sink as Obj).audience;
  expect(problemsOf(noAudience, "eventing")).toContain(
    'eventing: KafkaSource/audit-log-task-events: has no sink.audience: it would send no OIDC token, and "audit-log" refuses unauthenticated deliveries',
  );
  const otherAudience = structuredClone(eventing);
  const reminders = otherAudience.find((m) => (m.object.metadata as Obj).name === "notifications-reminders")!;
  ((reminders.object.spec as Obj).sink as Obj).audience = "orbit.dev/deliveries/audit-log";
  expect(problemsOf(otherAudience, "eventing")).toContain(
    'eventing: KafkaSource/notifications-reminders: sends tokens for audience "orbit.dev/deliveries/audit-log", but "notifications" accepts "orbit.dev/deliveries/notifications" (DELIVERY_OIDC_AUDIENCE)',
  );
  const anyNamespace = structuredClone(eventing);
  const ksvc = anyNamespace.find(
    (m) => m.object.kind === "Service" && (m.object.metadata as Obj).name === "on-task-completed",
  )!;
  const subjects = (containerOf(ksvc.object).env as Obj[]).find((v) => v.name === "DELIVERY_OIDC_SUBJECTS")!;
  subjects.value = "system:serviceaccount:tenant-a:*";
  expect(problemsOf(anyNamespace, "eventing")).toContain(
    'eventing: KafkaSource/on-task-completed-task-events: "on-task-completed" accepts DELIVERY_OIDC_SUBJECTS "system:serviceaccount:tenant-a:*", outside this source\'s namespace orbit',
  );
});

test("without the published schemas the validator fails loudly instead of passing", () => {
  expect(() => new SchemaRegistry(path.join(os.tmpdir(), "no-such-schemas"))).toThrow(
    /the JSON schemas are missing/,
  );
});

test("the CLI exits 1 and prints the problem for a broken overlay", async () => {
  const dir = mkdtempSync(path.join(REPO_ROOT, "knative/overlays/.broken-"));
  try {
    writeFileSync(
      path.join(dir, "kustomization.yaml"),
      [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources: [../staging]",
        "patches:",
        "  - target: {group: serving.knative.dev, kind: Service, name: create-task}",
        "    patch: |-",
        "      - op: replace",
        "        path: /spec/template/metadata/annotations/dapr.io~1metrics-port",
        '        value: "9090"',
        "",
      ].join("\n"),
    );
    const { renderIssues, code } = await new Promise<{ renderIssues: string; code: number }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "scripts/manifests.ts", "render", path.relative(REPO_ROOT, dir)],
        { cwd: REPO_ROOT },
        (error, _stdout, stderr) => resolve({ renderIssues: stderr, code: error ? Number(error.code) : 0 }),
      );
    });
    expect(code).toBe(1);
    expect(renderIssues).toContain("Service/create-task: dapr.io/metrics-port is 9090");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the Redis Streams component swaps in under the same name and leaves no Kafka setting behind", async () => {
  const { manifests } = parseManifests(await renderRedisSwap(), "staging+redis");
  const pubsubs = manifests.filter(
    (m) => m.object.kind === "Component" && (m.object.metadata as Obj).name === "pubsub",
  );
  expect(pubsubs).toHaveLength(1);
  const spec = pubsubs[0]!.object.spec as { type: string; metadata: { name: string }[] };
  expect(spec.type).toBe("pubsub.redis");
  expect(spec.metadata.map((m) => m.name).sort()).toEqual([
    "concurrency",
    "enableTLS",
    "maxLenApprox",
    "processingTimeout",
    "redeliverInterval",
    "redisHost",
    "redisPassword",
  ]);
});

test("every production Dapr resource file opens with a comment saying what it is for", () => {
  const files = readdirSync(path.join(REPO_ROOT, "dapr-components"), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".yaml") && !f.startsWith("local/"));
  expect(files.length).toBeGreaterThan(10);
  for (const file of files) {
    const first = readFileSync(path.join(REPO_ROOT, "dapr-components", file), "utf8").split("\n")[0]!;
    expect(first, file).toMatch(/^# \S.{20,}/);
  }
});

test("problems carry their source, object and message", () => {
  const problem: Problem = { source: "staging", object: "Service/x", message: "m" };
  expect(formatProblem(problem)).toBe("staging: Service/x: m");
  expect(formatProblem({ ...problem, object: "" })).toBe("staging: m");
});
